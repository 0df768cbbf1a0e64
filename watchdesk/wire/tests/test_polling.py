"""Polling sources: conditional GET, backoff, Retry-After, leases and one request at a time per host.

Outlets are a local web server (the ``web_server`` fixture) serving small feeds written here.
"""

import sqlite3
import threading
from contextlib import closing, contextmanager
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from watchdesk.testing.webserver import Reply
from watchdesk.wire.models import FetchLog, HostSlot, Item, Source
from watchdesk.wire.polling import PollSummary, backoff, claim_host, claim_source, poll_due, poll_source
from watchdesk.wire.tasks import poll_source as poll_source_task
from watchdesk.wire.tasks import poll_sources

RSS = "application/rss+xml; charset=utf-8"
LAST_MODIFIED = "Mon, 05 Aug 2024 09:00:00 GMT"


def rss(*stories, title="Sierra Valley Courier"):
    """An RSS 2.0 feed of (guid, title, description) stories."""
    items = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><title>{headline}</title>"
        f"<link>https://valleycourier.example/news/{guid}</link><description>{text}</description>"
        "<pubDate>Mon, 05 Aug 2024 08:00:00 GMT</pubDate></item>"
        for guid, headline, text in stories
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>{title}</title><link>https://valleycourier.example/</link><language>en</language>"
        f"{items}</channel></rss>"
    ).encode()


FIRE = ("fire-1", "Crews hold the Ridge Fire line", "Containment rose to 41 percent overnight.")
FLOOD = ("flood-1", "River crests below flood stage", "The Yuba crested two feet below flood stage.")
ROAD = ("road-1", "Highway 20 reopens after rockslide", "Caltrans cleared the last boulders at noon.")


def feed_reply(body, **headers):
    return Reply(200, {"Content-Type": RSS, **headers}, body)


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def outlet(web_server, source):
    """A source whose feed the local server answers at /feed.xml with two stories and validators."""
    web_server.routes["/feed.xml"] = feed_reply(
        rss(FIRE, FLOOD), ETag='"v1"', **{"Last-Modified": LAST_MODIFIED}
    )
    # Its stories are old, so adaptive polling waits the longest: 15 minutes here, as before it adapted.
    return source(url=web_server.url("/feed.xml"), name="Sierra Valley Courier", poll_max_minutes=15)


def test_first_poll_stores_the_items_and_the_sources_health(outlet, web_server, now):
    summary = poll_due(now=now)

    assert (summary.polled, summary.created, summary.failed) == (1, 2, 0)
    assert set(Item.objects.filter(source=outlet).values_list("title", flat=True)) == {FIRE[1], FLOOD[1]}
    outlet.refresh_from_db()
    assert outlet.last_status == "ok"
    assert outlet.last_error == ""
    assert outlet.consecutive_errors == 0
    assert outlet.last_fetched_at == now
    assert outlet.next_poll_at == now + timedelta(minutes=15)
    assert outlet.lease_until is None
    assert (outlet.etag, outlet.last_modified) == ('"v1"', LAST_MODIFIED)
    assert outlet.items_per_day == pytest.approx(2 / 7, abs=0.01)
    assert outlet.feed_format == "rss20"
    log = FetchLog.objects.get(source=outlet)
    assert (log.status, log.http_status, log.created, log.bytes_read) == ("ok", 200, 2, len(rss(FIRE, FLOOD)))
    # The outlet can tell who we are.
    [request] = web_server.requests
    assert request.headers["user-agent"] == settings.FETCH_USER_AGENT
    assert request.headers["user-agent"].startswith("Watchdesk/")
    assert str(summary).startswith("polled 1 sources")


def test_breaking_surges_are_checked_once_per_run_and_only_when_news_came(
    outlet, web_server, source, now, monkeypatch
):
    from watchdesk.wire import relevance

    checks = []
    monkeypatch.setattr(relevance, "flag_breaking", lambda **kwargs: checks.append(kwargs))
    web_server.routes["/other.xml"] = feed_reply(rss(ROAD))
    source(url=web_server.url("/other.xml"))

    assert poll_due(now=now).created == 3
    assert checks == [{"now": now}]  # two feeds with news, one check

    Source.objects.update(next_poll_at=None)
    assert poll_due(now=now + timedelta(minutes=1)).unchanged == 3
    assert len(checks) == 1  # nothing new: no check


def test_polling_again_asks_conditionally_and_a_304_creates_nothing(outlet, web_server, now):
    def conditional(request):
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(304, {"ETag": '"v1"'})
        return feed_reply(rss(FIRE, FLOOD), ETag='"v1"', **{"Last-Modified": LAST_MODIFIED})

    web_server.routes["/feed.xml"] = conditional
    poll_due(now=now)
    later = now + timedelta(minutes=16)

    summary = poll_due(now=later)

    assert (summary.polled, summary.not_modified, summary.created, summary.updated) == (1, 1, 0, 0)
    second = web_server.requests[1]
    assert second.headers["if-none-match"] == '"v1"'
    assert second.headers["if-modified-since"] == LAST_MODIFIED
    assert Item.objects.filter(source=outlet).count() == 2
    outlet.refresh_from_db()
    assert outlet.last_status == "not modified"
    assert outlet.next_poll_at == later + timedelta(minutes=15)
    assert outlet.etag == '"v1"'
    assert list(FetchLog.objects.filter(source=outlet).values_list("status", flat=True)) == [
        "not modified",
        "ok",
    ]


def test_changed_content_updates_items_and_never_duplicates_them(outlet, web_server, now):
    poll_due(now=now)
    retitled = (FIRE[0], "Crews hold the Ridge Fire line as winds ease", FIRE[2])
    web_server.routes["/feed.xml"] = feed_reply(rss(retitled, FLOOD, ROAD), ETag='"v2"')

    summary = poll_due(now=now + timedelta(minutes=16))

    assert summary.created == 1
    assert Item.objects.filter(source=outlet).count() == 3
    assert Item.objects.get(source=outlet, guid="fire-1").title == retitled[1]
    outlet.refresh_from_db()
    assert outlet.etag == '"v2"'


def test_a_server_error_backs_off_and_keeps_what_was_stored(outlet, web_server, now):
    poll_due(now=now)
    web_server.routes["/feed.xml"] = Reply(500, {"Content-Type": "text/plain"}, b"oops")
    first_failure = now + timedelta(minutes=16)

    summary = poll_due(now=first_failure)

    assert (summary.polled, summary.failed) == (1, 1)
    outlet.refresh_from_db()
    assert (outlet.last_status, outlet.consecutive_errors) == ("http 500", 1)
    wait = outlet.next_poll_at - first_failure
    assert timedelta(minutes=27) <= wait <= timedelta(minutes=33)  # 15 min * 2, give or take 10%
    assert Item.objects.filter(source=outlet).count() == 2
    log = FetchLog.objects.filter(source=outlet).first()
    assert (log.status, log.http_status) == ("http 500", 500)

    second_failure = outlet.next_poll_at
    poll_due(now=second_failure)
    outlet.refresh_from_db()
    assert outlet.consecutive_errors == 2
    assert timedelta(minutes=54) <= outlet.next_poll_at - second_failure <= timedelta(minutes=66)

    web_server.routes["/feed.xml"] = feed_reply(rss(FIRE, FLOOD))
    poll_due(now=outlet.next_poll_at)
    outlet.refresh_from_db()
    assert (outlet.last_status, outlet.consecutive_errors, outlet.last_error) == ("ok", 0, "")


def test_backoff_doubles_and_stops_at_a_day():
    assert timedelta(minutes=54) <= backoff(15, 2) <= timedelta(minutes=66)
    assert backoff(15, 30) <= timedelta(hours=24)
    assert backoff(15, 30) >= timedelta(hours=21)


def test_429_with_retry_after_holds_off_the_source_and_its_host(outlet, web_server, source, now):
    web_server.routes["/feed.xml"] = Reply(429, {"Retry-After": "7200"}, b"slow down")
    web_server.routes["/other.xml"] = feed_reply(rss(ROAD))
    neighbour = source(url=web_server.url("/other.xml"), next_poll_at=now + timedelta(minutes=1))

    poll_due(now=now)

    outlet.refresh_from_db()
    assert outlet.last_status == "http 429"
    assert outlet.next_poll_at >= now + timedelta(seconds=7200)
    assert "7200" in outlet.last_error
    assert HostSlot.objects.get(host="127.0.0.1").not_before == now + timedelta(seconds=7200)
    # The other feed on that host is due, but the host asked us to wait: nobody asks it anything.
    summary = poll_due(now=now + timedelta(minutes=5))
    assert summary.polled == 0
    assert web_server.hits("/other.xml") == []
    neighbour.refresh_from_db()
    assert neighbour.last_fetched_at is None
    # Once the time has come, it is polled.
    assert poll_due(now=now + timedelta(seconds=7201)).created == 1


def test_503_with_retry_after_is_honoured_too(outlet, web_server, now):
    web_server.routes["/feed.xml"] = Reply(503, {"Retry-After": "600"}, b"maintenance")

    poll_due(now=now)

    outlet.refresh_from_db()
    assert outlet.last_status == "http 503"
    assert outlet.next_poll_at >= now + timedelta(seconds=600)
    assert HostSlot.objects.get(host="127.0.0.1").not_before == now + timedelta(seconds=600)


def test_a_503_without_retry_after_backs_off_only_that_source(outlet, web_server, now):
    web_server.routes["/feed.xml"] = Reply(503, {}, b"")

    poll_due(now=now)

    assert not HostSlot.objects.filter(not_before__isnull=False).exists()
    outlet.refresh_from_db()
    assert (outlet.last_status, outlet.consecutive_errors) == ("http 503", 1)


def test_a_timeout_is_recorded_as_such(outlet, web_server, settings, now):
    settings.FETCH_TIMEOUT = 1
    web_server.routes["/feed.xml"] = Reply(200, {"Content-Type": RSS}, rss(FIRE), delay=3)

    poll_due(now=now)

    outlet.refresh_from_db()
    assert outlet.last_status == "timeout"
    assert "timed out" in outlet.last_error
    assert outlet.lease_until is None


def test_a_redirect_is_followed_and_recorded_but_the_url_kept(outlet, web_server, now):
    web_server.routes["/feed.xml"] = Reply(301, {"Location": web_server.url("/new-feed.xml")}, b"")
    web_server.routes["/new-feed.xml"] = feed_reply(rss(FIRE))

    assert poll_due(now=now).created == 1

    outlet.refresh_from_db()
    assert outlet.url == web_server.url("/feed.xml")
    log = FetchLog.objects.get(source=outlet)
    assert log.url == web_server.url("/new-feed.xml")
    assert log.detail == f"Moved to {web_server.url('/new-feed.xml')}."


def test_410_gone_disables_the_source_and_says_so(outlet, web_server, now):
    poll_due(now=now)
    web_server.routes["/feed.xml"] = Reply(410, {}, b"gone")

    poll_due(now=now + timedelta(minutes=16))

    outlet.refresh_from_db()
    assert outlet.enabled is False
    assert outlet.last_status == "http 410"
    assert "disabled" in outlet.last_error
    assert Item.objects.filter(source=outlet).count() == 2
    assert not Source.objects.due(now + timedelta(days=2)).exists()


def test_a_refused_address_is_recorded_and_never_contacted(outlet, web_server, settings, now):
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = []  # loopback is refused again

    summary = poll_due(now=now)

    assert summary.failed == 1
    assert web_server.requests == []
    outlet.refresh_from_db()
    assert outlet.last_status == "refused"
    assert outlet.last_error
    log = FetchLog.objects.get(source=outlet)
    assert (log.status, log.http_status) == ("refused", None)
    assert log.detail == outlet.last_error


def test_a_private_address_is_refused(source, now):
    intranet = source(url="http://10.0.0.1/feed.xml")

    poll_due(now=now)

    intranet.refresh_from_db()
    assert intranet.last_status == "refused"
    assert intranet.consecutive_errors == 1


def test_an_html_page_is_not_a_feed_and_loses_nothing(outlet, web_server, now):
    poll_due(now=now)
    web_server.routes["/feed.xml"] = Reply(
        200,
        {"Content-Type": "text/html", "ETag": '"html"'},
        b"<!DOCTYPE html><html><head><title>Page moved</title></head><body><p>Hello</p></body></html>",
    )

    poll_due(now=now + timedelta(minutes=16))

    outlet.refresh_from_db()
    assert outlet.last_status == "not a feed"
    assert outlet.last_error
    assert outlet.consecutive_errors == 1
    assert outlet.etag == '"v1"'  # the validators of the last good answer stay
    assert Item.objects.filter(source=outlet).count() == 2


def test_a_source_another_worker_holds_is_not_fetched(outlet, web_server, now):
    Source.objects.filter(pk=outlet.pk).update(lease_until=now + timedelta(seconds=60))

    assert poll_due(now=now).polled == 0
    assert poll_source(outlet, now=now).deferred == 1
    assert web_server.requests == []


def test_a_crashed_workers_lease_expires_and_another_takes_the_source(outlet, web_server, now):
    assert claim_source(outlet, now)  # a worker claims it, then dies without releasing it

    assert poll_due(now=now + timedelta(seconds=30)).polled == 0
    assert web_server.requests == []

    later = now + timedelta(seconds=settings.WIRE_LEASE_SECONDS + 1)
    assert poll_due(now=later).created == 2
    outlet.refresh_from_db()
    assert outlet.lease_until is None


def test_claims_are_taken_once(outlet, now):
    assert claim_source(outlet, now)
    assert not claim_source(outlet, now)
    assert claim_host("news.example.org", now)
    assert not claim_host("news.example.org", now)
    # A slot whose holder died frees itself after the lease.
    assert claim_host("news.example.org", now + timedelta(seconds=settings.WIRE_LEASE_SECONDS + 1))


def test_a_host_that_is_busy_defers_the_source_without_fetching(outlet, web_server, now):
    assert claim_host("127.0.0.1", now)  # another worker is fetching from this host right now

    summary = poll_due(now=now)

    assert (summary.polled, summary.deferred) == (0, 1)
    assert web_server.requests == []
    outlet.refresh_from_db()
    assert outlet.lease_until is None  # handed back: still due for the next run
    assert Source.objects.due(now).filter(pk=outlet.pk).exists()


def test_not_due_and_disabled_sources_wait(outlet, web_server, source, now):
    Source.objects.filter(pk=outlet.pk).update(next_poll_at=now + timedelta(minutes=5))
    source(url=web_server.url("/off.xml"), enabled=False)

    assert poll_due(now=now).polled == 0
    assert web_server.requests == []


def test_poll_source_polls_now_even_when_not_due(outlet, web_server, now):
    Source.objects.filter(pk=outlet.pk).update(next_poll_at=now + timedelta(hours=1))

    summary = poll_source(outlet, now=now)

    assert summary.created == 2
    assert len(web_server.requests) == 1


def test_the_batch_limit_and_oldest_first(web_server, source, now):
    web_server.routes["/a.xml"] = feed_reply(rss(FIRE))
    web_server.routes["/b.xml"] = feed_reply(rss(FLOOD))
    source(url=web_server.url("/a.xml"), next_poll_at=now - timedelta(minutes=1))
    source(url=web_server.url("/b.xml"), next_poll_at=now - timedelta(minutes=10))

    assert poll_due(limit=1, now=now).polled == 1

    assert [request.path for request in web_server.requests] == ["/b.xml"]


def test_a_stop_request_ends_the_run_between_sources(outlet, web_server, now):
    stop = threading.Event()
    stop.set()

    assert poll_due(now=now, stop=stop) == PollSummary()
    assert web_server.requests == []


def test_the_periodic_task_returns_the_summary_line(outlet, web_server):
    result = poll_sources.enqueue()

    assert result.return_value.startswith("polled 1 sources")
    assert Item.objects.count() == 2


def test_the_poll_source_task_takes_an_id(outlet, web_server):
    assert "created 2" in poll_source_task.enqueue(outlet.pk).return_value
    assert poll_source_task.enqueue(999_999).return_value == "no such source"


@contextmanager
def database_as_in_production(tmp_path):
    """Yield a function that points the calling thread at the test database as a production site has it.

    SQLite's test database lives in memory with a shared cache, where a connection that meets another's
    write fails at once ("database table is locked") instead of waiting its busy timeout as on a file.
    So on SQLite the committed rows are copied to a file (WAL, busy timeout, IMMEDIATE transactions).
    """
    real = connections[DEFAULT_DB_ALIAS]
    if real.vendor != "sqlite":
        yield lambda: None
        return
    path = tmp_path / "watchdesk.sqlite3"
    real.ensure_connection()
    with closing(sqlite3.connect(path)) as copy:
        real.connection.backup(copy)
    on_file = {**real.settings_dict, "NAME": str(path)}

    def use():
        connections[DEFAULT_DB_ALIAS] = real.__class__(on_file, DEFAULT_DB_ALIAS)

    try:
        use()
        yield use
    finally:
        connections[DEFAULT_DB_ALIAS].close()
        connections[DEFAULT_DB_ALIAS] = real


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_ask_one_host_one_thing_at_a_time(web_server, source, tmp_path):
    slow = Reply(200, {"Content-Type": RSS}, rss(FIRE), delay=0.3)
    web_server.routes["/a.xml"] = slow
    web_server.routes["/b.xml"] = Reply(200, {"Content-Type": RSS}, rss(FLOOD), delay=0.3)
    first = source(url=web_server.url("/a.xml"))
    second = source(url=web_server.url("/b.xml"))
    results, errors = [], []

    with database_as_in_production(tmp_path) as use_database:

        def worker():
            use_database()
            try:
                results.append(poll_due())
            except Exception as error:  # surfaced below: a thread's exception would vanish otherwise
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        # join() returns at its timeout too: a worker still polling would make the counts below a race.
        assert not any(thread.is_alive() for thread in threads), "a worker was still polling after 30 s"
        assert errors == []
        assert web_server.most_active == 1
        # Each feed was fetched at most once; whatever a busy host deferred is still due.
        assert len(web_server.hits("/a.xml")) <= 1 and len(web_server.hits("/b.xml")) <= 1
        poll_due()
        assert len(web_server.hits("/a.xml")) == 1 and len(web_server.hits("/b.xml")) == 1
        assert Item.objects.filter(source__in=[first, second]).count() == 2
