"""The editors' inbox in the admin: what it lists, in which order, with which filters, for whom, and a
story's own page."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from watchdesk.wire import inbox
from watchdesk.wire.models import Cluster
from watchdesk.wire.tests import inbox_fixtures

pytestmark = pytest.mark.django_db
story = inbox_fixtures.story  # a fixture: cluster, items, topic and place links

INBOX = reverse("inbox:index")
QUERIES = 21
SANITISED = '<p>Crews <a href="https://example.org/x" rel="noopener noreferrer nofollow">sealed</a> it.</p>'


def listed(response):
    """Cluster ids in the order the inbox lists them."""
    html = response.content.decode()
    ids, start = [], 0
    while (at := html.find('data-cluster="', start)) != -1:
        end = html.index('"', at + 14)
        ids.append(int(html[at + 14 : end]))
        start = end
    return ids


@pytest.fixture
def editor_client(client, home, editor):
    client.force_login(editor)
    return client


def test_the_inbox_lists_open_stories_by_score_and_newest_first_within_a_score(editor_client, story):
    low = story("Low", score=2)
    older = story("Older of two", score=8, age=timedelta(hours=5))
    newer = story("Newer of two", score=8, age=timedelta(hours=1))
    top = story("Top", score=20)
    reviewed = story("Reviewed", score=5, status=Cluster.Status.REVIEWED)
    now = timezone.now()
    story("Dismissed", score=50, status=Cluster.Status.DISMISSED)
    story("Drafted", score=50, status=Cluster.Status.DRAFTED)
    story("Still snoozed", score=50, status=Cluster.Status.SNOOZED, snoozed_until=now + timedelta(hours=1))
    woken = story(
        "Snooze over", score=3, status=Cluster.Status.SNOOZED, snoozed_until=now - timedelta(minutes=1)
    )

    response = editor_client.get(INBOX)
    assert response.status_code == 200
    assert listed(response) == [top.pk, newer.pk, older.pk, reviewed.pk, woken.pk, low.pk]


def test_a_storys_age_is_that_of_its_newest_report_not_when_we_first_saw_it(editor_client, story):
    cluster = story("Levee repairs finished", outlets=2, age=timedelta(minutes=5))
    cluster.items.update(published_at=timezone.now() - timedelta(days=2, hours=1))

    row = editor_client.get(reverse("inbox:index")).content.decode()

    assert "2\xa0days, 1\xa0hour</time> old" in row


def test_a_row_shows_outlets_topics_places_score_parts_and_the_breaking_badge(
    editor_client, story, topics, regions
):
    cluster = story(
        "Brush fire near Los Angeles",
        outlets=3,
        score=12.5,
        score_parts={"topic": 6.0, "region": 5.0, "trust": 2.5, "cluster_size": 3.0, "recency": 0.8},
        breaking=True,
        topics={topics["wildfire"]: (7.0, ["brush fire", "evacuation"]), topics["hazmat"]: (3.5, ["smoke"])},
        places={regions["los_angeles"]: (0.9, "title")},
    )
    html = editor_client.get(INBOX).content.decode()
    row = html[html.index(f'data-cluster="{cluster.pk}"') :]
    row = row[: row.index("</tr>", row.index('data-label="Actions"'))]
    assert "data-breaking" in html and "Breaking" in row
    assert "Brush fire near Los Angeles" in row and reverse("inbox:cluster", args=[cluster.pk]) in row
    assert "3 outlets" in row
    for item in cluster.test_items:
        assert f'href="{item.url}"' in row
    assert "by Dana Ortiz" in row
    assert "Wildfire <span" in row and "7.0" in row and "Hazmat" in row
    assert "Los Angeles, California" in row
    assert "12.5" in row
    # The parts as a sum (test_inbox_score.py checks that the figures add up).
    for name, value in (
        ("topic", "6"),
        ("region", "+ <span data-value>5"),
        ("cluster size", "+ <span data-value>3"),
    ):
        assert f'<th scope="row">{name}</th><td>' in row and value in row, name
    assert "× <span data-value>0.8</span>" in row
    assert "Draft post" in row and "Dismiss" in row and "Snooze" in row and "Mark reviewed" in row


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"topic": "wildfire"}, ["fire", "fire in texas"]),
        ({"region": "california"}, ["fire", "flood"]),  # Los Angeles is inside California
        ({"region": "US-TX"}, ["fire in texas"]),
        ({"region": "United States"}, ["fire", "flood", "fire in texas"]),
        ({"status": "dismissed"}, ["dismissed fire"]),
        ({"status": "all"}, ["fire", "flood", "fire in texas", "old", "dismissed fire"]),
        ({"time": "6h"}, ["fire", "flood", "fire in texas"]),
        ({"time": "7d", "topic": "flooding"}, ["flood"]),
    ],
)
def test_filters_by_topic_region_status_and_time(editor_client, story, topics, regions, query, expected):
    made = {
        "fire": story(
            "fire",
            score=9,
            topics={topics["wildfire"]: (5, ["fire"])},
            places={regions["los_angeles"]: (0.9, "title")},
        ),
        "flood": story(
            "flood",
            score=8,
            topics={topics["flooding"]: (5, ["flood"])},
            places={regions["la_county"]: (0.7, "text")},
        ),
        "fire in texas": story(
            "fire in texas",
            score=7,
            topics={topics["wildfire"]: (4, ["fire"])},
            places={regions["houston"]: (0.8, "title")},
        ),
        "old": story("old", score=6, age=timedelta(days=2), places={regions["mali"]: (0.9, "title")}),
        "dismissed fire": story("dismissed fire", score=5, status=Cluster.Status.DISMISSED),
    }
    response = editor_client.get(INBOX, query)
    assert listed(response) == [made[name].pk for name in expected]


def test_filter_by_source(editor_client, story, source):
    courier = source(name="Valley Courier")
    theirs = story("From the courier", item_source=courier)
    story("From elsewhere")
    assert listed(editor_client.get(INBOX, {"source": courier.pk})) == [theirs.pk]


def test_a_bad_filter_is_reported_and_the_others_still_apply(editor_client, story, topics, regions):
    fire = story("fire", topics={topics["wildfire"]: (5, ["fire"])})
    story("flood", topics={topics["flooding"]: (5, ["flood"])})
    response = editor_client.get(INBOX, {"topic": "wildfire", "region": "Atlantis", "time": "forever"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "No region “Atlantis”" in html
    assert "Select a valid choice" in html
    assert listed(response) == [fire.pk]


def test_an_ambiguous_place_name_asks_for_the_slug(editor_client, story, regions):
    from watchdesk.taxonomy.models import Region

    Region.objects.create(
        code="city:1", name="Springfield", kind="city", parent=regions["texas"], slug="sp-tx"
    )
    Region.objects.create(
        code="city:2", name="Springfield", kind="city", parent=regions["california"], slug="sp-ca"
    )
    html = editor_client.get(INBOX, {"region": "springfield"}).content.decode()
    assert "names several places" in html and "sp-tx" in html and "sp-ca" in html


def test_the_inbox_pages_by_thirty(editor_client, story):
    made = [story(f"Story {n}", score=100 - n) for n in range(33)]
    first = editor_client.get(INBOX)
    assert listed(first) == [cluster.pk for cluster in made[:30]]
    second = editor_client.get(INBOX, {"p": 2})
    assert listed(second) == [cluster.pk for cluster in made[30:]]
    assert "Page 2 of 2" in second.content.decode()


def test_an_empty_inbox_says_so(editor_client):
    assert "Nothing in the inbox right now." in editor_client.get(INBOX).content.decode()


def test_the_inbox_runs_the_same_queries_for_5_or_30_stories(
    editor_client, story, topics, regions, django_assert_max_num_queries
):
    def add(count):
        for n in range(count):
            story(
                f"Story {n}",
                outlets=3,
                score=n,
                topics={topics["wildfire"]: (5, ["fire"]), topics["hazmat"]: (4, ["spill"])},
                places={regions["los_angeles"]: (0.9, "title"), regions["houston"]: (0.5, "text")},
            )

    query = {"topic": "wildfire", "region": "california"}
    add(5)
    editor_client.get(INBOX)  # warm the caches (site, settings, permissions)
    with django_assert_max_num_queries(QUERIES) as five:
        assert len(listed(editor_client.get(INBOX, query))) == 5
    add(25)
    with django_assert_max_num_queries(QUERIES) as thirty:
        assert len(listed(editor_client.get(INBOX, query))) == 30
    assert len(five) == len(thirty)


def test_people_without_the_inbox_permission_are_turned_away(
    client, home, outsider, story, django_user_model
):
    story("Secret story")
    assert client.get(INBOX).status_code == 302  # to the login page

    client.force_login(outsider)
    response = client.get(INBOX)
    assert response.status_code == 302 and "Secret story" not in response.content.decode()

    # Into the admin, but without "change cluster".
    staff = django_user_model.objects.create_user("pat", "pat@example.org", "correct horse 9")
    staff.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(staff)
    response = client.get(INBOX)
    assert response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")


def test_the_menu_shows_the_inbox_with_the_number_of_new_stories(editor_client, story):
    story("One")
    story("Two")
    story("Looked at", status=Cluster.Status.REVIEWED)
    inbox.forget_new_count()  # cached for a minute; other tests' pages may have counted theirs
    html = editor_client.get(reverse("wagtailadmin_home")).content.decode()
    assert "Inbox (2)" in html
    dismiss = editor_client.post(reverse("inbox:dismiss", args=[Cluster.objects.get(title="One").pk]))
    assert "Inbox (1)" in editor_client.get(dismiss["Location"]).content.decode()
    assert reverse("sources:index") in html


def test_moderators_have_the_inbox_too(client, home, moderator, story):
    story("For the moderator")
    client.force_login(moderator)
    assert "For the moderator" in client.get(INBOX).content.decode()


# A story's page -------------------------------------------------------------------------------------
def test_a_story_page_shows_items_summary_phrases_places_and_score_parts(
    editor_client, story, topics, regions, make_item
):
    cluster = story(
        "Chlorine leak at water plant",
        outlets=2,
        score=9.5,
        score_parts={"topic": 4.0, "trust": 2.5},
        summary=SANITISED,
        topics={topics["hazmat"]: (6.0, ["chlorine", "leak"])},
        places={regions["houston"]: (0.85, "title"), regions["texas"]: (0.4, "home")},
    )
    copy = make_item(
        "Chlorine leak at water plant",
        outlet="Copy Cat News",
        cluster=cluster,
        duplicate_of=cluster.test_items[0],
    )
    response = editor_client.get(reverse("inbox:cluster", args=[cluster.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert SANITISED in html  # rendered as the HTML it is, not escaped
    assert "Hazmat" in html and "chlorine, leak" in html
    assert "Houston, Texas" in html and "85%" in html and "named in the title" in html
    assert "Texas" in html and "40%" in html and "the source&#x27;s home region" in html
    assert '<th scope="row">topic</th><td><span data-value>4</span>' in html
    assert '<th scope="row">trust</th><td>+ <span data-value>2.5</span>' in html
    assert "Copy Cat News" in html and f"copy of item {cluster.test_items[0].pk}" in html
    assert f'data-item="{copy.pk}"' in html
    assert "By Dana Ortiz" in html
    assert "Correct the places" in html


def test_an_unknown_story_is_404(editor_client):
    assert editor_client.get(reverse("inbox:cluster", args=[999999])).status_code == 404


def test_a_story_without_items_still_has_a_page(editor_client):
    empty = Cluster.objects.create(title="Lost its items", score=1)
    response = editor_client.get(reverse("inbox:cluster", args=[empty.pk]))
    assert response.status_code == 200 and "Lost its items" in response.content.decode()
    assert f'data-cluster="{empty.pk}"' in editor_client.get(INBOX).content.decode()
