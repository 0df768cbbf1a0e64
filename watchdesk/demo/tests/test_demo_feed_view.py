"""/demo/feeds/<slug>/: the demo outlets' feeds, in development (or with DEMO_FEEDS) only."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from watchdesk.demo.wire import feed_etag
from watchdesk.wire.parsing import parse_feed

URL = "/demo/feeds/sierra-fire-wire/"


@pytest.fixture
def development(settings):
    settings.DEBUG = True


def test_served_in_development_with_type_etag_and_last_modified(db, client, development):
    response = client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert response["ETag"] == feed_etag(response.content)
    assert response["Last-Modified"].endswith(" GMT")
    parsed = parse_feed(response.content, content_type=response["Content-Type"])
    assert parsed.title == "Sierra Fire Wire" and len(parsed.entries) >= 4


def test_served_with_demo_feeds_on_even_without_debug(db, client, settings):
    settings.DEBUG = False
    settings.DEMO_FEEDS = True
    response = client.get("/demo/feeds/public-safety-cyber-brief/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/feed+json; charset=utf-8"


def test_not_found_with_debug_and_demo_feeds_off(db, client, settings):
    settings.DEBUG = False
    settings.DEMO_FEEDS = False
    assert client.get(URL).status_code == 404


def test_not_found_without_the_demo_feeds_setting_at_all(db, client, settings):
    settings.DEBUG = False
    del settings.DEMO_FEEDS
    assert client.get(URL).status_code == 404


def test_an_unknown_outlet_is_not_found(db, client, development):
    assert client.get("/demo/feeds/no-such-outlet/").status_code == 404


def test_a_poll_with_the_etag_it_was_given_is_not_modified_until_the_clock_steps(
    db, client, development, monkeypatch
):
    moment = datetime(2026, 3, 10, 14, 1, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    first = client.get(URL)

    moment += timedelta(minutes=10)
    again = client.get(URL, headers={"if-none-match": first["ETag"]})
    assert again.status_code == 304
    assert again.content == b""

    moment += timedelta(minutes=10)
    later = client.get(URL, headers={"if-none-match": first["ETag"]})
    assert later.status_code == 200
    assert later["ETag"] != first["ETag"]


def test_only_reading_is_allowed(db, client, development):
    assert client.post(URL).status_code == 405
    assert client.head(URL).status_code == 200
