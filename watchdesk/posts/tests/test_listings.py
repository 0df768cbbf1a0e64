"""Readers browse posts: the latest first on the home page, then by topic, place, tag, author and month."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from watchdesk.taxonomy.models import Topic

NOINDEX = '<meta name="robots" content="noindex'
CARD_TITLE = re.compile(r'<h2 class="card__title"><a href="([^"]+)">')
ALTERNATE = re.compile(r'<link rel="alternate" type="([^"]+)" title="[^"]*" href="([^"]+)">')


def at(day, hour=12):
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def listed(response):
    """The URLs of the posts on a listing page, in the order shown."""
    assert response.status_code == 200
    return CARD_TITLE.findall(response.content.decode())


# Home page ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_home_lists_the_latest_posts_first(client, make_post):
    middle = make_post("Middle", published=at(2))
    newest = make_post("Newest", published=at(3))
    oldest = make_post("Oldest", published=at(1))

    assert listed(client.get("/")) == [newest.url, middle.url, oldest.url]


@pytest.mark.django_db
def test_home_is_paginated_with_older_posts_on_later_pages(client, settings, make_post):
    settings.POSTS_PER_PAGE = 2
    posts = [make_post(published=at(day)) for day in range(1, 6)]
    newest_first = [post.url for post in reversed(posts)]

    first = client.get("/")
    assert listed(first) == newest_first[:2]
    assert 'href="?page=2">Older' in first.content.decode()
    assert "Page 1 of 3" in first.content.decode()
    assert listed(client.get("/?page=2")) == newest_first[2:4]
    last = client.get("/?page=3")
    assert listed(last) == newest_first[4:]
    assert "Older" not in last.content.decode()
    assert 'href="?page=2">← Newer' in last.content.decode()


@pytest.mark.django_db
def test_home_leaves_out_drafts(client, make_post):
    live = make_post("Live post")
    make_post("Draft post", live=False)

    response = client.get("/")

    assert listed(response) == [live.url]
    assert "Draft post" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/topics/wildfire/", "/regions/united-states/", "/tags/evacuation/"])
def test_page_numbers_that_are_out_of_range_or_not_numbers_are_404(
    client, settings, make_post, topics, regions, url
):
    settings.POSTS_PER_PAGE = 2
    for day in (1, 2, 3):
        make_post(
            published=at(day), topics=[topics["wildfire"]], regions=[regions["texas"]], tags=["evacuation"]
        )

    assert client.get(url, {"page": "2"}).status_code == 200
    for page in ("3", "0", "-1", "abc", "1.5"):
        assert client.get(url, {"page": page}).status_code == 404, page


# One term ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_topic_lists_only_its_own_live_posts(client, make_post, topics):
    older = make_post("Fire one", published=at(1), topics=[topics["wildfire"], topics["hazmat"]])
    newer = make_post("Fire two", published=at(2), topics=[topics["wildfire"]])
    make_post("Spill", published=at(3), topics=[topics["hazmat"]])
    make_post("Fire draft", published=at(4), topics=[topics["wildfire"]], live=False)

    response = client.get("/topics/wildfire/")

    assert listed(response) == [newer.url, older.url]
    assert "<h1>Wildfire</h1>" in response.content.decode()
    assert NOINDEX not in response.content.decode()


@pytest.mark.django_db
def test_region_includes_the_places_inside_it_but_not_its_neighbours(client, make_post, regions):
    city = make_post("In Los Angeles", published=at(1), regions=[regions["los_angeles"]])
    county = make_post("In the county", published=at(2), regions=[regions["la_county"]])
    state = make_post("Statewide", published=at(3), regions=[regions["california"]])
    texas = make_post("In Houston", published=at(4), regions=[regions["houston"]])
    mali = make_post("In Mali", published=at(5), regions=[regions["mali"]])
    make_post("Draft in LA", published=at(6), regions=[regions["los_angeles"]], live=False)

    assert listed(client.get("/regions/los-angeles-ca/")) == [city.url]
    assert listed(client.get("/regions/california/")) == [state.url, county.url, city.url]
    assert listed(client.get("/regions/united-states/")) == [texas.url, state.url, county.url, city.url]
    assert listed(client.get("/regions/texas/")) == [texas.url]
    assert listed(client.get("/regions/mali/")) == [mali.url]


@pytest.mark.django_db
def test_region_listed_under_two_places_inside_it_appears_once(client, make_post, regions):
    post = make_post(regions=[regions["los_angeles"], regions["la_county"], regions["california"]])

    assert listed(client.get("/regions/united-states/")) == [post.url]


@pytest.mark.django_db
def test_city_listing_shows_the_places_above_it(client, make_post, regions):
    make_post(regions=[regions["los_angeles"]])

    html = client.get("/regions/los-angeles-ca/").content.decode()

    assert "<h1>Los Angeles, California</h1>" in html
    assert (
        '<p class="breadcrumbs">In <a href="/regions/united-states/">United States</a>, '
        '<a href="/regions/california/">California</a></p>'
    ) in html


@pytest.mark.django_db
def test_tag_lists_only_the_live_posts_carrying_it(client, make_post):
    tagged = make_post("Evacuated", published=at(1), tags=["evacuation", "red flag"])
    make_post("Not tagged", published=at(2), tags=["red flag"])
    make_post("Tagged draft", published=at(3), tags=["evacuation"], live=False)

    response = client.get("/tags/evacuation/")

    assert listed(response) == [tagged.url]
    assert "Tagged “evacuation”" in response.content.decode()


@pytest.mark.django_db
def test_author_lists_the_posts_of_stories_they_wrote(client, make_post):
    solo = make_post("Solo", published=at(1), byline="Lee Park")
    shared = make_post("Shared", published=at(2), byline="Dana Ortiz and Lee Park")
    make_post("Someone else", published=at(3), byline="Sam Wu")

    response = client.get("/authors/lee-park/")

    assert listed(response) == [shared.url, solo.url]
    assert "<h1>By Lee Park</h1>" in response.content.decode()


@pytest.mark.django_db
def test_month_archive_lists_the_posts_published_that_month(client, make_post):
    first = make_post("First of November", published=datetime(2026, 11, 1, 0, 0, tzinfo=UTC))
    last = make_post("Last of November", published=datetime(2026, 11, 30, 23, 59, tzinfo=UTC))
    make_post("October", published=datetime(2026, 10, 31, 23, 59, tzinfo=UTC))
    make_post("December", published=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    make_post("November draft", published=datetime(2026, 11, 15, tzinfo=UTC), live=False)

    response = client.get("/archive/2026/11/")

    assert listed(response) == [last.url, first.url]
    assert "<h1>November 2026</h1>" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/topics/no-such-topic/",
        "/regions/atlantis/",
        "/tags/no-such-tag/",
        "/authors/nobody/",
        "/topics/no-such-topic/feed/",
        "/regions/atlantis/feed/atom/",
        "/tags/no-such-tag/feed/json/",
    ],
)
def test_unknown_terms_are_404(client, make_post, topics, regions, url):
    make_post(topics=[topics["wildfire"]], regions=[regions["texas"]], tags=["evacuation"])

    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_tag_author_and_month_without_live_posts_are_404(client, make_post):
    make_post("Draft", published=at(5), tags=["unpublished-only"], byline="Ghost Writer", live=False)
    make_post("Live", published=datetime(2026, 9, 1, tzinfo=UTC), tags=["evacuation"])

    assert client.get("/tags/unpublished-only/").status_code == 404
    assert client.get("/authors/ghost-writer/").status_code == 404
    assert client.get("/archive/2026/11/").status_code == 404
    assert client.get("/archive/2026/13/").status_code == 404
    assert client.get("/archive/2026/09/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/topics/terrorism/", "/regions/mali/"])
def test_topic_or_region_without_posts_says_so_and_is_kept_out_of_search_engines(
    client, make_post, topics, regions, url
):
    make_post(topics=[topics["wildfire"]], regions=[regions["texas"]])

    response = client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assert "No posts yet." in html
    assert '<meta name="robots" content="noindex, follow">' in html
    assert listed(response) == []


# Index pages ---------------------------------------------------------------------------------------


def term_counts(html):
    """{link text: count} for each term on an index page."""
    return {
        name: int(n)
        for name, n in re.findall(r'<a href="[^"]+">([^<]+)</a> <span class="count">\((\d+)\)</span>', html)
    }


@pytest.mark.django_db
def test_topic_index_lists_every_topic_with_its_live_post_count(client, make_post, topics):
    make_post(topics=[topics["wildfire"], topics["hazmat"]])
    make_post(topics=[topics["wildfire"]])
    make_post(topics=[topics["wildfire"]], live=False)

    html = client.get("/topics/").content.decode()

    assert term_counts(html) == {"Flooding": 0, "Hazmat": 1, "Terrorism": 0, "Wildfire": 2}
    assert '<a href="/topics/wildfire/">Wildfire</a>' in html


@pytest.mark.django_db
def test_region_index_counts_each_post_once_per_place_above_it(client, make_post, regions):
    make_post(regions=[regions["los_angeles"], regions["la_county"]])
    make_post(regions=[regions["houston"]])
    make_post(regions=[regions["mali"]], live=False)

    html = client.get("/regions/").content.decode()

    assert term_counts(html) == {
        "United States": 2,
        "California": 1,
        "Los Angeles County": 1,
        "Los Angeles": 1,
        "Texas": 1,
        "Houston": 1,
    }
    assert '<a href="/regions/houston-tx/">Houston</a>' in html


@pytest.mark.django_db
def test_tag_index_lists_tags_of_live_posts_with_counts(client, make_post):
    make_post(tags=["evacuation", "red flag"])
    make_post(tags=["evacuation"])
    make_post(tags=["evacuation", "draft only"], live=False)

    html = client.get("/tags/").content.decode()

    assert term_counts(html) == {"evacuation": 2, "red flag": 1}
    assert '<a href="/tags/red-flag/">red flag</a>' in html


@pytest.mark.django_db
def test_author_index_lists_authors_of_live_posts_with_counts(client, make_post):
    make_post(byline="Dana Ortiz and Lee Park")
    make_post(byline="Lee Park")
    make_post(byline="Ghost Writer", live=False)

    html = client.get("/authors/").content.decode()

    assert term_counts(html) == {"Dana Ortiz": 1, "Lee Park": 2}
    assert '<a href="/authors/lee-park/">Lee Park</a>' in html


@pytest.mark.django_db
def test_archive_index_lists_months_newest_first_with_counts(client, make_post):
    make_post(published=datetime(2026, 10, 3, tzinfo=UTC))
    make_post(published=datetime(2026, 11, 3, tzinfo=UTC))
    make_post(published=datetime(2026, 11, 4, tzinfo=UTC))
    make_post(published=datetime(2026, 12, 4, tzinfo=UTC), live=False)

    html = client.get("/archive/").content.decode()

    assert list(term_counts(html).items()) == [("November 2026", 2), ("October 2026", 1)]
    assert '<a href="/archive/2026/11/">November 2026</a>' in html


# Feeds advertised ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/topics/wildfire/",
        "/topics/terrorism/",
        "/regions/california/",
        "/tags/evacuation/",
        "/authors/dana-ortiz/",
        "/archive/2026/11/",
    ],
)
def test_every_listing_advertises_its_three_feeds(client, make_post, topics, regions, url):
    make_post(
        published=at(1),
        topics=[topics["wildfire"]],
        regions=[regions["los_angeles"]],
        tags=["evacuation"],
        byline="Dana Ortiz",
    )

    response = client.get(url)

    assert response.status_code == 200
    assert ALTERNATE.findall(response.content.decode()) == [
        ("application/rss+xml", f"{url}feed/"),
        ("application/atom+xml", f"{url}feed/atom/"),
        ("application/feed+json", f"{url}feed/json/"),
    ]
    for _, feed in ALTERNATE.findall(response.content.decode()):
        assert client.get(feed).status_code == 200


# Query counts --------------------------------------------------------------------------------------


def publish_batch(make_post, topics, regions, count, *, rich):
    """``count`` posts under Wildfire, the United States and "evacuation"; ``rich`` ones carry three of
    everything (topics, places, tags and authors) so that a per-post query would show."""
    for i in range(count):
        if rich:
            extra = Topic.objects.create(slug=f"extra-{Topic.objects.count()}", name=f"Extra {i}")
            make_post(
                topics=[topics["wildfire"], topics["hazmat"], extra],
                regions=[regions["los_angeles"], regions["houston"], regions["la_county"]],
                tags=["evacuation", "red flag", f"tag {extra.pk}"],
                byline="Dana Ortiz, Lee Park and Sam Wu",
            )
        else:
            make_post(topics=[topics["wildfire"]], regions=[regions["los_angeles"]], tags=["evacuation"])


LISTING_QUERIES = [
    ("/", 10),
    ("/topics/wildfire/", 13),
    ("/regions/united-states/", 13),
    ("/tags/evacuation/", 13),
]


@pytest.mark.django_db
def test_listing_query_count_does_not_grow_with_posts(
    client, settings, make_post, topics, regions, django_assert_num_queries
):
    settings.POSTS_PER_PAGE = 50
    # Every listing is read after each batch: making the posts is most of the cost, so they are made once.
    for batch, rich, listed_count in ((4, False, 4), (8, True, 12)):
        publish_batch(make_post, topics, regions, batch, rich=rich)
        for url, queries in LISTING_QUERIES:
            client.get(url)  # warm the caches every request shares (site root paths, content types)
            with django_assert_num_queries(queries, info=url):
                response = client.get(url)
            assert len(listed(response)) == listed_count, url
            if rich:
                assert response.content.decode().count('<a href="/topics/hazmat/">Hazmat</a>') == 8, url


@pytest.mark.django_db
def test_post_published_late_on_the_last_day_is_in_that_months_archive(client, make_post):
    """A post made at 23:30 UTC on the last day of the month belongs to that month's archive."""
    post = make_post(published=datetime(2026, 10, 31, 23, 30, tzinfo=UTC))
    make_post(published=datetime(2026, 10, 31, 23, 30, tzinfo=UTC) + timedelta(hours=1))

    assert listed(client.get("/archive/2026/10/")) == [post.url]
