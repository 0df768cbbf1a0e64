"""Readers search the posts by words, narrowed by topic, place and year; nothing they type breaks it."""

import re
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from taggit.models import Tag
from wagtail.search.models import IndexEntry

from watchdesk.posts.models import StoryPostRegion
from watchdesk.taxonomy.models import Topic

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

    # A new topic and a renamed one reach the index through the worker too.
    post.topics.add(Topic.objects.create(slug="snow", name="Snow"))
    post.save_revision().publish()
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)
    assert search(client, q="snow") == [post.url]
    Topic.objects.filter(slug="snow").update(name="Blizzards")
    Topic.objects.get(slug="snow").save()
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)
    assert search(client, q="blizzard") == [post.url]
    assert search(client, q="snow") == [post.url]  # the slug


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
    assert (
        "Search the titles, summaries, full text, outlets, bylines, topics, places and tags of every post."
        in html
    )
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


# Stems, names and suggestions ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, expected",
    [
        ("evacuations", "fire"),  # the summary says "Evacuation"
        ("evacuation", "fire"),
        ("crew", "fire spill"),  # "Crews" in both
        ("neutralising diesels", "spill"),
        ("wildfires", "fire"),  # its topic, Wildfire
        ("hazmat", "spill"),  # topic name
        ("flooding", "flood"),
        ("Mali", "flood"),  # its place
        ("Houston", "spill"),
        ("Texas", "spill"),  # the place around Houston
        ("California", "fire"),
        ("United States", "fire spill"),
        ("drought", "flood"),  # a tag
        ("Amadou", "flood"),  # the author
        ("Wire Desk", "spill"),  # "via"
    ],
)
def test_search_finds_by_stem_topic_place_tag_and_author(client, posts, query, expected, make_post, topics):
    post = posts["flood"]
    post.tags.add("drought")
    post.save_revision().publish()
    spill = posts["spill"]
    spill.via_name = "Wire Desk"
    spill.save_revision().publish()

    assert set(search(client, q=query)) == {posts[name].url for name in expected.split()}


@pytest.mark.django_db
def test_changed_topics_regions_and_tags_are_found_once_republished(client, posts, topics, regions):
    post = posts["spill"]
    assert search(client, q="flooding") == [posts["flood"].url]

    post.topics.set([topics["flooding"]])
    post.region_links = [StoryPostRegion(region=regions["mali"])]
    post.tags.add("levee")
    post.save_revision().publish()

    assert set(search(client, q="flooding")) == {post.url, posts["flood"].url}
    assert search(client, q="hazmat") == []
    assert search(client, q="texas") == []
    assert search(client, q="levee") == [post.url]


@pytest.mark.django_db
def test_renamed_topic_region_and_tag_reindex_their_posts(
    client, posts, topics, regions, django_capture_on_commit_callbacks
):
    posts["spill"].tags.add("tanker")
    posts["spill"].save_revision().publish()

    with django_capture_on_commit_callbacks(execute=True):
        topic = topics["hazmat"]
        topic.name = "Chemical Releases"
        topic.save()
        region = regions["texas"]  # the post is filed under Houston, inside Texas
        region.name = "Lone Star"
        region.save()
        tag = Tag.objects.get(name="tanker")
        tag.name = "road tanker"
        tag.save()

    assert search(client, q="chemical releases") == [posts["spill"].url]
    assert search(client, q="lone star") == [posts["spill"].url]
    assert search(client, q="road tanker") == [posts["spill"].url]
    assert search(client, q="texas") == []


@pytest.mark.django_db
def test_saving_a_term_no_post_uses_queues_nothing(regions, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        Topic.objects.create(slug="drought", name="Drought")
        regions["mali"].save()
    assert callbacks == []


@pytest.mark.django_db
def test_deleted_post_leaves_the_index(client, posts):
    posts["flood"].delete()

    assert search(client, q="mali") == []
    assert not IndexEntry.objects.filter(object_id=str(posts["flood"].pk)).exists()


def suggestions(response):
    html = response.content.decode()
    return re.findall(
        r'<a href="\?([^"]+)">([^<]+)</a>', html.partition('class="suggestions"')[2].partition("</p>")[0]
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, expected",
    [
        ("wildfrie", "wildfire"),  # a topic name
        ("tankr spil", "tanker spill"),
        ("houstn", "houston"),  # a place
        ("courrier", "courier"),  # an outlet
        ("amadu", "amadou"),  # an author
    ],
)
def test_a_query_that_finds_nothing_suggests_the_nearest_words(client, posts, query, expected):
    response = client.get("/search/", {"q": query})

    assert results(response) == []
    assert "Did you mean" in response.content.decode()
    found = suggestions(response)
    assert found[0][1] == expected
    # The link runs that search, which finds posts.
    assert search(client, q=expected)


@pytest.mark.django_db
def test_suggestions_keep_the_filters_and_only_offer_searches_that_find_posts(client, posts):
    response = client.get("/search/", {"q": "tankr", "topic": "hazmat", "year": "2025"})
    assert suggestions(response) == [("q=tanker&amp;topic=hazmat&amp;year=2025", "tanker")]

    # "tanker" finds nothing among wildfire posts: nothing to suggest.
    response = client.get("/search/", {"q": "tankr", "topic": "wildfire"})
    assert results(response) == []
    assert "Did you mean" not in response.content.decode()


@pytest.mark.django_db
# "helicoptre": the body's words are not in the vocabulary, only names and titles.
@pytest.mark.parametrize("query", ["crews boats", "zzzzqqq", "x", "helicoptre"])
def test_no_suggestion_when_every_word_is_known_or_none_is_near(client, posts, query):
    response = client.get("/search/", {"q": query})

    assert results(response) == []
    assert "Did you mean" not in response.content.decode()


@pytest.mark.django_db
def test_suggestions_come_from_published_posts_only(client, posts, make_post):
    make_post("Avalanche buries pass", live=False)

    response = client.get("/search/", {"q": "avalanch"})
    assert "Did you mean" not in response.content.decode()


# Query counts: the same whatever the number of posts found or words known.
SEARCH_QUERIES = 10
NO_RESULTS_QUERIES = 15


@pytest.mark.django_db
def test_search_page_query_counts_are_fixed(
    client, posts, make_post, topics, regions, django_assert_num_queries
):
    client.get("/search/", {"q": "crews"})  # the site's identity row is made on the first request
    with django_assert_num_queries(SEARCH_QUERIES):
        assert len(search(client, q="crews")) == 2
    for n in range(5):
        make_post(
            f"Crews story {n}", topics=[topics["wildfire"]], regions=[regions["mali"]], tags=[f"tag{n}"]
        )
    with django_assert_num_queries(SEARCH_QUERIES):
        assert len(search(client, q="crews")) == 7

    with django_assert_num_queries(NO_RESULTS_QUERIES):
        assert suggestions(client.get("/search/", {"q": "wildfrie"}))
