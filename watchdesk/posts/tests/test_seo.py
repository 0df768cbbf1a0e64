"""Search engines and link previews read canonical URLs, OpenGraph, JSON-LD, the sitemap and robots.txt."""

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from django.conf import settings

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
JSON_LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)


class HeadTags(HTMLParser):
    """The <meta> and <link> tags of a page, as dicts of their attributes."""

    def __init__(self, html):
        super().__init__()
        self.meta, self.links = [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "meta":
            self.meta.append(dict(attrs))
        elif tag == "link":
            self.links.append(dict(attrs))

    def property(self, name):
        """The content of every <meta property=name> or <meta name=name>."""
        return [m["content"] for m in self.meta if name in (m.get("property"), m.get("name"))]

    def canonical(self):
        [href] = [link["href"] for link in self.links if link.get("rel") == "canonical"]
        return href


def head(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return HeadTags(response.content.decode())


def json_ld(client, url):
    [payload] = JSON_LD.findall(client.get(url).content.decode())
    return json.loads(payload)


@pytest.fixture
def story(make_post, topics, regions):
    return make_post(
        "Crews contain brush fire",
        published=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        summary="The fire is 80% contained; evacuation orders are lifted.",
        byline="Dana Ortiz, Lee Park and Sam Wu",
        source_name="Valley Courier",
        source_url="https://news.example.org/brush-fire",
        topics=[topics["wildfire"]],
        regions=[regions["los_angeles"]],
        tags=["evacuation"],
    )


# Post page -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_post_page_names_its_absolute_canonical_url(client, settings, story):
    assert head(client, story.url).canonical() == f"{settings.SITE_URL}{story.url}"
    assert head(client, f"{story.url}?utm_source=mail").canonical() == f"{settings.SITE_URL}{story.url}"


@pytest.mark.django_db
def test_post_page_describes_itself_to_link_previews(client, settings, story):
    tags = head(client, story.url)

    assert tags.property("og:type") == ["article"]
    assert tags.property("og:title") == ["Crews contain brush fire"]
    assert tags.property("og:description") == ["The fire is 80% contained; evacuation orders are lifted."]
    assert tags.property("description") == ["The fire is 80% contained; evacuation orders are lifted."]
    assert tags.property("og:url") == [f"{settings.SITE_URL}{story.url}"]
    [published] = tags.property("article:published_time")
    assert datetime.fromisoformat(published) == story.first_published_at
    assert tags.property("article:section") == ["Wildfire"]
    assert tags.property("article:tag") == ["evacuation"]
    assert tags.property("twitter:card") == ["summary"]
    assert tags.property("twitter:title") == ["Crews contain brush fire"]


@pytest.mark.django_db
def test_search_description_overrides_the_summary_for_search_engines(client, make_post):
    post = make_post("Title", summary="The summary.", search_description="Written for search engines.")

    tags = head(client, post.url)

    assert tags.property("description") == ["Written for search engines."]
    assert tags.property("og:description") == ["Written for search engines."]


@pytest.mark.django_db
def test_post_page_json_ld_is_a_news_article_based_on_the_original(client, settings, story):
    story.refresh_from_db()
    data = json_ld(client, story.url)

    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == "Crews contain brush fire"
    assert data["description"] == "The fire is 80% contained; evacuation orders are lifted."
    assert data["url"] == f"{settings.SITE_URL}{story.url}"
    assert datetime.fromisoformat(data["datePublished"]) == story.first_published_at
    assert datetime.fromisoformat(data["dateModified"]) == story.last_published_at
    assert [author["name"] for author in data["author"]] == ["Dana Ortiz", "Lee Park", "Sam Wu"]
    assert data["isBasedOn"]["url"] == "https://news.example.org/brush-fire"
    assert data["isBasedOn"]["publisher"]["name"] == "Valley Courier"
    assert [author["name"] for author in data["isBasedOn"]["author"]] == ["Dana Ortiz", "Lee Park", "Sam Wu"]
    assert data["articleSection"] == ["Wildfire"]
    assert data["contentLocation"] == [{"@type": "Place", "name": "Los Angeles, California"}]


@pytest.mark.django_db
def test_json_ld_cannot_be_ended_early_by_a_title(client, make_post):
    title = 'Fire </script><script>alert("x")</script> <!-- & more'
    post = make_post(title, summary="</SCRIPT> in the summary too.", body="<p>Plain body.</p>")

    html = client.get(post.url).content.decode()

    start = html.index('<script type="application/ld+json">')
    script = html[start : html.index("</script>", start)]
    assert "</" not in script.lower().replace("</script>", "")
    assert "<!--" not in script
    data = json_ld(client, post.url)
    assert data["headline"] == title
    assert data["description"] == "</SCRIPT> in the summary too."
    # The JSON-LD block is the page's one inline script; the rest are files (local-time.js).
    assert html.count("<script") - html.count("<script src=") == 1


@pytest.mark.django_db
def test_long_titles_are_cut_to_110_characters_in_json_ld(client, make_post):
    post = make_post("A" * 200)

    assert json_ld(client, post.url)["headline"] == "A" * 110


# Listings ------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/topics/wildfire/", "/regions/california/", "/tags/evacuation/"])
def test_listing_canonical_url_carries_the_page_number_after_the_first(
    client, settings, make_post, topics, regions, url
):
    settings.POSTS_PER_PAGE = 1
    for _ in range(3):
        make_post(topics=[topics["wildfire"]], regions=[regions["los_angeles"]], tags=["evacuation"])

    assert head(client, url).canonical() == f"{settings.SITE_URL}{url}"
    assert head(client, f"{url}?page=1").canonical() == f"{settings.SITE_URL}{url}"
    assert head(client, f"{url}?page=2").canonical() == f"{settings.SITE_URL}{url}?page=2"
    assert head(client, f"{url}?page=3&utm_source=x").canonical() == f"{settings.SITE_URL}{url}?page=3"
    assert head(client, f"{url}?page=2").property("og:url") == [f"{settings.SITE_URL}{url}?page=2"]


@pytest.mark.django_db
def test_listing_with_posts_may_be_indexed(client, make_post, topics):
    make_post(topics=[topics["wildfire"]])

    assert head(client, "/topics/wildfire/").property("robots") == []
    assert head(client, "/topics/hazmat/").property("robots") == ["noindex, follow"]


@pytest.mark.django_db
def test_search_page_is_kept_out_of_search_engines(client, make_post):
    make_post("Brush fire")

    assert head(client, "/search/?q=fire").property("robots") == ["noindex, follow"]


# Sitemap and robots.txt ----------------------------------------------------------------------------


def sitemap_locations(client):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)  # noqa: S314  the site's own output
    return [url.findtext(f"{SITEMAP}loc") for url in root.findall(f"{SITEMAP}url")]


@pytest.mark.django_db
def test_sitemap_lists_published_posts_and_their_terms_not_drafts(
    client, settings, make_post, topics, regions
):
    live = make_post(
        published=datetime(2026, 10, 5, tzinfo=UTC),
        topics=[topics["wildfire"]],
        regions=[regions["los_angeles"]],
        tags=["evacuation"],
        byline="Dana Ortiz",
    )
    draft = make_post(
        published=datetime(2026, 9, 5, tzinfo=UTC),
        topics=[topics["terrorism"]],
        regions=[regions["mali"]],
        tags=["draft-only"],
        byline="Ghost Writer",
        live=False,
    )

    locations = sitemap_locations(client)

    site = settings.SITE_URL
    assert all(location.startswith(f"{site}/") for location in locations)
    assert len(locations) == len(set(locations))
    for path in [
        "/",
        live.url,
        "/topics/wildfire/",
        "/regions/los-angeles-ca/",
        "/regions/california/",
        "/regions/united-states/",
        "/tags/evacuation/",
        "/authors/dana-ortiz/",
        "/archive/2026/10/",
    ]:
        assert f"{site}{path}" in locations
    for path in [
        draft.url,
        "/topics/terrorism/",
        "/regions/mali/",
        "/tags/draft-only/",
        "/authors/ghost-writer/",
        "/archive/2026/09/",
    ]:
        assert f"{site}{path}" not in locations


@pytest.mark.django_db
def test_robots_txt_names_the_sitemap(client, home):
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    sitemaps = [line for line in response.content.decode().splitlines() if line.startswith("Sitemap: ")]
    assert sitemaps == [f"Sitemap: {settings.SITE_URL}/sitemap.xml"]
    assert client.get(sitemaps[0].removeprefix(f"Sitemap: {settings.SITE_URL}")).status_code == 200
