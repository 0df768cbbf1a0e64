"""The channel sender: claim ``ChannelDelivery`` rows with a lease, check each is still wanted, send it
through Apprise or as a signed webhook under the network policy, and record the outcome at once.

A claimed batch is sent by up to ``CHANNEL_CONCURRENCY`` threads at once (each message waits on its
service's answer, not on our CPU); the database work stays in the calling thread. The same promises as
the e-mail sender (``sender``): a row is marked sent the moment the service accepted it, so a worker
killed a moment later repeats at most the messages in flight, one per thread (and a signed webhook
carries the same ``Idempotency-Key`` when it does); a dead worker's rows are handed back by ``sweep`` after
``CHANNEL_LEASE_SECONDS``; a failure is retried after ``CHANNEL_RETRY_SECONDS`` x 2^(tries-1) (at most six
hours) and parked as ``failed`` after ``CHANNEL_MAX_ATTEMPTS`` tries; an address the policy refuses is
parked at once. Every error stored or logged is masked (``channels.scrub``).
"""

import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections import defaultdict, deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import datetime, timedelta

import apprise
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from watchdesk.core import fetcher
from watchdesk.core.fetch_policy import FetchError, FetchRefused
from watchdesk.core.outbound import guarded_connections
from watchdesk.delivery import channels
from watchdesk.delivery.models import Channel, ChannelDelivery

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
BATCH = 50
Status = ChannelDelivery.Status


class Refused(Exception):
    """The network policy (or the URL itself) rules this channel out: retrying cannot help."""


class Failed(Exception):
    """This try failed; a later one may not."""


# Signing ----------------------------------------------------------------------------------------------
def signature(secret, timestamp, body):
    """``X-Watchdesk-Signature``: ``t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret, header, body, *, tolerance=300, now=None):
    """What a receiver does (docs/agencies.md has the same in a standalone snippet)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp = int(parts.get("t", "0"))
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), f"t={timestamp},v1={parts.get('v1', '')}")


# Sending one message ------------------------------------------------------------------------------------
class _SendLog(logging.Handler):
    """Keeps Apprise's warnings during one send (its only account of why a send failed), and masks the
    channel's secrets in every record of the libraries that may print its URL, whoever prints them.
    Sends run side by side: it keeps only its own thread's lines, so one channel's error never shows
    another's."""

    def __init__(self, url):
        super().__init__(logging.WARNING)
        self.url = url
        self.lines = []
        self.thread = threading.get_ident()

    def filter(self, record):
        record.msg, record.args = channels.scrub(record.getMessage(), self.url), ()
        return True

    def emit(self, record):
        if record.thread == self.thread:
            self.lines.append(record.getMessage())


MASKED_LOGGERS = ("apprise", "httpx", "urllib3")


@contextmanager
def _masked_logs(url):
    handler = _SendLog(url)
    loggers = [logging.getLogger(name) for name in MASKED_LOGGERS]
    for log in loggers:
        log.addFilter(handler.filter)
    loggers[0].addHandler(handler)
    try:
        yield handler
    finally:
        loggers[0].removeHandler(handler)
        for log in loggers:
            log.removeFilter(handler.filter)


def _check(channel):
    """Refused for a URL the policy rules out now (DNS may have changed since it was saved)."""
    try:
        channels.check_channel_url(channel.kind, channel.url)
    except (FetchRefused, channels.Unusable) as error:
        raise Refused(str(error)) from None
    except FetchError as error:
        raise Failed(str(error)) from None


def send_apprise(channel, message):
    service = apprise.Apprise()
    if not service.add(channel.url):
        raise Refused("Apprise does not recognise this URL.")
    # Markdown where the service renders it (Slack, Teams, Discord...); plain text where it would show the
    # asterisks (generic JSON or form webhooks, SMS).
    if service[0].notify_format == apprise.NotifyFormat.TEXT:
        body, body_format = channels.plain_text(message.body), apprise.NotifyFormat.TEXT
    else:
        body, body_format = message.body, apprise.NotifyFormat.MARKDOWN
    with _masked_logs(channel.url) as log, guarded_connections() as guard:
        accepted = service.notify(body=body, title=message.title, body_format=body_format)
    if guard.refusals:
        raise Refused(channels.scrub("; ".join(guard.refusals), channel.url))
    if not accepted:
        reason = log.lines[-1] if log.lines else "The service did not accept the message."
        raise Failed(channels.scrub(reason, channel.url))


def send_webhook(channel, row, message):
    payload = channels.webhook_payload(row, message)
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Watchdesk-Signature": signature(channel.secret, int(time.time()), body),
        "Idempotency-Key": payload["idempotency_key"],
    }
    try:
        with _masked_logs(channel.url):
            answer = fetcher.post(
                channel.url, content=body, headers=headers, timeout=settings.CHANNEL_TIMEOUT
            )
    except FetchRefused as error:
        raise Refused(channels.scrub(error.reason, channel.url)) from None
    except FetchError as error:
        raise Failed(channels.scrub(error.reason, channel.url)) from None
    if not answer.ok:
        raise Failed(f"The receiver answered HTTP {answer.status}.")


def deliver(channel, row, message):
    """Send one message; raises Refused or Failed."""
    _check(channel)
    if channel.kind == Channel.Kind.WEBHOOK:
        send_webhook(channel, row, message)
    else:
        send_apprise(channel, message)


# Building messages --------------------------------------------------------------------------------------
class Composer:
    """A broadcast's message is built once per batch, not once per channel."""

    def __init__(self):
        self.posts = {}

    def __call__(self, row):
        if row.kind == ChannelDelivery.Kind.POST:
            if row.broadcast_id not in self.posts:
                self.posts[row.broadcast_id] = channels.broadcast_message(row.broadcast)
            return self.posts[row.broadcast_id]
        if row.kind == ChannelDelivery.Kind.DIGEST:
            since = datetime.fromisoformat(row.message["since"])
            until = datetime.fromisoformat(row.message["until"])
            posts = channels.digest_posts(row.channel, since, until)
            return channels.digest_message(posts, until) if posts else None
        if row.kind == ChannelDelivery.Kind.TEST:
            return channels.test_message(row.channel)
        stored = row.message
        return channels.Message("story_alert", stored["title"], stored["body"], stored["url"], stored["data"])


def _wanted(rows):
    """The ids of rows that may still go: the channel is not paused, a post is still live and in the
    channel's scope, an editor's own channel's editor is still on duty (each may have changed since the
    row was written, and a retry may come hours later)."""
    allowed = set()
    by_broadcast = defaultdict(list)
    owned = []
    for row in rows:
        if row.kind == ChannelDelivery.Kind.TEST:
            allowed.add(row.pk)  # a test is asked for by hand, paused or not
        elif row.channel.paused:
            continue
        elif row.kind == ChannelDelivery.Kind.POST:
            by_broadcast[row.broadcast_id].append(row)
        elif row.channel.owner_id is not None:
            owned.append(row)
        else:
            allowed.add(row.pk)
    if owned:
        on_duty = set(
            channels.on_duty_editors()
            .filter(pk__in={row.channel.owner_id for row in owned})
            .values_list("pk", flat=True)
        )
        allowed.update(row.pk for row in owned if row.channel.owner_id in on_duty)
    for group in by_broadcast.values():
        post = group[0].broadcast.post
        if not post.live:
            continue
        ids = set(
            Channel.objects.filter(pk__in=[row.channel_id for row in group])
            .interested_in(post)
            .values_list("pk", flat=True)
        )
        allowed.update(row.pk for row in group if row.channel_id in ids)
    return allowed


# The ledger -----------------------------------------------------------------------------------------------
def claim(limit=BATCH, now=None, rows=None):
    """Lease up to ``limit`` due rows (or just ``rows``, ids) to this caller, by a conditional UPDATE."""
    now = now or timezone.now()
    owner = uuid.uuid4().hex
    for _ in range(5):
        due = ChannelDelivery.objects.claimable(now)
        if rows is not None:
            due = due.filter(pk__in=rows)
        ids = list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        leased = ChannelDelivery.objects.filter(pk__in=ids, status=Status.PENDING).update(
            status=Status.SENDING,
            lease_owner=owner,
            leased_until=now + timedelta(seconds=settings.CHANNEL_LEASE_SECONDS),
        )
        if leased:
            return list(
                ChannelDelivery.objects.filter(lease_owner=owner, status=Status.SENDING)
                .select_related("channel", "broadcast")
                .order_by("pk")
            )
    return []


def sweep(now=None):
    """Hand back rows whose worker died (each counts as a try), and write due daily digests."""
    now = now or timezone.now()
    expired = ChannelDelivery.objects.expired_leases(now)
    failed = expired.filter(attempts__gte=settings.CHANNEL_MAX_ATTEMPTS - 1).update(
        status=Status.FAILED,
        attempts=F("attempts") + 1,
        lease_owner="",
        leased_until=None,
        error="Its worker stopped while sending it, every time it was tried.",
    )
    returned = expired.update(
        status=Status.PENDING, attempts=F("attempts") + 1, lease_owner="", leased_until=None
    )
    if returned or failed:
        logger.warning(
            "Handed back %s channel messages whose worker died; %s parked as failed", returned, failed
        )
    channels.plan_channel_digests(now)
    return returned


def _finish(row, **fields):
    ChannelDelivery.objects.filter(pk=row.pk).update(lease_owner="", leased_until=None, **fields)


def _retry(row, error, now):
    attempts = row.attempts + 1
    if attempts >= settings.CHANNEL_MAX_ATTEMPTS:
        _finish(row, status=Status.FAILED, attempts=attempts, error=error)
        logger.error(
            "Channel message %s to %s failed after %s tries: %s", row.pk, row.channel.name, attempts, error
        )
        return "failed"
    delay = min(timedelta(seconds=settings.CHANNEL_RETRY_SECONDS * 2 ** (attempts - 1)), MAX_BACKOFF)
    _finish(row, status=Status.PENDING, attempts=attempts, error=error, next_attempt_at=now + delay)
    return "retry"


def _outcome(row, future):
    """Record what became of one message, the moment its send ended; returns the outcome's name."""
    try:
        future.result()
    except Refused as error:
        _finish(row, status=Status.FAILED, attempts=F("attempts") + 1, error=f"Refused: {error}")
        logger.error("Channel message %s to %s refused: %s", row.pk, row.channel.name, error)
        return "failed"
    except Failed as error:
        return _retry(row, str(error), timezone.now())
    except Exception as error:  # a library's bug must not strand the rest of the batch in flight
        logger.exception("Channel message %s to %s: unexpected error", row.pk, row.channel.name)
        reason = channels.scrub(f"{type(error).__name__}: {error}", row.channel.url)
        return _retry(row, reason, timezone.now())
    _finish(row, status=Status.SENT, attempts=F("attempts") + 1, sent_at=timezone.now(), error="")
    return "sent"


def send_batch(rows, composer=None):
    composer = composer or Composer()
    outcome = defaultdict(int)
    allowed = _wanted(rows)
    ready = []
    for row in rows:
        message = composer(row) if row.pk in allowed else None
        if message is None:
            why = "No longer wanted when its turn came."
            if row.pk in allowed:
                why = "Nothing was published in this digest's day."
            _finish(row, status=Status.SKIPPED, error=why)
            outcome["skipped"] += 1
        else:
            ready.append((row, message))
    if not ready:
        return dict(outcome)
    lease = timedelta(seconds=settings.CHANNEL_LEASE_SECONDS)
    renew_every = lease.total_seconds() / 3
    renew_at = time.monotonic() + renew_every
    # A thread takes the next message only once the last one it sent is marked: whatever a crash
    # repeats, it is at most one message per thread.
    waiting, in_flight = deque(ready), {}
    with ThreadPoolExecutor(settings.CHANNEL_CONCURRENCY, thread_name_prefix="channel-send") as pool:
        while waiting or in_flight:
            while waiting and len(in_flight) < settings.CHANNEL_CONCURRENCY:
                row, message = waiting.popleft()
                in_flight[pool.submit(deliver, row.channel, row, message)] = row
            until_renewal = max(renew_at - time.monotonic(), 0)
            done, _ = wait(in_flight, timeout=until_renewal, return_when=FIRST_COMPLETED)
            for future in done:
                outcome[_outcome(in_flight.pop(future), future)] += 1
            if time.monotonic() >= renew_at:
                unfinished = [*in_flight.values(), *(row for row, _ in waiting)]
                ChannelDelivery.objects.filter(
                    pk__in=[row.pk for row in unfinished], status=Status.SENDING
                ).update(leased_until=timezone.now() + lease)
                renew_at = time.monotonic() + renew_every
    return dict(outcome)


def send_pending(*, max_batches=None, rows=None):
    """Send every due channel message (or only ``rows``, ids), batch after batch. Returns the counts."""
    totals = defaultdict(int)
    composer = Composer()
    batches = 0
    while max_batches is None or batches < max_batches:
        claimed = claim(rows=rows)
        if not claimed:
            break
        batches += 1
        for key, value in send_batch(claimed, composer).items():
            totals[key] += value
    if totals:
        logger.info("Channel sender: %s", dict(totals))
    return dict(totals)


def send_test(channel):
    """Send a test message now, through the ledger and the same checks; returns the finished row."""
    row = channels.record_test(channel)
    send_pending(rows=[row.pk])
    row.refresh_from_db()
    return row
