"""`watchdesk inbox`: the admin's inbox for terminals (a table) and scripts (--json)."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from watchdesk.wire.models import Cluster
from watchdesk.wire.tests import inbox_fixtures

pytestmark = pytest.mark.django_db
story = inbox_fixtures.story  # a fixture: cluster, items, topic and place links


def run(*args):
    out = StringIO()
    call_command("inbox", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def desk(story, topics, regions):
    return {
        "fire": story(
            "Brush fire near Los Angeles",
            outlets=2,
            score=12.5,
            breaking=True,
            score_parts={"topic": 7.0, "region": 5.0, "recency": 0.5},
            topics={topics["wildfire"]: (7.0, ["brush fire"])},
            places={regions["los_angeles"]: (0.9, "title")},
        ),
        "flood": story(
            "Flash flood warning for Houston",
            score=8.0,
            topics={topics["flooding"]: (5.0, ["flash flood"])},
            places={regions["houston"]: (0.8, "title")},
        ),
        "dismissed": story("Old news", score=30.0, status=Cluster.Status.DISMISSED),
    }


def test_json_lists_the_open_inbox_with_everything_a_script_needs(desk):
    document = json.loads(run("--json"))
    assert document["count"] == 2
    assert [cluster["title"] for cluster in document["clusters"]] == [
        "Brush fire near Los Angeles",
        "Flash flood warning for Houston",
    ]
    fire = document["clusters"][0]
    lead = desk["fire"].test_items[0]
    assert fire["id"] == desk["fire"].pk
    assert (fire["status"], fire["score"], fire["breaking"], fire["outlet_count"]) == ("new", 12.5, True, 2)
    assert fire["score_parts"] == {"topic": 7.0, "region": 5.0, "recency": 0.5}
    assert fire["first_seen_at"].endswith("+00:00") and fire["last_seen_at"]
    assert fire["topics"] == [
        {"slug": "wildfire", "name": "Wildfire", "score": 7.0, "phrases": ["brush fire"]}
    ]
    assert fire["places"] == [
        {"code": "city:5368361", "name": "Los Angeles, California", "confidence": 0.9, "origin": "title"}
    ]
    assert len(fire["items"]) == 2
    first = fire["items"][0]
    assert {key: first[key] for key in ("id", "title", "url", "outlet", "author", "duplicate_of")} == {
        "id": lead.pk,
        "title": lead.title,
        "url": lead.url,
        "outlet": "Outlet 1",
        "author": "Dana Ortiz",
        "duplicate_of": None,
    }
    assert first["published_at"] == lead.published_at.isoformat()


@pytest.mark.parametrize(
    "args, titles",
    [
        (["--status", "dismissed"], ["Old news"]),
        (["--status", "all"], ["Old news", "Brush fire near Los Angeles", "Flash flood warning for Houston"]),
        (["--topic", "flooding"], ["Flash flood warning for Houston"]),
        (["--region", "california"], ["Brush fire near Los Angeles"]),
        (["--region", "US"], ["Brush fire near Los Angeles", "Flash flood warning for Houston"]),
        (["--limit", "1"], ["Brush fire near Los Angeles"]),
    ],
)
def test_filters_match_the_admins(desk, args, titles):
    document = json.loads(run("--json", *args))
    assert [cluster["title"] for cluster in document["clusters"]] == titles


def test_count_is_every_match_even_past_the_limit(desk):
    document = json.loads(run("--json", "--limit", "1"))
    assert (len(document["clusters"]), document["count"]) == (1, 2)


def test_the_table_shows_score_outlets_title_topics_places_status_and_breaking(desk, monkeypatch):
    # The table fits the terminal's width: pin it (an xdist worker, or an 80-column terminal, cuts titles).
    monkeypatch.setenv("COLUMNS", "140")
    text = run()
    assert "Inbox: 2 of 2" in text
    for expected in (
        "12.5",
        "BREAKING",
        "Brush fire near Los",
        "wildfire 7.0",
        "Los Angeles",
        "new",
        "Houston",
    ):
        assert expected in text, expected
    assert "Old news" not in text
    assert "\x1b[" not in text  # no colour codes when not printing to a terminal


def test_an_empty_inbox_says_so(db):
    assert "The inbox is empty." in run()
    assert json.loads(run("--json")) == {"clusters": [], "count": 0}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--topic", "volcanoes"], "No topic 'volcanoes'"),
        (["--region", "Atlantis"], "No region “Atlantis”"),
        (["--source", "Nobody"], "No source 'Nobody'"),
        (["--limit", "0"], "--limit must be at least 1"),
    ],
)
def test_bad_filters_are_clear_errors(topics, regions, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_an_unknown_status_is_refused(db):
    with pytest.raises(CommandError, match="invalid choice"):
        run("--status", "pending")
