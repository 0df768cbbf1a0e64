"""Unconfirmed addresses are forgotten after a token's lifetime, answered form submissions after a day;
confirmed subscribers never are."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from watchdesk.core import ratelimit
from watchdesk.core.models import RateCounter
from watchdesk.core.scheduler import tick
from watchdesk.subscriptions.models import ConfirmationToken, Subscriber
from watchdesk.subscriptions.tasks import purge_answered, purge_unconfirmed


@pytest.mark.django_db
def test_unconfirmed_subscribers_are_purged_after_seven_days(subscriber):
    now = timezone.now()
    old = subscriber("old@example.net", status="pending", created_at=now - timedelta(days=8))
    ConfirmationToken.objects.create(subscriber=old, digest="a" * 64, created_at=now - timedelta(days=8))
    subscriber("recent@example.net", status="pending", created_at=now - timedelta(days=6))
    # Asked for a new link two days ago: its clock started again.
    again = subscriber("again@example.net", status="pending", created_at=now - timedelta(days=20))
    ConfirmationToken.objects.create(subscriber=again, digest="b" * 64, created_at=now - timedelta(days=2))
    subscriber("confirmed@example.net", created_at=now - timedelta(days=400))
    subscriber("left@example.net", status="unsubscribed", created_at=now - timedelta(days=400))

    assert purge_unconfirmed(now) == 1
    assert sorted(Subscriber.objects.values_list("email", flat=True)) == [
        "again@example.net",
        "confirmed@example.net",
        "left@example.net",
        "recent@example.net",
    ]
    assert not ConfirmationToken.objects.filter(digest="a" * 64).exists()


@pytest.mark.django_db
def test_old_rate_limit_counters_are_forgotten():
    long_ago = timezone.now() - timedelta(days=3)
    assert ratelimit.hit("subscribe-ip:192.0.2.1", limit=5, window=3600, now=long_ago)
    assert ratelimit.hit("subscribe-ip:192.0.2.2", limit=5, window=3600)
    assert ratelimit.purge() == 1
    assert RateCounter.objects.count() == 1


@pytest.mark.django_db
def test_the_worker_schedules_purge_sweep_and_digests():
    assert {"purge_subscriptions", "send_mail", "digests"} <= set(tick())


@pytest.mark.django_db
def test_answered_submissions_are_forgotten_after_a_day(client, home, database_queue):
    for email in ("old@example.net", "recent@example.net", "waiting@example.net"):
        client.post("/subscribe/", {"email": email})
    rows = {row.args_kwargs["args"][1]["email"][0]: row for row in DBTaskResult.objects.all()}
    for email, age in (("old@example.net", 25), ("recent@example.net", 2)):
        rows[email].status = "SUCCESSFUL"
        rows[email].finished_at = timezone.now() - timedelta(hours=age)
        rows[email].save()

    assert purge_answered() == 1
    left = {row.args_kwargs["args"][1]["email"][0] for row in DBTaskResult.objects.all()}
    assert left == {"recent@example.net", "waiting@example.net"}  # an unanswered one is never dropped
