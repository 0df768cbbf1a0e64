"""Feed readers follow the site, a topic, a place, a tag, an author or a month in RSS, Atom or JSON Feed."""

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import SimpleNamespace
from urllib.parse import urlsplit

import feedparser
import pytest

ATOM = "{http://www.w3.org/2005/Atom}"
FORMATS = {"rss": "feed/", "atom": "feed/atom/", "json": "feed/json/"}
CONTENT_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
HOSTILE_TITLE = '<script>alert("x")</script> Fish & chips < 5 \'quoted\' "doubly"'


def at(day, hour=12):
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def parsed(client, url):
    """The feed at ``url`` read back the way a reader would: feedparser for RSS and Atom (it does not
    read JSON Feed), json for JSON Feed, both turned into the same shape."""
    response = client.get(url)
    assert response.status_code == 200, url
    if response["Content-Type"].startswith("application/feed+json"):
        data = json.loads(response.content)
        return SimpleNamespace(
            title=data["title"],
            link=data["home_page_url"],
            entries=[
                SimpleNamespace(
                    title=item["title"],
                    link=item["url"],
                    id=item["id"],
                    published=datetime.fromisoformat(item["date_published"]),
                    authors=[author["name"] for author in item.get("authors", [])],
                    categories=item.get("tags", []),
                    content=item["content_html"],
                )
                for item in data["items"]
            ],
        )
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    return SimpleNamespace(
        title=feed.feed.title,
        link=feed.feed.link,
        entries=[
            SimpleNamespace(
                title=entry.title,
                link=entry.link,
                id=entry.id,
                published=datetime(*entry.published_parsed[:6], tzinfo=UTC),
                authors=[author.name for author in entry.get("authors", [])],
                categories=[tag.term for tag in entry.get("tags", [])],
                content=entry.summary,
            )
            for entry in feed.entries
        ],
    )


def links(client, url):
    return [entry.link for entry in parsed(client, url).entries]


def xml(content):
    return ET.fromstring(content)  # noqa: S314  the site's own output, parsed strictly on purpose


def absolute(settings, path):
    return f"{settings.SITE_URL}{path}"


def tag_prefix(settings):
    return f"tag:{urlsplit(settings.SITE_URL).hostname},2026:post:"


@pytest.fixture
def story(make_post, topics, regions):
    return make_post(
        "Crews contain brush fire",
        published=at(2),
        topics=[topics["wildfire"], topics["hazmat"]],
        regions=[regions["los_angeles"]],
        tags=["evacuation"],
        byline="Dana Ortiz, Lee Park and Sam Wu",
        source_name="Valley Courier",
        source_url="https://news.example.org/brush-fire",
        body="<p>Chief Ruiz said the line held.</p>",
        summary="The fire is contained.",
    )


# What each item says -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("format", FORMATS)
def test_site_feed_lists_latest_posts_first_with_absolute_links(client, settings, make_post, format):
    older = make_post("Older", published=at(1))
    newer = make_post("Newer", published=at(3))
    make_post("Draft", published=at(4), live=False)

    response = client.get(f"/{FORMATS[format]}")
    feed = parsed(client, f"/{FORMATS[format]}")

    assert response["Content-Type"] == CONTENT_TYPES[format]
    assert feed.title == "Watchdesk"
    assert feed.link == absolute(settings, "/")
    assert [entry.title for entry in feed.entries] == ["Newer", "Older"]
    assert [entry.link for entry in feed.entries] == [
        absolute(settings, newer.url),
        absolute(settings, older.url),
    ]
    assert settings.SITE_URL.startswith(("http://", "https://"))


@pytest.mark.django_db
@pytest.mark.parametrize("format", FORMATS)
def test_feed_item_carries_byline_topics_dates_and_full_story_link(client, settings, story, format):
    entry = parsed(client, f"/{FORMATS[format]}").entries[0]

    assert entry.title == "Crews contain brush fire"
    assert entry.link == absolute(settings, story.url)
    assert entry.categories == ["Hazmat", "Wildfire"]
    if format == "json":
        assert entry.authors == ["Dana Ortiz", "Lee Park", "Sam Wu"]
    else:
        assert entry.authors == ["Dana Ortiz, Lee Park and Sam Wu"]
    assert "<p>By Dana Ortiz, Lee Park and Sam Wu</p>" in entry.content
    assert "<p>Chief Ruiz said the line held.</p>" in entry.content
    assert '<a href="https://news.example.org/brush-fire">Full story</a> at Valley Courier' in entry.content
    assert entry.published == story.first_published_at


@pytest.mark.django_db
def test_feed_ids_are_unique_and_survive_a_new_title_and_slug(client, settings, make_post):
    post = make_post("Original title", published=at(1), slug="original-title")
    make_post("Another", published=at(2))
    before = {format: parsed(client, f"/{path}").entries for format, path in FORMATS.items()}

    post.title = "Corrected title"
    post.slug = "corrected-title"
    post.save_revision().publish()

    for format, path in FORMATS.items():
        ids = [entry.id for entry in before[format]]
        assert len(set(ids)) == 2, format
        entries = parsed(client, f"/{path}").entries
        assert [entry.id for entry in entries] == ids, format
        assert entries[1].title == "Corrected title"
        assert entries[1].link == absolute(settings, "/corrected-title/")
        assert ids[1] == f"{tag_prefix(settings)}{post.pk}"


@pytest.mark.django_db
def test_rss_dates_are_timezone_aware_and_match_publication(client, story):
    story.refresh_from_db()
    item = xml(client.get("/feed/").content).find("channel/item")

    published = parsedate_to_datetime(item.findtext("pubDate"))

    assert published.tzinfo is not None
    assert published == story.first_published_at


@pytest.mark.django_db
def test_atom_dates_are_timezone_aware_and_match_publication(client, story):
    story.refresh_from_db()
    entry = xml(client.get("/feed/atom/").content).find(f"{ATOM}entry")

    published = datetime.fromisoformat(entry.findtext(f"{ATOM}published"))
    updated = datetime.fromisoformat(entry.findtext(f"{ATOM}updated"))

    assert published.tzinfo is not None and updated.tzinfo is not None
    assert published == story.first_published_at
    assert updated == story.last_published_at
    assert updated >= published


@pytest.mark.django_db
def test_json_feed_dates_are_timezone_aware_and_match_publication(client, story):
    story.refresh_from_db()
    item = json.loads(client.get("/feed/json/").content)["items"][0]

    published = datetime.fromisoformat(item["date_published"])
    modified = datetime.fromisoformat(item["date_modified"])

    assert published.tzinfo is not None and modified.tzinfo is not None
    assert published == story.first_published_at
    assert modified == story.last_published_at


@pytest.mark.django_db
@pytest.mark.parametrize("format", FORMATS)
def test_feed_titles_are_text_and_content_is_escaped_html(client, make_post, format):
    make_post(
        HOSTILE_TITLE,
        body="<p>Chief said &quot;go&quot; &amp; 3 &lt; 4 &lt;script&gt;</p>",
        byline="Seán O'Brien",
    )

    entry = parsed(client, f"/{FORMATS[format]}").entries[0]

    assert entry.title == HOSTILE_TITLE
    assert "<script" not in entry.content
    assert "3 &lt; 4 &lt;script&gt;" in entry.content
    assert "Seán O&#x27;Brien" in entry.content or "Seán O'Brien" in entry.content


@pytest.mark.django_db
def test_rss_and_atom_carry_the_title_as_escaped_text(client, make_post):
    make_post(HOSTILE_TITLE, body="<p>Fish &amp; chips &lt; 5</p>")

    rss = client.get("/feed/").content
    atom = client.get("/feed/atom/").content

    assert b"<script>" not in rss and b"<script>" not in atom
    assert xml(rss).findtext("channel/item/title") == HOSTILE_TITLE
    description = xml(rss).findtext("channel/item/description")
    assert "<p>Fish &amp; chips &lt; 5</p>" in description
    entry = xml(atom).find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == HOSTILE_TITLE
    assert entry.find(f"{ATOM}title").get("type") in (None, "text")


# The formats ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rss_is_well_formed_with_the_required_elements(client, settings, make_post):
    posts = [make_post(published=at(day)) for day in (1, 2)]

    root = xml(client.get("/feed/").content)

    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel.find(f"{ATOM}link").get("href") == absolute(settings, "/feed/")
    assert channel.find(f"{ATOM}link").get("rel") == "self"
    assert channel.findtext("title") == "Watchdesk"
    assert channel.findtext("link") == absolute(settings, "/")
    assert channel.findtext("description")
    items = channel.findall("item")
    assert [item.findtext("link") for item in items] == [absolute(settings, p.url) for p in reversed(posts)]
    for item in items:
        assert item.findtext("title")
        assert item.findtext("description")
        assert item.find("guid").text.startswith("tag:")
        assert item.find("guid").get("isPermaLink") == "false"


@pytest.mark.django_db
def test_atom_is_well_formed_with_the_required_elements(client, settings, make_post):
    posts = [make_post(published=at(day)) for day in (1, 2)]

    root = xml(client.get("/feed/atom/").content)

    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}id")
    assert root.findtext(f"{ATOM}title") == "Watchdesk"
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == absolute(settings, "/feed/atom/")
    assert root.find(f"{ATOM}link[@rel='alternate']").get("href") == absolute(settings, "/")
    assert datetime.fromisoformat(root.findtext(f"{ATOM}updated")).tzinfo is not None
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 2
    for entry, post in zip(entries, reversed(posts), strict=True):
        assert entry.findtext(f"{ATOM}id") == f"{tag_prefix(settings)}{post.pk}"
        assert datetime.fromisoformat(entry.findtext(f"{ATOM}updated")).tzinfo is not None
        link = entry.find(f"{ATOM}link")
        assert link.get("href") == absolute(settings, post.url)
        assert link.get("rel") == "alternate"


@pytest.mark.django_db
def test_json_feed_follows_version_1_1(client, settings, make_post):
    older = make_post("Older", published=at(1), source_url="https://news.example.org/older")
    newer = make_post("Newer", published=at(2), source_url="https://news.example.org/newer")

    response = client.get("/feed/json/")
    feed = json.loads(response.content)

    assert response["Content-Type"] == "application/feed+json; charset=utf-8"
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Watchdesk"
    assert feed["home_page_url"] == absolute(settings, "/")
    assert feed["feed_url"] == absolute(settings, "/feed/json/")
    assert [item["url"] for item in feed["items"]] == [
        absolute(settings, newer.url),
        absolute(settings, older.url),
    ]
    assert [item["external_url"] for item in feed["items"]] == [
        "https://news.example.org/newer",
        "https://news.example.org/older",
    ]
    assert [item["id"] for item in feed["items"]] == [
        f"{tag_prefix(settings)}{newer.pk}",
        f"{tag_prefix(settings)}{older.pk}",
    ]
    assert feed["items"][0]["summary"] == "Summary of Newer."
    assert feed["items"][0]["authors"] == [{"name": "Dana Ortiz"}]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/feed/xml/", "/feed/RSS/", "/topics/wildfire/feed/xml/", "/archive/2026/11/feed/xml/"]
)
def test_unknown_feed_format_is_404(client, make_post, topics, url):
    make_post(published=at(1), topics=[topics["wildfire"]])

    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_feed_holds_at_most_feed_items_posts(client, settings, make_post):
    settings.FEED_ITEMS = 3
    posts = [make_post(published=at(day)) for day in range(1, 6)]

    assert links(client, "/feed/") == [absolute(settings, p.url) for p in reversed(posts[-3:])]


# Feeds of one term ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("format", FORMATS)
def test_topic_feed_holds_only_that_topics_posts(client, settings, make_post, topics, format):
    fire = make_post("Fire", published=at(1), topics=[topics["wildfire"]])
    make_post("Spill", published=at(2), topics=[topics["hazmat"]])
    make_post("Fire draft", published=at(3), topics=[topics["wildfire"]], live=False)

    feed = parsed(client, f"/topics/wildfire/{FORMATS[format]}")

    assert feed.title == "Wildfire - Watchdesk"
    assert feed.link == absolute(settings, "/topics/wildfire/")
    assert [entry.link for entry in feed.entries] == [absolute(settings, fire.url)]


@pytest.mark.django_db
def test_region_feed_includes_places_inside_it(client, settings, make_post, regions):
    city = make_post(published=at(1), regions=[regions["los_angeles"]])
    state = make_post(published=at(2), regions=[regions["california"]])
    make_post(published=at(3), regions=[regions["houston"]])

    feed = parsed(client, "/regions/california/feed/atom/")

    assert feed.title == "California - Watchdesk"
    assert [entry.link for entry in feed.entries] == [
        absolute(settings, state.url),
        absolute(settings, city.url),
    ]
    assert links(client, "/regions/los-angeles-ca/feed/json/") == [absolute(settings, city.url)]


@pytest.mark.django_db
def test_tag_author_and_month_feeds_hold_their_posts(client, settings, make_post):
    november = make_post(published=at(1), tags=["evacuation"], byline="Lee Park")
    make_post(published=at(1) - timedelta(days=5), tags=["red flag"], byline="Sam Wu")

    expected = [absolute(settings, november.url)]
    assert links(client, "/tags/evacuation/feed/") == expected
    assert links(client, "/authors/lee-park/feed/atom/") == expected
    assert links(client, "/archive/2026/11/feed/json/") == expected
    assert parsed(client, "/archive/2026/11/feed/").title == "November 2026 - Watchdesk"


# Query counts --------------------------------------------------------------------------------------


def publish_batch(make_post, topics, regions, count, *, rich):
    for i in range(count):
        make_post(
            topics=[topics["wildfire"], topics["hazmat"], topics["flooding"]]
            if rich
            else [topics["wildfire"]],
            regions=[regions["los_angeles"], regions["houston"], regions["mali"]]
            if rich
            else [regions["los_angeles"]],
            tags=["evacuation", "red flag", f"tag {i}"] if rich else ["evacuation"],
            byline="Dana Ortiz, Lee Park and Sam Wu" if rich else "Dana Ortiz",
        )


# Each count includes one query for the posts' updates (posts.updates).
FEED_QUERIES = [
    ("/feed/", 9),
    ("/feed/atom/", 9),
    ("/feed/json/", 9),
    ("/topics/wildfire/feed/", 12),
    ("/regions/united-states/feed/atom/", 12),
    ("/tags/evacuation/feed/json/", 12),
    ("/authors/dana-ortiz/feed/", 12),
]


@pytest.mark.django_db
def test_feed_query_count_does_not_grow_with_posts(
    client, make_post, topics, regions, django_assert_num_queries
):
    # Every feed is read after each batch: making the posts is most of the cost, so they are made once.
    for batch, rich, listed in ((4, False, 4), (8, True, 12)):
        publish_batch(make_post, topics, regions, batch, rich=rich)
        for url, queries in FEED_QUERIES:
            client.get(url)  # warm the caches every request shares
            with django_assert_num_queries(queries, info=url):
                assert len(parsed(client, url).entries) == listed, url
