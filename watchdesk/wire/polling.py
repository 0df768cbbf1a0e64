"""Polling: fetch the sources that are due, politely, and keep each source's health.

Several workers may poll at once. Each source is claimed with a conditional UPDATE of its lease, so no two
workers fetch it at the same time; each host is claimed the same way through its ``HostSlot`` row, so an
outlet with ten feeds sees one request at a time from all our workers together, and a host that asked us
to wait (429/503 with Retry-After) is left alone until then. A worker that dies mid-poll leaves its leases
to expire; another worker then takes the source.

A failed fetch never touches stored items: it is recorded (``FetchLog``, ``last_status``, ``last_error``)
and the source backs off exponentially, with jitter so a host's feeds do not all retry in the same second.
"""

import logging
import random
from dataclasses import asdict, dataclass
from datetime import timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from watchdesk.core.fetcher import FetchError, FetchRefused, fetch
from watchdesk.wire import cadence, relevance, websub
from watchdesk.wire.entries import FeedError
from watchdesk.wire.ingest import ingest_feed
from watchdesk.wire.models import FetchLog, HostSlot, PushedDocument, Source, WebSubSubscription

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=24)
# Each failed poll waits a little more or less than the plain doubling, so retries spread out.
JITTER = 0.1
# Publication dates read to plan a source's next poll: more only confirm it is at its shortest wait.
RECENT_LIMIT = 500


@dataclass
class PollSummary:
    """What one polling run did; ``str()`` is the one-line report of the periodic job."""

    polled: int = 0
    not_modified: int = 0
    failed: int = 0
    deferred: int = 0  # claimed, but the host was busy or asked us to wait: left for the next run
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0

    def __add__(self, other):
        return PollSummary(**{name: value + getattr(other, name) for name, value in asdict(self).items()})

    def as_dict(self):
        return asdict(self)

    def __str__(self):
        return (
            f"polled {self.polled} sources ({self.not_modified} not modified, {self.failed} failed, "
            f"{self.deferred} deferred): created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, skipped {self.skipped} items"
        )


def lease_seconds():
    return timedelta(seconds=settings.WIRE_LEASE_SECONDS)


# Claims -------------------------------------------------------------------------------------------------


def claim_source(source, now, *, due_only=True):
    """Take the source's lease if no other worker holds it (and, by default, only if it is due).
    True when this worker now owns the source."""
    claimable = Source.objects.filter(pk=source.pk).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )
    if due_only:
        claimable = claimable.filter(enabled=True).filter(
            Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now)
        )
    return claimable.update(lease_until=now + lease_seconds()) == 1


def release_source(source):
    Source.objects.filter(pk=source.pk).update(lease_until=None)


def claim_host(host, now):
    """Take the host's slot unless another request to it is in flight or it asked us to wait."""
    HostSlot.objects.get_or_create(host=host)
    free = HostSlot.objects.filter(host=host).filter(
        Q(busy_until__isnull=True) | Q(busy_until__lt=now),
        Q(not_before__isnull=True) | Q(not_before__lte=now),
    )
    return free.update(busy_until=now + lease_seconds()) == 1


def release_host(host):
    HostSlot.objects.filter(host=host).update(busy_until=None)


def hosts_waiting(now):
    """Hosts that told us (Retry-After) not to come back before some time still in the future."""
    return HostSlot.objects.filter(not_before__gt=now).values("host")


# Polling ------------------------------------------------------------------------------------------------


def poll_due(*, limit=None, now=None, stop=None):
    """Poll up to ``limit`` due sources, the longest-waiting first. ``stop`` (a threading.Event) ends the
    run cleanly between two sources. Returns a ``PollSummary``."""
    limit = limit or settings.WIRE_POLL_BATCH
    summary = PollSummary()
    start = now or timezone.now()
    # Read a few more than the batch: some will be taken by other workers or wait on a busy host.
    candidates = list(
        Source.objects.due(start)
        .exclude(host__in=hosts_waiting(start))
        .order_by(F("next_poll_at").asc(nulls_first=True), "pk")[: limit * 2]
    )
    attempted = 0
    for source in candidates:
        if attempted >= limit or (stop is not None and stop.is_set()):
            break
        current = now or timezone.now()
        if not claim_source(source, current):
            continue  # another worker took it since we read the list
        attempted += 1
        source.refresh_from_db()  # what we read before the claim may be stale (an edit, another poll)
        summary += _poll_claimed(source, current)
    _flag_surges(summary, now)
    return summary


def _flag_surges(summary, now):
    """Re-check breaking surges once after a run that brought news (each check reads a week of counts)."""
    if summary.created or summary.updated:
        relevance.flag_breaking(now=now)


def poll_source(source, *, now=None):
    """Poll one source now, due or not (``watchdesk sources poll``, the admin). Respects another worker's
    lease, a busy host and the host's Retry-After: then nothing is fetched and the summary says deferred."""
    now = now or timezone.now()
    if not claim_source(source, now, due_only=False):
        return PollSummary(deferred=1)
    source.refresh_from_db()
    summary = _poll_claimed(source, now)
    _flag_surges(summary, now)
    return summary


def _poll_claimed(source, now):
    """Fetch, ingest and record one source whose lease we hold; always hands the lease back."""
    try:
        if not claim_host(source.host, now):
            return PollSummary(deferred=1)
        try:
            fetched = fetch(source.url, etag=source.etag, last_modified=source.last_modified)
        except FetchError as error:
            return _failed(source, now, status=fetch_status(error), detail=str(error))
        finally:
            release_host(source.host)
        return _record_response(source, fetched, now)
    except Exception as error:
        # A bug in parsing or enrichment must not stop the other sources, nor hide this one's problem.
        logger.exception("Polling %s failed", source.url)
        return _failed(source, now, status="error", detail=f"{type(error).__name__}: {error}")
    finally:
        release_source(source)


def fetch_status(error):
    """The short status shown beside the source for a transport problem or a refusal."""
    if isinstance(error, FetchRefused):
        return "refused"
    reason = str(error).lower()
    for words, status in (
        (("timed out", "timeout"), "timeout"),
        (("larger than", "too large"), "too large"),
        (("too many redirects",), "too many redirects"),
        (("could not resolve",), "dns error"),
        (("could not connect",), "connection failed"),
        (("bad url", "bad redirect"), "bad url"),
    ):
        if any(word in reason for word in words):
            return status
    return "fetch failed"


def _record_response(source, fetched, now):
    # Fetched has no redirect history, so a move is recorded, not followed: a temporary redirect, or a
    # hijacked old address, must not silently rewrite the feed URL an editor chose.
    moved = f"Moved to {fetched.url}. " if _moved(source.url, fetched.url) else ""
    if fetched.not_modified:
        _log(source, now, "not modified", moved, fetched)
        _healthy(source, now, status="not modified", headers=fetched.headers)
        return PollSummary(polled=1, not_modified=1)
    if fetched.status == 410:
        Source.objects.filter(pk=source.pk).update(enabled=False)
        detail = f"{moved}410 Gone: the outlet removed this feed, so the source was disabled."
        return _failed(source, now, status="http 410", detail=detail, fetched=fetched)
    if not fetched.ok:
        return _failed(source, now, status=f"http {fetched.status}", detail=moved.strip(), fetched=fetched)
    try:
        result = ingest_feed(
            source, fetched.content, content_type=fetched.headers.get("content-type", ""), now=now, flag=False
        )
    except FeedError as error:
        return _failed(source, now, status="not a feed", detail=f"{moved}{error}", fetched=fetched)
    # What the parser had to forgive (a wrong encoding, a truncated tail) stays visible in the log.
    _log(source, now, "ok", " ".join([moved.strip(), *result.problems]).strip(), fetched, result)
    pushed_by = _follow_hub(source, fetched, result, now)
    # Only a feed we could read earns its validators: after a bad answer the next poll fetches in full.
    # What it had to forgive stays beside the source's status until a fetch with nothing to forgive.
    _healthy(
        source,
        now,
        status="ok",
        problem=" ".join(result.problems),
        headers=fetched.headers,
        pushed=pushed_by is not None and not result.created,
        etag=fetched.headers.get("etag", "")[:255],
        last_modified=fetched.headers.get("last-modified", "")[:64],
    )
    return PollSummary(
        polled=1,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        skipped=result.skipped,
    )


def _moved(configured, final):
    try:
        return bool(final) and httpx.URL(configured) != httpx.URL(final)
    except (httpx.InvalidURL, TypeError):
        return configured != final


def _follow_hub(source, fetched, result, now):
    """Subscribe to (or leave) the hub the feed names. Returns the live subscription, if any; a safety-net
    poll that finds items the hub did not push counts them, and the source is polled adaptively again
    until the pushes carry its news."""
    hub, topic = websub.discover(fetched.headers, result.hubs, result.self_url, source.url)
    websub.noticed(source, hub, topic, now)
    live = websub.live_subscription(source, now)
    if live is not None and result.created:
        WebSubSubscription.objects.filter(pk=live.pk).update(missed=F("missed") + result.created)
        logger.info("Polling %s found %d items its hub had not pushed", source.url, result.created)
    return live


def _healthy(source, now, *, status, problem="", headers=None, pushed=None, **fields):
    """Record a good answer and plan the next poll (ingest_feed itself keeps the feed's format and
    website). ``problem`` is what was wrong with a feed we could still read, kept as the source's last
    error without counting as one; ``pushed``: the source's hub pushes its news, so the next poll is only
    a safety net."""
    if pushed is None:
        pushed = websub.live_subscription(source, now) is not None
    plan = next_poll(source, now, headers=headers, pushed=pushed)
    Source.objects.filter(pk=source.pk).update(
        last_fetched_at=now,
        last_status=status,
        last_error=problem,
        consecutive_errors=0,
        next_poll_at=now + plan.interval,
        poll_note=plan.reason[:200],
        items_per_day=items_per_day(source, now),
        **fields,
    )


def next_poll(source, now, *, headers=None, pushed=False):
    """The ``cadence.Plan`` for a source just polled: from its last day of publications, within its
    bounds, no sooner than the server asked, and rarely when its hub pushes."""
    shortest, longest = source.poll_bounds()
    return cadence.next_interval(
        recent_publications(source, now),
        now=now,
        usual=timedelta(minutes=source.poll_minutes),
        shortest=shortest,
        longest=longest,
        floor=cadence.server_floor(headers or {}, longest),
        push_interval=timedelta(minutes=settings.WIRE_PUSH_POLL_MINUTES) if pushed else None,
    )


def recent_publications(source, now):
    """Publication dates of the source's items of the last day (at most ``RECENT_LIMIT``, the newest),
    or its newest item's alone when it published nothing that day; [] for a source with no items."""
    items = source.items.order_by("-published_at")
    last_day = items.filter(published_at__gte=now - cadence.DAY)
    dates = list(last_day.values_list("published_at", flat=True)[:RECENT_LIMIT])
    return dates or list(items.values_list("published_at", flat=True)[:1])


# Pushed documents ---------------------------------------------------------------------------------------


def ingest_pushed(document_id, now=None):
    """Ingest a feed document a hub pushed, exactly as a polled one, log it with the source's fetches,
    and delete it. A document of a source removed or paused meanwhile is dropped. Returns a summary."""
    now = now or timezone.now()
    document = PushedDocument.objects.select_related("subscription__source").filter(pk=document_id).first()
    if document is None:
        return "already ingested"
    PushedDocument.objects.filter(pk=document.pk).update(attempts=F("attempts") + 1)
    source = document.subscription.source
    if source is None or not source.enabled:
        document.delete()
        return "source removed or paused"
    body = bytes(document.body)
    topic = document.subscription.topic[:2000]
    log = FetchLog(source=source, url=topic, started_at=now, bytes_read=len(body))
    try:
        result = ingest_feed(source, body, content_type=document.content_type, now=now)
    except FeedError as error:
        log.status, log.detail = "push refused", f"not a feed: {error}"
        summary = log.detail
    else:
        log.status, log.detail = "pushed", " ".join(result.problems)
        log.created, log.updated, log.skipped = result.created, result.updated, result.skipped
        summary = str(result)
    with transaction.atomic():
        log.save()
        document.delete()
    return summary


def _failed(source, now, *, status, detail, fetched=None):
    """Record a failure and back off; stored items stay as they are."""
    errors = source.consecutive_errors + 1
    wait = backoff(source.poll_minutes, errors)
    retry_after = fetched.retry_after if fetched is not None else None
    if fetched is not None and fetched.status in (429, 503) and (retry_after or fetched.status == 429):
        # The host asked us to slow down: no request to it, from any source, before then. A 503 without
        # Retry-After may be one broken feed, so only this source backs off.
        host_wait = timedelta(seconds=retry_after) if retry_after else wait
        wait = max(wait, host_wait)
        HostSlot.objects.filter(host=source.host).update(not_before=now + host_wait)
        if retry_after:
            detail = f"{detail} Retry-After: {retry_after} s.".strip()
    Source.objects.filter(pk=source.pk).update(
        last_fetched_at=now,
        last_status=status,
        last_error=detail or status,
        consecutive_errors=errors,
        next_poll_at=now + wait,
        items_per_day=items_per_day(source, now),
    )
    _log(source, now, status, detail, fetched)
    logger.info("Polling %s: %s %s", source.url, status, detail)
    return PollSummary(polled=1, failed=1)


def backoff(poll_minutes, errors):
    """poll_minutes * 2**errors, at most a day, give or take 10%."""
    plain = min(timedelta(minutes=poll_minutes) * 2 ** min(errors, 20), MAX_BACKOFF)
    return min(plain * random.uniform(1 - JITTER, 1 + JITTER), MAX_BACKOFF)


def items_per_day(source, now):
    return round(source.items.filter(first_seen_at__gte=now - timedelta(days=7)).count() / 7, 2)


def _log(source, now, status, detail, fetched=None, result=None):
    FetchLog.objects.create(
        source=source,
        url=(fetched.url if fetched is not None and fetched.url else source.url)[:2000],
        started_at=now,
        status=status,
        detail=detail or "",
        http_status=fetched.status if fetched is not None else None,
        bytes_read=len(fetched.content) if fetched is not None else 0,
        created=result.created if result else 0,
        updated=result.updated if result else 0,
        skipped=result.skipped if result else 0,
    )
