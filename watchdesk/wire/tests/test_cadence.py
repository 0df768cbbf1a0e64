"""Adaptive polling: the wait before a source's next poll, from what it published lately."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.urls import reverse

from watchdesk.testing.webserver import Reply
from watchdesk.wire.cadence import max_age, next_interval, server_floor
from watchdesk.wire.models import Source
from watchdesk.wire.polling import poll_source

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
BOUNDS = {"usual": 15 * MIN, "shortest": 5 * MIN, "longest": 60 * MIN}


def ago(*minutes):
    return [NOW - m * MIN for m in minutes]


def wait(published, **overrides):
    return next_interval(published, now=NOW, **{**BOUNDS, **overrides})


def test_a_source_with_no_items_yet_is_polled_at_its_usual_interval():
    plan = wait([])
    assert plan.interval == 15 * MIN
    assert plan.reason == "no items yet: the usual interval"


def test_a_burst_polls_at_the_shortest_wait():
    plan = wait(ago(2, 9, 17, 30, 44, 58))  # six in the last hour: one every 10 minutes
    assert plan.interval == 5 * MIN
    assert plan.reason == "publishing: 6 items in the last hour, 6 in the last day"


def test_a_steady_source_is_polled_twice_per_expected_item():
    # 48 items a day, one every 30 minutes: every 15 minutes.
    plan = wait(ago(*range(10, 24 * 60, 30)))
    assert plan.interval == 15 * MIN


def test_a_source_quiet_for_a_day_waits_the_longest():
    plan = wait([NOW - timedelta(days=3)])
    assert plan.interval == 60 * MIN
    assert plan.reason == "quiet: nothing published in the last day"


def test_a_busy_source_gone_silent_waits_longer_with_the_silence():
    # One item every 10 minutes all day, then nothing for 70 minutes.
    plan = wait(ago(*range(70, 24 * 60, 10)))
    assert plan.interval == 35 * MIN  # half the silence, not the busy day's 5 minutes
    assert plan.reason == "quieter: nothing new for 70 min"
    assert wait(ago(*range(10, 24 * 60, 10))).interval == 5 * MIN  # still publishing


def test_the_waits_never_leave_the_sources_bounds():
    assert wait(ago(*range(1, 60)), shortest=2 * MIN).interval == 2 * MIN
    assert wait([NOW - timedelta(hours=20)], longest=4 * 60 * MIN).interval == 4 * 60 * MIN
    # A shortest wait above the longest counts as the longest.
    assert wait(ago(1, 2, 3), shortest=90 * MIN, longest=30 * MIN).interval == 30 * MIN
    # Dates in the future (a wrong clock at the outlet) are left out.
    assert wait([NOW + timedelta(hours=2)]).interval == 15 * MIN


def test_the_server_sets_a_floor():
    plan = wait(ago(1, 2, 3, 4, 5, 6), floor=20 * MIN)
    assert plan.interval == 20 * MIN
    assert plan.reason.endswith("the server asked us to wait 20 min")
    assert wait(ago(1, 2, 3), floor=MIN).interval == 10 * MIN  # a floor below the wait changes nothing


def test_a_pushed_source_gets_a_rare_safety_net_poll_whatever_it_publishes():
    plan = wait(ago(1, 2, 3, 4), push_interval=180 * MIN)
    assert plan.interval == 180 * MIN
    assert plan.reason == "updates pushed by the hub: a safety-net poll"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("max-age=600", 600),
        ("public, max-age=1800, must-revalidate", 1800),
        ('s-maxage="90"', None),  # s-maxage is for shared caches; we are not one
        ("no-cache", None),
        ("", None),
        ("max-age=abc", None),
    ],
)
def test_max_age_is_read_from_cache_control(header, seconds):
    assert max_age(header) == seconds


def test_max_age_is_a_floor_only_up_to_the_longest_wait_and_retry_after_in_full():
    assert server_floor(httpx.Headers({"Cache-Control": "max-age=600"}), 60 * MIN) == 10 * MIN
    assert server_floor(httpx.Headers({"Cache-Control": "max-age=86400"}), 60 * MIN) == 60 * MIN
    assert server_floor(httpx.Headers({"Retry-After": "7200"}), 60 * MIN) == 120 * MIN
    assert server_floor(httpx.Headers({}), 60 * MIN) == timedelta(0)


# Through a real poll -----------------------------------------------------------------------------------


def feed(*minutes_ago):
    now = datetime.now(UTC)
    items = "".join(
        f"<item><guid>story-{m}</guid><title>Story {m}</title><link>https://courier.example/{m}</link>"
        f"<pubDate>{(now - m * MIN).strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate></item>"
        for m in minutes_ago
    )
    return f"<rss version='2.0'><channel><title>Courier</title>{items}</channel></rss>".encode()


def test_a_busy_feed_is_polled_sooner_and_a_cache_lifetime_is_honoured(web_server, source):
    web_server.routes["/busy.xml"] = Reply(
        200, {"Content-Type": "application/rss+xml"}, feed(3, 11, 19, 26, 40)
    )
    web_server.routes["/cached.xml"] = Reply(
        200, {"Content-Type": "application/rss+xml", "Cache-Control": "max-age=1200"}, feed(3, 11, 19, 26, 40)
    )
    busy = source(url=web_server.url("/busy.xml"), poll_min_minutes=2)
    cached = source(url=web_server.url("/cached.xml"), poll_min_minutes=2)
    now = datetime.now(UTC)

    poll_source(busy, now=now)
    poll_source(cached, now=now)

    busy.refresh_from_db()
    cached.refresh_from_db()
    assert busy.next_poll_at == now + 6 * MIN  # five in the last hour: every 12 minutes, twice
    assert busy.poll_note == "publishing: 5 items in the last hour, 5 in the last day"
    assert cached.next_poll_at == now + 20 * MIN
    assert "the server asked us to wait 20 min" in cached.poll_note


@pytest.mark.django_db
def test_the_source_form_keeps_the_bounds_in_order(client, home, editor):
    client.force_login(editor)
    form = {"name": "Courier", "url": "https://courier.example/feed.xml", "trust": "50", "enabled": "on"}
    form["poll_minutes"] = "15"
    refused = client.post(reverse("sources:add"), {**form, "poll_min_minutes": "30", "poll_max_minutes": "9"})
    assert "The longest wait cannot be shorter than the shortest." in refused.content.decode()
    zero = client.post(reverse("sources:add"), {**form, "poll_min_minutes": "0"})
    assert "The shortest wait is at least 1 minute" in zero.content.decode()
    assert not Source.objects.exists()

    client.post(reverse("sources:add"), {**form, "poll_min_minutes": "2", "poll_max_minutes": "240"})
    saved = Source.objects.get()
    assert saved.poll_bounds() == (2 * MIN, 240 * MIN)
