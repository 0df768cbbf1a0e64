"""Readers search the posts by words, narrowed by topic, place and year; nothing they type breaks it."""

import re
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

RESULT = re.compile(r'<li class="result">\s*<h2 class="card__title"><a href="([^"]+)">')


def results(response):
    """The URLs of the posts found, [] for "No posts match", None when nothing was searched for."""
    assert response.status_code == 200
    html = response.content.decode()
    if '<ol class="results">' in html:
        return RESULT.findall(html)
    if '<p class="empty" role="status">No posts match' in html:
        return []
    return None


def search(client, **params):
    return results(client.get("/search/", params))


@pytest.fixture
def posts(make_post, topics, regions):
    return {
        "fire": make_post(
            "Crews contain brush fire",
            published=datetime(2026, 3, 1, tzinfo=UTC),
            topics=[topics["wildfire"]],
            regions=[regions["los_angeles"]],
            summary="Evacuation orders lifted in the foothills.",
            body="<p>Chief Ruiz praised the helicopter crews.</p>",
            source_name="Valley Courier",
            byline="Dana Ortiz",
        ),
        "spill": make_post(
            "Tanker spill closes highway",
            published=datetime(2025, 6, 1, tzinfo=UTC),
            topics=[topics["hazmat"]],
            regions=[regions["houston"]],
            summary="Crews neutralised the diesel.",
            body="<p>The interstate reopened at noon.</p>",
            source_name="Gulf Ledger",
            byline="Lee Park",
        ),
        "flood": make_post(
            "River floods villages",
            published=datetime(2026, 8, 1, tzinfo=UTC),
            topics=[topics["flooding"]],
            regions=[regions["mali"]],
            summary="Thousands displaced along the Niger.",
            body="<p>Rescuers used boats.</p>",
            source_name="Sahel Report",
            byline="Amadou Traoré",
        ),
    }


# Finding posts -------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, expected",
    [
        ("brush", "fire"),  # title
        ("foothills", "fire"),  # summary
        ("helicopter", "fire"),  # body
        ("Ledger", "spill"),  # outlet
        ("Park", "spill"),  # byline
        ("Traoré", "flood"),  # a byline with an accent
        ("HIGHWAY", "spill"),  # any case
    ],
)
def test_search_finds_posts_by_title_summary_body_outlet_and_byline(client, posts, query, expected):
    assert search(client, q=query) == [posts[expected].url]


@pytest.mark.django_db
def test_search_needs_every_word_to_match(client, posts):
    assert set(search(client, q="crews")) == {posts["fire"].url, posts["spill"].url}
    assert search(client, q="crews diesel") == [posts["spill"].url]
    assert search(client, q="crews boats") == []


@pytest.mark.django_db
def test_search_leaves_out_drafts(client, posts, make_post):
    make_post("Secret brush report", live=False)

    assert search(client, q="brush") == [posts["fire"].url]


@pytest.mark.django_db
def test_post_is_findable_under_its_new_title_once_republished(client, posts):
    post = posts["flood"]
    post.title = "Monsoon swamps villages"
    post.save_revision().publish()

    assert search(client, q="monsoon") == [post.url]
    assert search(client, q="river") == []


# The worker closes connections between tasks, which a rolled-back test transaction cannot survive.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_published_post_is_findable_after_the_worker_indexes_it(client, make_post, database_queue):
    """The search index is updated by a background task on every save, run by the worker."""
    post = make_post("Avalanche buries pass")
    index_tasks = DBTaskResult.objects.filter(task_path="modelsearch.tasks.insert_or_update_object_task")
    assert index_tasks.exists()

    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)
    assert search(client, q="avalanche") == [post.url]
    assert not index_tasks.exclude(status="SUCCESSFUL").exists()


@pytest.mark.django_db
def test_result_count_and_no_match_message(client, posts):
    html = client.get("/search/", {"q": "crews"}).content.decode()
    assert "2 results for “crews”" in html

    html = client.get("/search/", {"q": "zebra"}).content.decode()
    assert "No posts match “zebra”" in html
    assert '<ol class="results">' not in html


# Filters -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_topic_filter_narrows_results(client, posts):
    assert search(client, q="crews", topic="hazmat") == [posts["spill"].url]
    assert search(client, topic="wildfire") == [posts["fire"].url]


@pytest.mark.django_db
def test_region_filter_includes_places_inside_it(client, posts):
    assert search(client, q="crews", region="california") == [posts["fire"].url]
    assert search(client, q="crews", region="texas") == [posts["spill"].url]
    assert search(client, region="united-states") == [posts["fire"].url, posts["spill"].url]
    assert search(client, q="crews", region="mali") == []


@pytest.mark.django_db
def test_year_filter_narrows_results(client, posts):
    assert search(client, q="crews", year="2025") == [posts["spill"].url]
    assert search(client, year="2026") == [posts["flood"].url, posts["fire"].url]


@pytest.mark.django_db
def test_filters_combine(client, posts):
    assert search(client, topic="wildfire", region="california", year="2026") == [posts["fire"].url]
    assert search(client, topic="wildfire", region="texas") == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"topic": "no-such-topic"},
        {"region": "atlantis"},
        {"year": "1850"},
        {"year": "abc"},
        {"year": "99999999999999999999999"},
        {"topic": "x" * 500, "region": "\x00", "year": "-1"},
    ],
)
def test_unknown_filter_values_are_ignored(client, posts, params):
    response = client.get("/search/", {"q": "crews", **params})

    assert set(results(response)) == {posts["fire"].url, posts["spill"].url}


# Results page --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_matches_are_marked_and_the_rest_is_escaped(client, make_post):
    post = make_post(
        "Crews <b>rescue</b> hikers & dogs",
        summary='Hikers "lost" near <script>alert(1)</script> the ridge.',
        byline="Dana Ortiz",
    )

    html = client.get("/search/", {"q": "rescue hikers"}).content.decode()

    assert (
        f'<a href="{post.url}">'
        "Crews &lt;b&gt;<mark>rescue</mark>&lt;/b&gt; <mark>hikers</mark> &amp; dogs</a>" in html
    )
    assert (
        "<p><mark>Hikers</mark> &quot;lost&quot; near &lt;script&gt;alert(1)&lt;/script&gt; the ridge.</p>"
        in html
    )
    assert "<b>rescue</b>" not in html
    assert "<script>alert" not in html


@pytest.mark.django_db
def test_marking_a_match_never_breaks_an_escaped_character(client, make_post):
    """Searching for "x27" (the inside of &#x27;, an escaped apostrophe) must not mark up the entity."""
    post = make_post("Chief O'Brien retires", body="<p>Badge x27 retired with him.</p>")

    html = client.get("/search/", {"q": "x27"}).content.decode()

    assert results(client.get("/search/", {"q": "x27"})) == [post.url]
    assert f'<a href="{post.url}">Chief O&#x27;Brien retires</a>' in html


@pytest.mark.django_db
def test_search_results_are_paginated_keeping_the_query(client, settings, make_post):
    settings.POSTS_PER_PAGE = 2
    made = {make_post(f"Wildfire report {n}").url for n in range(5)}

    first = client.get("/search/", {"q": "wildfire"})
    pages = [results(first), search(client, q="wildfire", page="2"), search(client, q="wildfire", page="3")]

    assert [len(page) for page in pages] == [2, 2, 1]
    assert {url for page in pages for url in page} == made
    assert 'href="?q=wildfire&amp;page=2">Older' in first.content.decode()
    assert "5 results for “wildfire”" in first.content.decode()
    assert client.get("/search/", {"q": "wildfire", "page": "4"}).status_code == 404
    assert client.get("/search/", {"q": "wildfire", "page": "two"}).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}, {"q": "!!! ???"}])
def test_empty_search_shows_the_form_and_no_results_list(client, posts, params):
    response = client.get("/search/", params)

    assert results(response) is None
    html = response.content.decode()
    assert '<form class="search-form" method="get" action="/search/">' in html
    assert "Search the titles, summaries, full text, outlets and bylines of every post." in html
    assert '<meta name="robots" content="noindex, follow">' in html


# Hostile input -------------------------------------------------------------------------------------


HOSTILE_QUERIES = [
    '"crews"',
    '"crews',
    "crews'",
    "AND OR NOT",
    "crews AND NOT fire",
    "*",
    "crew*",
    "NEAR(crews fire)",
    "NEAR(",
    "-",
    "-crews",
    '"',
    "'; DROP TABLE wagtailcore_page; --",
    "crews " * 2000,
    "x" * 10_000,
    "пожар 火事 حريق 🔥",
    "crews\x00fire",
    "\x00",
    "%",
    "_",
    "\\",
    "col:crews",
    "^crews",
    "(crews",
    "crews)",
    "{crews}",
    "[crews]",
    "<script>alert(1)</script>",
]


@pytest.mark.django_db
def test_hostile_queries_get_a_normal_page(client, posts):
    # One set of posts for all the queries: making them is most of the cost of each case.
    for query in HOSTILE_QUERIES:
        response = client.get("/search/", {"q": query})

        assert response.status_code == 200, query
        assert b"<script>alert(1)</script>" not in response.content, query


@pytest.mark.django_db
def test_quotes_and_operators_are_read_as_words(client, posts):
    assert search(client, q='"crews" diesel') == [posts["spill"].url]
    # Operator words are dropped on every database; all the other words must match.
    assert search(client, q="crews OR boats") == []
    assert search(client, q="crews OR NOT diesel") == [posts["spill"].url]
    assert search(client, q="-diesel crews") == [posts["spill"].url]


@pytest.mark.django_db
@hsettings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50, deadline=None)
@given(query=st.text())
def test_any_query_gets_a_normal_page(client, posts, query):
    assert client.get("/search/", {"q": query}).status_code == 200


@pytest.mark.django_db
@hsettings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50, deadline=None)
@given(query=st.text(), topic=st.text(max_size=30), region=st.text(max_size=30), year=st.text(max_size=8))
def test_any_filters_get_a_normal_page(client, posts, query, topic, region, year):
    params = {"q": query, "topic": topic, "region": region, "year": year}
    assert client.get("/search/", params).status_code == 200
