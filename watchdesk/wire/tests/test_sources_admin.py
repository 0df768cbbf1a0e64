"""Sources in the admin: the list with health and filters, the form with its feed URL check, a source's
page with its fetches and skipped entries, and "Poll now" (which fetches nothing itself)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from watchdesk.wire.models import FetchLog, SkippedEntry, Source

pytestmark = pytest.mark.django_db

INDEX = reverse("sources:index")


def form_data(**values):
    return {
        "name": "Sierra Valley Courier",
        "language": "en",
        "url": "https://www.valleycourier.example/feed.xml",
        "site_url": "",
        "home_region": "",
        "trust": "70",
        "poll_minutes": "15",
        "enabled": "on",
        **values,
    }


@pytest.fixture
def editor_client(client, home, editor):
    client.force_login(editor)
    return client


def test_the_list_shows_each_sources_health(editor_client, source):
    source(
        name="Harbor Gazette",
        last_fetched_at=timezone.now() - timedelta(minutes=5),
        last_status="ok",
        items_per_day=12.25,
    )
    source(name="Broken Feed", last_status="http 503", consecutive_errors=4)
    html = editor_client.get(INDEX).content.decode()
    assert "Harbor Gazette" in html and "Broken Feed" in html
    assert "5\xa0minutes ago" in html or "5 minutes ago" in html
    assert "http 503" in html and ">4<" in html.replace(" ", "").replace("\n", "")
    assert "12.2" in html or "12.3" in html


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"enabled": "false"}, ["Paused Feed"]),
        ({"failing": "true"}, ["Broken Feed"]),
        ({"failing": "false", "enabled": "true"}, ["Good Feed"]),
    ],
)
def test_filters_for_enabled_and_failing_sources(editor_client, source, query, expected):
    source(name="Good Feed")
    source(name="Broken Feed", consecutive_errors=2)
    source(name="Paused Feed", enabled=False)
    html = editor_client.get(INDEX, query).content.decode()
    shown = [name for name in ("Good Feed", "Broken Feed", "Paused Feed") if name in html]
    assert shown == expected


def test_an_editor_adds_a_source(editor_client):
    response = editor_client.post(reverse("sources:add"), form_data())
    assert response.status_code == 302
    made = Source.objects.get()
    assert (made.name, made.url, made.host, made.trust, made.enabled) == (
        "Sierra Valley Courier",
        "https://www.valleycourier.example/feed.xml",
        "www.valleycourier.example",
        70,
        True,
    )


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://127.0.0.1/feed.xml", "cannot be fetched"),
        ("http://10.1.2.3/feed.xml", "cannot be fetched"),
        ("http://169.254.169.254/latest/", "cannot be fetched"),
        ("https://news.example.org:8443/feed.xml", "cannot be fetched"),
        ("ftp://news.example.org/feed.xml", "cannot be fetched"),
    ],
)
def test_a_feed_url_the_fetcher_would_refuse_is_a_field_error(editor_client, url, reason):
    response = editor_client.post(reverse("sources:add"), form_data(url=url))
    assert response.status_code == 200
    assert reason in response.content.decode()
    assert not Source.objects.exists()


def test_polling_more_often_than_every_five_minutes_is_refused(editor_client):
    response = editor_client.post(reverse("sources:add"), form_data(poll_minutes="1"))
    assert "Poll at most every 5 minutes" in response.content.decode()
    assert not Source.objects.exists()


def test_editing_keeps_the_url_check(editor_client, source):
    feed = source(name="Harbor Gazette")
    response = editor_client.post(
        reverse("sources:edit", args=[feed.pk]), form_data(url="http://192.168.1.1/rss")
    )
    assert "cannot be fetched" in response.content.decode()
    feed.refresh_from_db()
    assert feed.url.startswith("https://")


def test_a_sources_page_shows_its_health_fetches_and_skipped_entries(editor_client, source):
    feed = source(
        name="Harbor Gazette", last_status="http 503", consecutive_errors=2, last_error="Service down"
    )
    FetchLog.objects.create(
        source=feed, url=feed.url, status="http 503", http_status=503, detail="Service down"
    )
    FetchLog.objects.create(
        source=feed,
        url=feed.url,
        status="ok",
        http_status=200,
        bytes_read=2048,
        created=3,
        started_at=timezone.now() - timedelta(hours=1),
    )
    SkippedEntry.objects.create(source=feed, guid="urn:x:1", reason="no title")
    html = editor_client.get(reverse("sources:inspect", args=[feed.pk])).content.decode()
    assert "Failing" in html and "2 errors in a row" in html
    assert "http 503" in html and "Service down" in html and "2,048" in html
    assert "urn:x:1" in html and "no title" in html
    assert "Poll now" in html


def test_poll_now_only_moves_the_next_poll_to_now(editor_client, source, web_server):
    feed = source(url=web_server.url("/feed.xml"), next_poll_at=timezone.now() + timedelta(hours=2))
    response = editor_client.post(reverse("sources:poll", args=[feed.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("sources:inspect", args=[feed.pk])
    feed.refresh_from_db()
    assert abs(feed.next_poll_at - timezone.now()) < timedelta(minutes=1)
    assert feed in Source.objects.due()
    assert web_server.requests == []  # the worker fetches, not the web request
    assert editor_client.get(reverse("sources:poll", args=[feed.pk])).status_code == 405


def test_poll_now_warns_when_the_source_is_disabled(editor_client, source):
    feed = source(enabled=False)
    response = editor_client.post(reverse("sources:poll", args=[feed.pk]), follow=True)
    assert "is disabled" in response.content.decode()


def test_editors_cannot_delete_sources_but_moderators_can(client, home, editor, moderator, source):
    feed = source(name="Doomed Feed")
    client.force_login(editor)
    assert client.get(reverse("sources:delete", args=[feed.pk])).status_code == 302
    client.post(reverse("sources:delete", args=[feed.pk]))
    assert Source.objects.filter(pk=feed.pk).exists()
    client.force_login(moderator)
    client.post(reverse("sources:delete", args=[feed.pk]))
    assert not Source.objects.filter(pk=feed.pk).exists()


def test_outsiders_see_no_sources(client, home, outsider, source):
    feed = source(name="Private Feed")
    client.force_login(outsider)
    assert "Private Feed" not in client.get(INDEX).content.decode()
    client.post(reverse("sources:poll", args=[feed.pk]))
    feed.refresh_from_db()
    assert feed.next_poll_at is None
