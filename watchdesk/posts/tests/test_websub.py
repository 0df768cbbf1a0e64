"""WebSub: our feeds name the hub, and publishing a post pings it for every feed the post appears in."""

import json
import logging
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import parse_qs

import pytest

from watchdesk.posts import websub
from watchdesk.testing.webserver import Reply, WebServer

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"
SITE = "https://news.example.org"


@pytest.fixture
def hub(settings):
    """A local WebSub hub that takes every publish ping (204), reachable by the guarded fetcher."""
    server = WebServer({"/hub": Reply(204)}).start()
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.WATCHDESK_FETCH_ALLOWED_PORTS = [server.port]
    settings.WEBSUB_HUB_URL = server.url("/hub")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


def publish(make_post, capture, title, **fields):
    """Publish a post that was a draft (as the admin's Publish does), running what follows the commit."""
    post = make_post(title, live=False, **fields)
    with capture(execute=True):
        post.get_latest_revision().publish()
    return post


def pinged(server):
    """The hub.url of each publish ping the hub received, in order."""
    urls = []
    for request in server.hits("/hub"):
        assert request.method == "POST"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        form = parse_qs(request.body.decode())
        assert form["hub.mode"] == ["publish"]
        urls.extend(form["hub.url"])
    return urls


# Announcing the hub ------------------------------------------------------------------------------------
def test_feeds_name_no_hub_when_none_is_configured(client, home):
    rss = client.get("/feed/")
    assert "Link" not in rss
    assert b'rel="hub"' not in rss.content
    assert "hubs" not in json.loads(client.get("/feed/json/").content)


def test_every_feed_format_announces_the_hub(client, home, hub, topics):
    hub_url = hub.url("/hub")

    rss = client.get("/topics/wildfire/feed/")
    channel = ET.fromstring(rss.content).find("channel")  # noqa: S314  the site's own output
    links = {link.get("rel"): link.get("href") for link in channel.findall(f"{ATOM}link")}
    assert links == {"self": f"{SITE}/topics/wildfire/feed/", "hub": hub_url}
    assert rss["Link"] == f'<{hub_url}>; rel="hub", <{SITE}/topics/wildfire/feed/>; rel="self"'

    atom = client.get("/topics/wildfire/feed/atom/")
    feed = ET.fromstring(atom.content)  # noqa: S314  the site's own output
    assert {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}["hub"] == hub_url
    assert atom["Link"] == f'<{hub_url}>; rel="hub", <{SITE}/topics/wildfire/feed/atom/>; rel="self"'

    feed_json = client.get("/feed/json/")
    assert json.loads(feed_json.content)["hubs"] == [{"type": "WebSub", "url": hub_url}]
    assert feed_json["Link"] == f'<{hub_url}>; rel="hub", <{SITE}/feed/json/>; rel="self"'


# Pinging on publish --------------------------------------------------------------------------------------
def test_publishing_pings_the_hub_for_every_feed_the_post_is_in(
    make_post, hub, topics, regions, django_capture_on_commit_callbacks
):
    post = publish(
        make_post,
        django_capture_on_commit_callbacks,
        "Evacuation order lifted",
        topics=[topics["wildfire"]],
        regions=[regions["los_angeles"]],
        tags=["evacuation"],
        published=datetime(2026, 11, 3, 9, tzinfo=UTC),
    )

    listings = [
        "/",
        "/topics/wildfire/",
        "/regions/united-states/",
        "/regions/california/",
        "/regions/los-angeles-ca/",
        "/tags/evacuation/",
        "/authors/dana-ortiz/",
        "/archive/2026/11/",
    ]
    expected = [f"{SITE}{base}{path}" for base in listings for path in ("feed/", "feed/atom/", "feed/json/")]
    assert pinged(hub) == expected
    assert websub.feed_urls(post) == expected


def test_nothing_is_pinged_before_the_commit_nor_without_a_hub(
    make_post, hub, settings, django_capture_on_commit_callbacks
):
    post = make_post("Drafted and published", live=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post.get_latest_revision().publish()
    assert pinged(hub) == []  # still inside the publishing transaction
    assert len(callbacks) >= 1

    settings.WEBSUB_HUB_URL = ""
    publish(make_post, django_capture_on_commit_callbacks, "No hub")
    assert pinged(hub) == []


def test_feeds_the_hub_refused_are_tried_again(make_post, hub, django_capture_on_commit_callbacks, caplog):
    site_rss = f"{SITE}/feed/"
    refusals = [Reply(503), Reply(500)]

    def answer(request):
        # The hub refuses the site's RSS feed twice, then takes it; it takes every other feed at once.
        if parse_qs(request.body.decode())["hub.url"] == [site_rss] and refusals:
            return refusals.pop(0)
        return Reply(202)

    hub.routes["/hub"] = answer
    with caplog.at_level(logging.WARNING):
        publish(make_post, django_capture_on_commit_callbacks, "Bridge reopens")

    urls = pinged(hub)
    assert urls.count(site_rss) == 3
    assert all(urls.count(url) == 1 for url in urls if url != site_rss)
    assert urls[-2:] == [site_rss, site_rss]  # the retries sent only what was refused
    assert [record.levelname for record in caplog.records if "WebSub" in record.message] == ["WARNING"] * 2


def test_a_hub_at_a_private_address_is_refused_and_given_up_on(
    make_post, hub, settings, django_capture_on_commit_callbacks, caplog
):
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = []  # the guarded fetcher's default policy

    with caplog.at_level(logging.WARNING):
        publish(make_post, django_capture_on_commit_callbacks, "Road closed")

    assert hub.hits() == []
    assert [record.levelname for record in caplog.records if "WebSub" in record.message] == [
        "WARNING",
        "WARNING",
        "WARNING",
        "ERROR",
    ]
    assert "loopback" in caplog.text or "private" in caplog.text
