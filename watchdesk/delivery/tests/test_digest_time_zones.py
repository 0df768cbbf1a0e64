"""Digests reach each reader at their own local hour: across time zones, odd offsets and daylight saving,
once per local day however often the tick runs or the reader moves their hour."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction

from watchdesk.delivery import broadcasts, sender
from watchdesk.delivery.models import Broadcast, Delivery, Digest
from watchdesk.subscriptions.forms import PreferencesForm

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def tick_through(start, end, step=timedelta(minutes=15)):
    """Run the planner every ``step`` (a quarter hour matches every offset in the tz database)."""
    now = start
    while now <= end:
        broadcasts.plan_digests(now)
        now += step


def sent_local(reader):
    """The local sending times of the digests planned for ``reader``, oldest first."""
    zone = ZoneInfo(reader.time_zone)
    instants = Delivery.objects.filter(subscriber=reader, kind="digest").values_list(
        "digest__period_end", flat=True
    )
    return [instant.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") for instant in sorted(instants)]


def reader_at(subscriber, zone, hour, since, cadence="daily", **fields):
    return subscriber(
        cadence=cadence, time_zone=zone, digest_hour=hour, last_digest_at=since, confirmed_at=since, **fields
    )


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # Spring forward on 8 March 2026, fall back on 1 November 2026: 07:00 local on both sides.
        (7, ["2026-03-07 07:00 EST", "2026-03-08 07:00 EDT", "2026-03-09 07:00 EDT"]),
        (None, ["2026-10-31 07:00 EDT", "2026-11-01 07:00 EST", "2026-11-02 07:00 EST"]),
    ],
)
def test_a_new_york_reader_gets_digests_at_seven_local_across_daylight_saving(subscriber, day, expected):
    start = utc(2026, 3, 7, 0) if day else utc(2026, 10, 31, 0)
    reader = reader_at(subscriber, "America/New_York", 7, start)
    tick_through(start, start + timedelta(days=3) - timedelta(minutes=15))
    assert sent_local(reader) == expected


def test_a_skipped_or_repeated_local_hour_still_gets_exactly_one_digest_that_day(subscriber):
    # 02:00 does not exist on 8 March in New York: sent at 03:00 EDT, the same moment 02:00 EST would be.
    spring = reader_at(subscriber, "America/New_York", 2, utc(2026, 3, 7, 0))
    tick_through(utc(2026, 3, 7, 0), utc(2026, 3, 9, 23, 45))
    assert sent_local(spring) == ["2026-03-07 02:00 EST", "2026-03-08 03:00 EDT", "2026-03-09 02:00 EDT"]

    # 01:00 happens twice on 1 November: sent at the first.
    autumn = reader_at(subscriber, "America/New_York", 1, utc(2026, 10, 31, 0))
    tick_through(utc(2026, 10, 31, 0), utc(2026, 11, 2, 23, 45))
    assert sent_local(autumn) == ["2026-10-31 01:00 EDT", "2026-11-01 01:00 EDT", "2026-11-02 01:00 EST"]


def test_half_and_three_quarter_hour_offsets(subscriber):
    kolkata = reader_at(subscriber, "Asia/Kolkata", 7, utc(2026, 4, 2, 0))
    # The Chatham Islands leave daylight saving (+13:45 -> +12:45) on 5 April 2026.
    chatham = reader_at(subscriber, "Pacific/Chatham", 7, utc(2026, 4, 2, 0))
    tick_through(utc(2026, 4, 2, 0), utc(2026, 4, 5, 23, 45))

    assert sent_local(kolkata) == [f"2026-04-0{d} 07:00 IST" for d in (2, 3, 4, 5)]
    assert sent_local(chatham) == [
        "2026-04-03 07:00 +1345",
        "2026-04-04 07:00 +1345",
        "2026-04-05 07:00 +1245",
        "2026-04-06 07:00 +1245",
    ]
    keys = set(Digest.objects.values_list("key", flat=True))
    assert {"daily:2026-04-02T01:30Z", "daily:2026-04-03T17:15Z", "daily:2026-04-05T18:15Z"} <= keys


def test_readers_whose_hours_meet_share_one_digest(subscriber):
    since = utc(2026, 12, 3, 18)
    new_york = reader_at(subscriber, "America/New_York", 7, since)
    london = reader_at(subscriber, "Europe/London", 12, since)
    tokyo = reader_at(subscriber, "Asia/Tokyo", 21, since)
    kiritimati = reader_at(subscriber, "Pacific/Kiritimati", 2, since)
    tick_through(since, utc(2026, 12, 4, 12, 30))

    digest = Digest.objects.get()
    assert (digest.key, digest.period_end, digest.recipients) == (
        "daily:2026-12-04T12:00Z",
        utc(2026, 12, 4, 12),
        4,
    )
    periods = dict(Delivery.objects.values_list("subscriber_id", "period"))
    # Each reader's own date: 12:00 UTC is already 02:00 on 5 December in Kiritimati (UTC+14).
    assert periods == {
        new_york.pk: "daily:2026-12-04",
        london.pk: "daily:2026-12-04",
        tokyo.pk: "daily:2026-12-04",
        kiritimati.pk: "daily:2026-12-05",
    }


def test_weekly_digests_come_on_the_reader_s_own_weekday(subscriber):
    since = utc(2026, 11, 28, 0)  # a Saturday
    tokyo = reader_at(subscriber, "Asia/Tokyo", 8, since, cadence="weekly", weekly_digest_day=0)
    los_angeles = reader_at(
        subscriber, "America/Los_Angeles", 8, since, cadence="weekly", weekly_digest_day=0
    )
    kolkata = reader_at(subscriber, "Asia/Kolkata", 18, since, cadence="weekly", weekly_digest_day=4)
    tick_through(since, utc(2026, 12, 12, 0), step=timedelta(minutes=30))

    # Monday 08:00 in Tokyo is Sunday 23:00 UTC; in Los Angeles, Monday 16:00 UTC.
    assert sent_local(tokyo) == ["2026-11-30 08:00 JST", "2026-12-07 08:00 JST"]
    assert sent_local(los_angeles) == ["2026-11-30 08:00 PST", "2026-12-07 08:00 PST"]
    assert sent_local(kolkata) == ["2026-12-04 18:00 IST", "2026-12-11 18:00 IST"]
    assert broadcasts.due_digests(utc(2026, 12, 12, 0)) == []
    assert Digest.objects.get(key="weekly:2026-11-29T23:00Z").period_end == utc(2026, 11, 29, 23)
    assert set(Delivery.objects.filter(subscriber=tokyo).values_list("period", flat=True)) == {
        "weekly:2026-W49",
        "weekly:2026-W50",
    }


def test_moving_zone_or_hour_never_sends_two_digests_in_one_day(subscriber, make_post, mail_server):
    since = utc(2026, 12, 3, 12)
    reader = reader_at(subscriber, "America/New_York", 7, since, email="mover@example.net")
    make_post("Morning story", published=utc(2026, 12, 4, 1))
    tick_through(utc(2026, 12, 4, 11), utc(2026, 12, 4, 12))
    assert sender.send_pending() == {"sent": 1}

    # After 07:00 in New York the reader moves to Los Angeles, still 07:00: 15:00 UTC the same day there.
    make_post("Midday story", published=utc(2026, 12, 4, 13))
    reader.refresh_from_db()
    form = PreferencesForm(
        {
            "name": "",
            "scope": "everything",
            "cadence": "daily",
            "time_zone": "America/Los_Angeles",
            "digest_hour": "7",
            "weekly_digest_day": "0",
        },
        subscriber=reader,
    )
    assert form.is_valid(), form.errors
    form.save()
    reader.refresh_from_db()
    assert reader.next_digest_at == utc(2026, 12, 4, 15)
    tick_through(utc(2026, 12, 4, 12, 15), utc(2026, 12, 4, 16))
    # Due, but 4 December has had its digest: the ledger takes no second one, and the reader moves on.
    assert Delivery.objects.filter(subscriber=reader).count() == 1
    reader.refresh_from_db()
    assert reader.next_digest_at == utc(2026, 12, 5, 15)

    # The next day's digest, at 07:00 in Los Angeles, carries what the skipped one would have.
    tick_through(utc(2026, 12, 5, 14, 45), utc(2026, 12, 5, 15))
    assert sender.send_pending() == {"sent": 1}
    second = mail_server.to("mover@example.net")[1].get_body(("plain",)).get_content()
    assert "Midday story" in second and "Morning story" not in second
    assert sent_local(reader) == ["2026-12-04 04:00 PST", "2026-12-05 07:00 PST"]


def test_the_ledger_itself_refuses_a_second_digest_in_a_reader_s_day(subscriber):
    reader = subscriber(cadence="daily")
    first, second = (
        Digest.objects.create(
            cadence="daily", key=f"daily:2026-12-04T{h}:00Z", period_end=utc(2026, 12, 4, h)
        )
        for h in (12, 15)
    )
    Delivery.objects.create(kind="digest", subscriber=reader, digest=first, period="daily:2026-12-04")
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(kind="digest", subscriber=reader, digest=second, period="daily:2026-12-04")


def test_paused_readers_move_on_without_a_backlog_digest(subscriber):
    since = utc(2026, 12, 3, 12)
    reader = reader_at(subscriber, "America/New_York", 7, since, paused=True)
    tick_through(since, utc(2026, 12, 5, 13))
    assert not Delivery.objects.filter(subscriber=reader).exists()
    reader.refresh_from_db()
    assert reader.next_digest_at == utc(2026, 12, 6, 12)
    reader.paused = False
    reader.save(update_fields=["paused"])
    assert broadcasts.due_digests(utc(2026, 12, 5, 20)) == []


def test_a_late_tick_sends_once_then_returns_to_the_reader_s_hour(subscriber):
    reader = reader_at(subscriber, "America/New_York", 7, utc(2026, 12, 1, 12))
    # The worker was down for three days.
    broadcasts.plan_digests(utc(2026, 12, 5, 9))
    broadcasts.plan_digests(utc(2026, 12, 5, 9, 1))
    assert sent_local(reader) == ["2026-12-02 07:00 EST"]
    reader.refresh_from_db()
    assert reader.next_digest_at == utc(2026, 12, 5, 12)


@pytest.mark.parametrize("per_schedule", [1, 8])
def test_a_tick_costs_the_same_few_queries_however_many_readers(
    subscriber, per_schedule, django_assert_num_queries
):
    since = utc(2026, 12, 3, 18)
    for _ in range(per_schedule):
        reader_at(subscriber, "America/New_York", 7, since)
        reader_at(subscriber, "Europe/London", 12, since)
        reader_at(subscriber, "Asia/Kolkata", 17, since, cadence="weekly", weekly_digest_day=4)

    with django_assert_num_queries(1):
        assert broadcasts.plan_digests(utc(2026, 12, 4, 11, 29)) == []
    # Weekly at 11:30 UTC (Kolkata 17:00, a Friday) and daily at 12:00 UTC (New York 07:00, London 12:00).
    with django_assert_num_queries(PER_TICK):
        assert [d.key for d in broadcasts.plan_digests(utc(2026, 12, 4, 12, 1))] == [
            "weekly:2026-12-04T11:30Z",
            "daily:2026-12-04T12:00Z",
        ]
    assert Delivery.objects.count() == 3 * per_schedule
    assert broadcasts.due_digests(utc(2026, 12, 4, 12, 1)) == []


# The due digests (1); for each: get_or_create (select, savepoint, insert, release), its rows (select,
# insert, the empty select that ends the loop), the schedules to move (1), one update per schedule, the
# recipient count (1) and the digest's update (1).
PER_TICK = 1 + (4 + 3 + 1 + 1 + 1 + 1) + (4 + 3 + 1 + 2 + 1 + 1)


def test_e_mails_give_times_in_the_reader_s_zone(subscriber, make_post, mail_server, settings):
    settings.TIME_ZONE = "America/Chicago"
    since = utc(2026, 12, 4, 2)  # just after the 4 December digest in Kolkata
    reader_at(subscriber, "Asia/Kolkata", 7, since, email="kolkata@example.net")
    subscriber("instant-ny@example.net", time_zone="America/New_York")
    subscriber("instant-in@example.net", time_zone="Asia/Kolkata")
    post = make_post("Plant fire", published=utc(2026, 12, 4, 18, 5))
    broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post))
    assert sender.send_pending() == {"sent": 2}

    def parts(address, index=0):
        message = mail_server.to(address)[index]
        return message.get_body(("plain",)).get_content() + message.get_body(("html",)).get_content()

    assert parts("instant-ny@example.net").count("Dec 4, 2026, 1:05 PM EST") == 2
    assert parts("instant-in@example.net").count("Dec 4, 2026, 11:35 PM IST") == 2
    assert "CST" not in parts("instant-ny@example.net") + parts("instant-in@example.net")

    broadcasts.plan_digests(utc(2026, 12, 5, 1, 31))
    assert sender.send_pending() == {"sent": 1}
    assert parts("kolkata@example.net").count("Dec 4, 2026, 11:35 PM IST") == 2
