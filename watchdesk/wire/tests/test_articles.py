"""Articles added by URL: the story's text and metadata come out, the page's furniture does not.

The pages under ``pages/`` are written to look like real outlets: navigation, ads, cookie banners,
related links, reader comments and footers around the story, with the metadata in JSON-LD, Open Graph or
plain meta tags.
"""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from watchdesk.core.fetcher import FetchRefused
from watchdesk.testing.webserver import Reply
from watchdesk.wire.articles import ArticleError, fetch_article
from watchdesk.wire.models import FetchLog, Item
from watchdesk.wire.tasks import add_article

PAGES = Path(__file__).parent / "pages"
HTML = "text/html; charset=utf-8"


@pytest.fixture
def site(web_server):
    """The local server answering every saved page at /<file name>."""
    for page in PAGES.glob("*.html"):
        web_server.routes[f"/{page.name}"] = Reply(200, {"Content-Type": HTML}, page.read_bytes())
    return web_server


@pytest.mark.django_db
def test_a_news_story_with_json_ld_gives_title_author_date_outlet_and_text(site):
    item = fetch_article(site.url("/valley-courier-wildfire.html"))

    item.refresh_from_db()
    assert item.title == "Crews hold the Ridge Fire line as winds ease"
    assert item.author == "Dana Whitfield"
    assert item.published_at == datetime(2024, 8, 14, 13, 30, tzinfo=UTC)
    assert item.date_guessed is False
    assert item.outlet == "Sierra Valley Courier"
    assert (item.origin, item.source) == ("article", None)
    assert item.text.startswith("Firefighters held containment lines around the Ridge Fire overnight")
    assert "red flag warning returns on Friday" in item.text
    for boilerplate in (
        "Subscribe today",
        "Advertisement",
        "Valley Motors",
        "Miners win",
        "Reader comment",
        "Copyright",
        "newsletter",
    ):
        assert boilerplate not in item.text
        assert boilerplate not in item.content
    # The headline is the title, not the first paragraph.
    assert not item.text.startswith("Crews hold")
    assert item.content.count("<p>") == 5
    assert item.summary.startswith("<p>Firefighters held containment lines")
    assert "first real break in four days. The fire has burned" in item.summary
    assert "Evacuation orders" not in item.summary  # two sentences, not the whole story
    # The page claims a canonical URL on another host: the address we fetched stays the GUID.
    assert item.url == item.guid == site.url("/valley-courier-wildfire.html")


@pytest.mark.django_db
def test_a_page_with_open_graph_and_a_cookie_banner(site):
    item = fetch_article(site.url("/harbor-gazette-chemical.html"))

    assert item.title == "Chemical leak closes the port road; shelter-in-place lifted"
    assert item.author == "Priya Raman"
    assert item.published_at == datetime(2024, 3, 2, 17, 5, tzinfo=UTC)
    assert item.outlet == "The Harbor Gazette"
    assert "anhydrous ammonia" in item.text
    for boilerplate in ("cookies", "Sponsored", "boat storage", "Ferry fares", "Wharf Street"):
        assert boilerplate not in item.text


@pytest.mark.django_db
def test_adding_the_same_article_again_updates_instead_of_copying(site):
    first = fetch_article(site.url("/county-alert-boil-water.html?utm_source=newsletter&fbclid=x1"))

    assert first.url == site.url("/county-alert-boil-water.html")  # tracking parameters stripped
    assert first.outlet == "127.0.0.1"  # no site name on the page: the host
    assert first.language == "en-us"
    assert first.published_at == datetime(2024, 11, 5, 14, 20, tzinfo=UTC)
    assert "boil tap water" in first.text

    site.routes["/county-alert-boil-water.html"] = Reply(
        200,
        {"Content-Type": HTML},
        (PAGES / "county-alert-boil-water.html").read_bytes().replace(b"Wednesday evening", b"Thursday noon"),
    )
    again = fetch_article(site.url("/county-alert-boil-water.html?utm_campaign=alert"))

    assert again.pk == first.pk
    assert Item.objects.count() == 1
    assert "Thursday noon" in Item.objects.get().text
    assert fetch_article(site.url("/county-alert-boil-water.html")).pk == first.pk


@pytest.mark.django_db
def test_a_page_without_an_article_is_refused_with_a_clear_error(site):
    with pytest.raises(ArticleError, match="no article text found"):
        fetch_article(site.url("/not-an-article.html"))

    assert Item.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(404, {"Content-Type": HTML}, b"<p>Not found</p>"), "HTTP 404"),
        (Reply(200, {"Content-Type": "application/pdf"}, b"%PDF-1.4"), "not an HTML page"),
        (Reply(200, {"Content-Type": HTML}, b""), "no article text found"),
    ],
)
def test_what_is_not_an_article_page_gets_a_reason(web_server, reply, message):
    web_server.routes["/story"] = reply

    with pytest.raises(ArticleError, match=message):
        fetch_article(web_server.url("/story"))
    assert Item.objects.count() == 0


@pytest.mark.django_db
def test_a_refused_address_is_never_contacted(site, settings):
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = []

    with pytest.raises(FetchRefused):
        fetch_article(site.url("/valley-courier-wildfire.html"))
    assert site.requests == []


@pytest.mark.django_db
def test_the_add_from_url_task_stores_the_item_or_logs_why_not(site):
    done = add_article.enqueue(site.url("/harbor-gazette-chemical.html")).return_value
    assert Item.objects.get(pk=done["item"]).outlet == "The Harbor Gazette"

    ok = FetchLog.objects.get()
    assert (ok.source, ok.status, ok.created, ok.url) == (
        None,
        "ok",
        1,
        site.url("/harbor-gazette-chemical.html"),
    )

    failed = add_article.enqueue(site.url("/not-an-article.html"), user_id=7).return_value

    assert (failed["error"], failed["user"]) == ("no article text found", 7)
    log = FetchLog.objects.exclude(status="ok").get()
    assert (log.source, log.url, log.status, log.detail) == (
        None,
        site.url("/not-an-article.html"),
        "no article",
        "no article text found",
    )


@pytest.mark.django_db
def test_the_add_from_url_task_logs_a_refusal(web_server, settings):
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = []

    add_article.enqueue(web_server.url("/story"))

    log = FetchLog.objects.get()
    assert log.status == "refused" and log.source is None
    assert web_server.requests == []
