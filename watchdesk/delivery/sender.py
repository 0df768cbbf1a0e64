"""The sender: claim ledger rows with a lease, check each is still wanted, send, record the outcome.

What happens in each case:
- The server accepts a message: its row is marked ``sent`` at once, in its own statement, so a worker
  killed a moment later can duplicate at most the message in flight.
- The worker dies holding a lease: ``sweep`` hands the rows back after ``EMAIL_LEASE_SECONDS``.
- A transient failure (connection refused or lost, timeout, 4xx): the row is retried after
  ``EMAIL_RETRY_SECONDS`` x 2^(tries-1) (at most six hours); after ``EMAIL_MAX_ATTEMPTS`` tries it is
  parked as ``failed`` with the error. A lost connection hands the rest of the batch back untouched.
- A permanent failure (5xx for the recipient): the row is ``bounced`` and the address suppressed.
- The reader unsubscribed, paused, was suppressed or changed scope since the row was written: ``skipped``.
"""

import functools
import logging
import time
import uuid
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from watchdesk.delivery import messages
from watchdesk.delivery.broadcasts import digest_posts, digest_updates, fan_out_broadcast, fan_out_digest
from watchdesk.delivery.models import Broadcast, Delivery, Digest
from watchdesk.delivery.transport import PermanentError, TransientError, open_transport
from watchdesk.subscriptions.models import ConfirmationToken, Subscriber, Suppression

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)


def claim(limit=None, now=None):
    """Lease up to ``limit`` due rows to this caller. Returns them, or [] when none are due.

    The lease is a conditional UPDATE (``status='pending'``): with several workers each row goes to one.
    """
    now = now or timezone.now()
    limit = limit or settings.EMAIL_BATCH_SIZE
    owner = uuid.uuid4().hex
    for _ in range(5):
        ids = list(
            Delivery.objects.claimable(now)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        leased = Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.SENDING,
            lease_owner=owner,
            leased_until=now + timedelta(seconds=settings.EMAIL_LEASE_SECONDS),
        )
        if leased:
            return list(
                Delivery.objects.filter(lease_owner=owner, status=Delivery.Status.SENDING)
                # Not broadcast__post: a Wagtail page built per row; the post is read once per batch.
                .select_related("subscriber", "broadcast", "digest")
                .order_by("pk")
            )
        # Another worker took these rows between our SELECT and UPDATE: look again.
    return []


def sweep(now=None):
    """Hand back rows whose lease expired (their worker died) and fan out what never was.
    Returns the number of rows handed back."""
    now = now or timezone.now()
    expired = Delivery.objects.expired_leases(now)
    # Each handing back counts as a try: a message that kills its worker every time is parked as failed
    # after EMAIL_MAX_ATTEMPTS instead of taking workers down for ever.
    failed = expired.filter(attempts__gte=settings.EMAIL_MAX_ATTEMPTS - 1).update(
        status=Delivery.Status.FAILED,
        attempts=F("attempts") + 1,
        lease_owner="",
        leased_until=None,
        error="Its worker stopped while sending it, every time it was tried.",
    )
    returned = expired.update(
        status=Delivery.Status.PENDING, attempts=F("attempts") + 1, lease_owner="", leased_until=None
    )
    if returned or failed:
        logger.warning("Handed back %s deliveries whose worker died; %s parked as failed", returned, failed)
    stale = now - timedelta(minutes=1)
    for broadcast in Broadcast.objects.filter(fanned_out_at__isnull=True, created_at__lt=stale):
        fan_out_broadcast(broadcast)
    for digest in Digest.objects.filter(fanned_out_at__isnull=True, created_at__lt=stale):
        fan_out_digest(digest)
    return returned


def _eligible(rows):
    """The ids of the rows that may still be sent, checked in a few queries just before sending."""
    by_kind = defaultdict(list)
    for row in rows:
        by_kind[(row.kind, row.broadcast_id, row.digest_id)].append(row)
    subscribers = Subscriber.objects.exclude(email__in=Suppression.objects.values("email"))
    allowed = set()
    for (kind, _broadcast_id, _digest_id), group in by_kind.items():
        wanted = subscribers.filter(pk__in=[row.subscriber_id for row in group])
        if kind in (Delivery.Kind.POST, Delivery.Kind.UPDATE):
            post = group[0].broadcast.post
            if not post.live:
                continue
            wanted = wanted.filter(status=Subscriber.Status.CONFIRMED, paused=False)
            wanted = wanted.at_once(post.urgent).interested_in(post)
        elif kind == Delivery.Kind.DIGEST:
            wanted = wanted.filter(
                status=Subscriber.Status.CONFIRMED, paused=False, cadence=group[0].digest.cadence
            )
        elif kind == Delivery.Kind.CONFIRM:
            wanted = wanted.filter(status=Subscriber.Status.PENDING)
        else:
            wanted = wanted.filter(status=Subscriber.Status.CONFIRMED)
        ids = set(wanted.values_list("pk", flat=True))
        allowed.update(row.pk for row in group if row.subscriber_id in ids)
    return allowed


class Pacer:
    """At most ``rate`` messages a second (0: no limit)."""

    def __init__(self, rate):
        self.interval = 1.0 / rate if rate else 0.0
        self.next_at = time.monotonic()

    def wait(self):
        if not self.interval:
            return
        now = time.monotonic()
        if self.next_at > now:
            time.sleep(self.next_at - now)
        self.next_at = max(self.next_at, now) + self.interval


class Composer:
    """Builds each row's message; a post is rendered once per batch and time zone, not once per reader."""

    def __init__(self):
        self.frames = {}

    def __call__(self, row):
        subscriber = row.subscriber
        if row.kind in (Delivery.Kind.POST, Delivery.Kind.UPDATE):
            key = (row.broadcast_id, subscriber.time_zone)
            frame = self.frames.get(key)
            if frame is None:
                broadcast = row.broadcast
                update = broadcast if broadcast.is_update else None
                frame = self.frames[key] = messages.PostFrame(broadcast.post, subscriber.time_zone, update)
            return frame.for_subscriber(subscriber)
        if row.kind == Delivery.Kind.DIGEST:
            posts = digest_posts(subscriber, row.digest)
            updates = digest_updates(subscriber, row.digest)
            if not posts and not updates:
                return None
            context = messages.digest_context(row.digest, posts, updates)
            return messages.subscriber_message("digest", subscriber, context)
        if row.kind == Delivery.Kind.CONFIRM:
            token = ConfirmationToken.issue(subscriber)
            url = settings.SITE_URL + reverse("subscriptions:confirm", args=[token])
            # Nothing was subscribed yet, so there is nothing to unsubscribe from.
            outgoing = messages.subscriber_message(
                "confirm", subscriber, {"confirm_url": url}, unsubscribe=False
            )
            # Anyone can type a name into the form: it must not reach a stranger's inbox as "To: ...".
            outgoing.to_name = ""
            return outgoing
        if row.kind == Delivery.Kind.WELCOME_BACK:
            return messages.subscriber_message("already_subscribed", subscriber)
        return messages.subscriber_message("unsubscribe_link", subscriber)


def _renew(rows, lease):
    Delivery.objects.filter(pk__in=[row.pk for row in rows], status=Delivery.Status.SENDING).update(
        leased_until=timezone.now() + lease
    )


def _finish(row, **fields):
    Delivery.objects.filter(pk=row.pk).update(lease_owner="", leased_until=None, **fields)


@functools.cache
def _mark_sent_sql():
    quote, column = connection.ops.quote_name, {f.name: f.column for f in Delivery._meta.concrete_fields}
    assignments = ", ".join(
        f"{quote(column[name])} = %s" for name in ("status", "sent_at", "message_id", "error", "lease_owner")
    )
    attempts = quote(column["attempts"])
    return (
        f"UPDATE {quote(Delivery._meta.db_table)} SET {assignments}, {attempts} = {attempts} + 1, "
        f"{quote(column['leased_until'])} = NULL WHERE {quote(column['id'])} = %s"
    )


def _mark_sent(row, message_id):
    """``_finish`` for a message the server accepted, as one UPDATE written once: building it through the
    ORM for every message costs more than running it (measured in bench/README.md)."""
    sent_at = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_mark_sent_sql(), [Delivery.Status.SENT.value, sent_at, message_id, "", "", row.pk])


def _retry(row, error, now):
    attempts = row.attempts + 1
    if attempts >= settings.EMAIL_MAX_ATTEMPTS:
        _finish(row, status=Delivery.Status.FAILED, attempts=attempts, error=error)
        logger.error("Delivery %s failed after %s tries: %s", row.pk, attempts, error)
        return
    delay = min(timedelta(seconds=settings.EMAIL_RETRY_SECONDS * 2 ** (attempts - 1)), MAX_BACKOFF)
    _finish(row, status=Delivery.Status.PENDING, attempts=attempts, error=error, next_attempt_at=now + delay)


def send_batch(rows, transport, composer=None, pacer=None):
    """Send leased rows over one transport. Returns a dict of counts by outcome."""
    composer = composer or Composer()
    pacer = pacer or Pacer(settings.EMAIL_RATE_LIMIT)
    outcome = defaultdict(int)
    allowed = _eligible(rows)
    lease = timedelta(seconds=settings.EMAIL_LEASE_SECONDS)
    renew_at = time.monotonic() + lease.total_seconds() / 3
    for index, row in enumerate(rows):
        if time.monotonic() >= renew_at:
            # A slow server or a low rate cap: keep the rest of the batch ours, so the sweep does not
            # hand it to another worker while this one is still sending.
            _renew(rows[index:], lease)
            renew_at = time.monotonic() + lease.total_seconds() / 3
        if row.pk not in allowed:
            _finish(row, status=Delivery.Status.SKIPPED, error="No longer wanted when its turn came.")
            outcome["skipped"] += 1
            continue
        outgoing = composer(row)
        if outgoing is None:
            _finish(row, status=Delivery.Status.SKIPPED, error="Nothing new since the last digest.")
            _digest_done(row)
            outcome["skipped"] += 1
            continue
        pacer.wait()
        try:
            transport.send(outgoing)
        except PermanentError as exc:
            _finish(row, status=Delivery.Status.BOUNCED, attempts=F("attempts") + 1, error=str(exc))
            if exc.suppress:
                Suppression.add(row.subscriber.email, Suppression.Reason.REJECTED, str(exc))
            outcome["bounced"] += 1
        except TransientError as exc:
            now = timezone.now()
            _retry(row, str(exc), now)
            outcome["retry"] += 1
            if exc.connection_lost:
                rest = [later.pk for later in rows[index + 1 :]]
                Delivery.objects.filter(pk__in=rest, status=Delivery.Status.SENDING).update(
                    status=Delivery.Status.PENDING,
                    lease_owner="",
                    leased_until=None,
                    next_attempt_at=now + timedelta(seconds=settings.EMAIL_RETRY_SECONDS),
                )
                outcome["handed_back"] += len(rest)
                break
        else:
            _mark_sent(row, outgoing.message_id)
            _digest_done(row)
            outcome["sent"] += 1
    return dict(outcome)


def _digest_done(row):
    if row.kind == Delivery.Kind.DIGEST:
        Subscriber.objects.filter(pk=row.subscriber_id, last_digest_at__lt=row.digest.period_end).update(
            last_digest_at=row.digest.period_end
        )


def send_pending(*, max_batches=None):
    """Send every due row, batch after batch, until none is left (or a connection failure stops us).
    Returns the total counts."""
    totals = defaultdict(int)
    composer = Composer()
    pacer = Pacer(settings.EMAIL_RATE_LIMIT)
    transport = open_transport()
    batches = 0
    try:
        while max_batches is None or batches < max_batches:
            rows = claim()
            if not rows:
                break
            batches += 1
            outcome = send_batch(rows, transport, composer, pacer)
            for key, value in outcome.items():
                totals[key] += value
            if outcome.get("handed_back") or (outcome.get("retry") and not outcome.get("sent")):
                # The server is down or refusing everything: leave the rest to the next sweep.
                break
    finally:
        transport.close()
    if totals:
        logger.info("Sender: %s", dict(totals))
    return dict(totals)
