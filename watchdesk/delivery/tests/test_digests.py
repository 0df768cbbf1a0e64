"""Daily and weekly digests: once per subscriber and period, only what is new and in scope."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from watchdesk.delivery import broadcasts, sender
from watchdesk.delivery.models import Delivery, Digest
from watchdesk.subscriptions.models import SubscriptionSettings


@pytest.fixture
def digest_time(db, settings):
    settings.TIME_ZONE = "America/Chicago"
    options = SubscriptionSettings.load()
    options.digest_time = time(7, 0)
    options.weekly_digest_day = 0  # Monday
    options.save()
    return options


def at(day, hour, minute=0):
    """A moment in November 2026, local (Chicago, UTC-6) time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) + timedelta(hours=6)


def test_nothing_is_due_before_the_reader_s_local_time(digest_time, subscriber):
    subscriber(cadence="daily", last_digest_at=at(23, 7))
    subscriber(cadence="weekly", last_digest_at=at(23, 7))
    assert broadcasts.due_digests(at(24, 6, 59)) == []
    assert broadcasts.due_digests(at(24, 7, 0)) == [("daily", at(24, 7))]
    # Monday 30 November: the weekly digest as well.
    assert broadcasts.due_digests(at(30, 9)) == [("daily", at(24, 7)), ("weekly", at(30, 7))]


def test_a_daily_digest_lists_the_new_posts_in_scope_once(
    digest_time, make_post, topics, regions, subscriber, mail_server
):
    reader = subscriber(
        "daily@example.net", cadence="daily", topics=[topics["wildfire"]], last_digest_at=at(23, 7)
    )
    subscriber("instant@example.net")
    make_post("Old fire", topics=[topics["wildfire"]], published=at(23, 6))
    make_post("Canyon fire grows", topics=[topics["wildfire"]], published=at(23, 15))
    make_post("Tanker overturns", topics=[topics["hazmat"]], published=at(23, 16))
    make_post("Evening fire", topics=[topics["wildfire"]], published=at(24, 6, 30))
    make_post("After the digest", topics=[topics["wildfire"]], published=at(24, 7, 30))

    assert [d.key for d in broadcasts.plan_digests(at(24, 7, 1))] == ["daily:2026-11-24T13:00Z"]
    assert sender.send_pending() == {"sent": 1}
    [message] = mail_server.to("daily@example.net")
    assert "daily digest, 2 new posts" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "Canyon fire grows" in text and "Evening fire" in text
    assert "Old fire" not in text and "Tanker overturns" not in text and "After the digest" not in text
    assert message["List-Unsubscribe"] == f"<{reader.unsubscribe_url()}>"

    # A rerun (or a second worker) later that day sends nothing more.
    assert broadcasts.plan_digests(at(24, 9)) == []
    assert sender.send_pending() == {}
    assert Digest.objects.count() == 1
    assert Delivery.objects.filter(kind="digest").count() == 1

    # The next day's digest starts where this one ended.
    broadcasts.plan_digests(at(25, 7))
    assert sender.send_pending() == {"sent": 1}
    text = mail_server.to("daily@example.net")[1].get_body(("plain",)).get_content()
    assert "After the digest" in text and "Canyon fire grows" not in text


def test_no_digest_when_nothing_is_new(digest_time, make_post, subscriber, mail_server):
    reader = subscriber("quiet@example.net", cadence="daily", last_digest_at=at(23, 7))
    broadcasts.plan_digests(at(24, 7))
    assert sender.send_pending() == {"skipped": 1}
    assert mail_server.messages == []
    reader.refresh_from_db()
    assert reader.last_digest_at == at(24, 7)


def test_weekly_digest_goes_out_on_its_day_only(digest_time, make_post, subscriber, mail_server):
    subscriber("weekly@example.net", cadence="weekly", last_digest_at=at(23, 7))
    make_post("Week's story", published=at(25, 12))
    broadcasts.plan_digests(at(29, 8))  # Sunday
    assert sender.send_pending() == {}
    broadcasts.plan_digests(at(30, 8))  # Monday
    assert sender.send_pending() == {"sent": 1}
    [message] = mail_server.to("weekly@example.net")
    assert "weekly digest, 1 new post" in message["Subject"]


def test_a_crash_mid_digest_never_sends_a_period_twice(
    digest_time, make_post, subscriber, mail_server, settings
):
    for n in range(5):
        subscriber(f"d{n}@example.net", cadence="daily", last_digest_at=at(23, 7))
    make_post("Story", published=at(23, 20))
    broadcasts.plan_digests(at(24, 7))
    # A worker sends two, then dies holding the lease of the rest.
    rows = sender.claim(limit=2)
    from watchdesk.delivery.transport import open_transport

    sender.send_batch(rows, open_transport())
    sender.claim(limit=3)
    # A second planner run and the sweep after the lease expired.
    broadcasts.plan_digests(at(24, 8))
    sender.sweep(now=timezone.now() + timedelta(seconds=settings.EMAIL_LEASE_SECONDS + 1))
    sender.send_pending()
    assert sorted(mail_server.recipients()) == [f"d{n}@example.net" for n in range(5)]


def test_a_digest_leaves_out_posts_published_without_e_mail(
    digest_time, make_post, topics, subscriber, mail_server
):
    reader = subscriber("daily@example.net", cadence="daily", last_digest_at=at(23, 7))
    make_post("Mailed story", published=at(23, 15))
    make_post("Site-only correction", published=at(23, 16), notify_subscribers=False)

    digest, *_ = broadcasts.plan_digests(at(24, 7, 1))
    assert [post.title for post in broadcasts.digest_posts(reader, digest)] == ["Mailed story"]
    assert sender.send_pending() == {"sent": 1}
    [message] = mail_server.to("daily@example.net")
    text = message.get_body(("plain",)).get_content()
    assert "daily digest, 1 new post" in message["Subject"]
    assert "Mailed story" in text and "Site-only correction" not in text
