"""The WebSub subscriber (https://www.w3.org/TR/websub/): sources whose feed names a hub get their news
pushed to us within seconds instead of at the next poll.

Worker side (this module): after a poll, ``noticed`` starts, keeps, moves or ends the source's
subscription; ``subscribe`` / ``unsubscribe`` ask the hub through the guarded fetcher; ``upkeep`` (a
periodic task) renews leases, retries failed hubs and ends subscriptions of removed or paused sources.
Web side: ``confirm_intent``, ``record_denial`` and ``signature_matches`` are what the callback view
(``websub_views``) asks. Nothing here parses a feed. The states and what happens when a hub fails:
docs/wire.md, "Push".
"""

import hashlib
import hmac
import logging
from datetime import timedelta
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from watchdesk.core.fetcher import FetchError, fetch
from watchdesk.wire.models import PushedDocument, WebSubSubscription

logger = logging.getLogger(__name__)
State = WebSubSubscription.State

# The signature methods the WebSub spec allows in X-Hub-Signature.
SIGNATURE_METHODS = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}
RENEW_AT = 0.8  # renew when this part of the lease has passed
RETRY_FIRST = timedelta(minutes=5)
RETRY_LONGEST = timedelta(days=1)
# A pushed document the worker has not ingested after this long is queued again (a worker died).
STALE_PUSH = timedelta(minutes=2)
PUSH_ATTEMPTS = 3


# Discovery ----------------------------------------------------------------------------------------------


def discover(headers, hubs, self_url, feed_url):
    """(hub, topic) the feed announces, or (None, None). HTTP ``Link`` headers come first, then the links
    in the document, as the spec asks; the topic is the feed's self link, else the URL we fetched."""
    links = httpx.Response(200, headers=headers or {}).links
    hub = (links.get("hub") or {}).get("url") or (hubs[0] if hubs else None)
    if not hub or not hub.startswith(("http://", "https://")):
        return None, None
    topic = (links.get("self") or {}).get("url") or self_url or feed_url
    if not topic.startswith(("http://", "https://")):
        topic = feed_url
    return hub[:1000], topic[:1000]


def noticed(source, hub, topic, now=None):
    """After a successful poll: subscribe to the hub the feed names, move to a new hub or topic, or end
    the subscription when the feed no longer names one. Returns the current subscription or None."""
    if not settings.WEBSUB_SUBSCRIBE:
        return None
    now = now or timezone.now()
    current = source.websub.current().first()
    if current and (current.hub, current.topic) == (hub, topic):
        return current  # upkeep renews and retries it
    if current:
        unsubscribe(current, now)
    if hub is None or not source.enabled:
        return None
    subscription = WebSubSubscription.objects.create(source=source, hub=hub, topic=topic, created_at=now)
    subscribe(subscription, now)
    subscription.refresh_from_db()
    return subscription


def live_subscription(source, now=None):
    return source.websub.live(now).first()


# Asking the hub ---------------------------------------------------------------------------------------


def subscribe(subscription, now=None):
    """Ask the hub to (re)subscribe us. The hub then verifies our intent at the callback; until it does,
    the request is pending for WEBSUB_PENDING_SECONDS. A refusal or failure is recorded and retried later."""
    now = now or timezone.now()
    asking = WebSubSubscription.objects.filter(pk=subscription.pk)
    asking.update(pending_mode="subscribe", requested_at=now, retry_at=None)
    asking.filter(state=State.FAILED).update(state=State.REQUESTED)
    problem = _ask_hub(
        subscription,
        {
            "hub.mode": "subscribe",
            "hub.topic": subscription.topic,
            "hub.callback": subscription.callback_url,
            "hub.secret": subscription.secret,
            "hub.lease_seconds": str(settings.WEBSUB_LEASE_SECONDS),
        },
    )
    if problem:
        _failed(subscription, now, problem)
    return problem


def unsubscribe(subscription, now=None):
    """Ask the hub to stop. The subscription stops being the source's at once; the hub's confirmation
    ends it, and if the hub cannot be asked it is ended anyway (later pushes are answered 410 Gone)."""
    now = now or timezone.now()
    was_asked = subscription.state in (State.REQUESTED, State.ACTIVE)
    WebSubSubscription.objects.filter(pk=subscription.pk).update(
        state=State.UNSUBSCRIBING, pending_mode="unsubscribe", requested_at=now, renew_at=None, retry_at=None
    )
    problem = None
    if was_asked:
        form = {"hub.mode": "unsubscribe", "hub.topic": subscription.topic}
        problem = _ask_hub(subscription, {**form, "hub.callback": subscription.callback_url})
    if problem or not was_asked:
        WebSubSubscription.objects.filter(pk=subscription.pk, state=State.UNSUBSCRIBING).update(
            state=State.ENDED, pending_mode="", last_error=problem or ""
        )
    return problem


def _ask_hub(subscription, form):
    """POST the form to the hub through the guarded fetcher: None when the hub took it, else why not."""
    try:
        answer = fetch(
            subscription.hub,
            method="POST",
            content=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*"},
            max_bytes=64 * 1024,
        )
    except FetchError as error:  # FetchRefused included: a hub on an address the policy refuses
        return f"hub {subscription.hub}: {error}"
    if not answer.ok:
        said = answer.content[:200].decode("utf-8", "replace").strip()
        return f"hub {subscription.hub} answered HTTP {answer.status}" + (f": {said}" if said else "")
    return None


def _failed(subscription, now, problem):
    """The hub refused, could not be reached, denied us or never confirmed: the source is polled as
    before, and we ask again later (5 min, doubling, at most a day). A live lease is kept until it ends."""
    subscription.refresh_from_db()
    failures = subscription.failures + 1
    wait = min(RETRY_FIRST * 2 ** min(failures - 1, 20), RETRY_LONGEST)
    state = State.ACTIVE if subscription.is_live(now) else State.FAILED
    WebSubSubscription.objects.current().filter(pk=subscription.pk).update(
        state=state, pending_mode="", failures=failures, last_error=problem[:1000], retry_at=now + wait
    )
    logger.warning("WebSub subscription %s: %s", subscription.pk, problem)


# The hub's calls (from the callback view) --------------------------------------------------------------


def confirm_intent(subscription, mode, topic, lease_seconds, now=None):
    """The hub asks whether we want ``mode`` for ``topic``. True only for what we asked for, for this
    subscription's topic, within the pending window; then the subscription is live (or ended)."""
    now = now or timezone.now()
    window = timedelta(seconds=settings.WEBSUB_PENDING_SECONDS)
    if (
        mode not in ("subscribe", "unsubscribe")
        or mode != subscription.pending_mode
        or topic != subscription.topic
        or subscription.requested_at is None
        or subscription.requested_at < now - window
    ):
        return False
    pending = WebSubSubscription.objects.filter(pk=subscription.pk, pending_mode=mode)
    if mode == "unsubscribe":
        return pending.update(state=State.ENDED, pending_mode="", lease_until=None, renew_at=None) == 1
    source = subscription.source
    if source is None or not source.enabled:
        return False  # removed or paused since we asked: an unsubscribe follows
    lease = _lease(lease_seconds)
    return (
        pending.filter(state__in=[State.REQUESTED, State.ACTIVE, State.FAILED]).update(
            state=State.ACTIVE,
            pending_mode="",
            verified_at=now,
            lease_until=now + lease,
            renew_at=now + lease * RENEW_AT,
            failures=0,
            last_error="",
            retry_at=None,
        )
        == 1
    )


def _lease(lease_seconds):
    # The hub decides the lease; one that says nothing usable gets what we asked for.
    try:
        seconds = int(lease_seconds)
    except (TypeError, ValueError):
        seconds = 0
    return timedelta(seconds=seconds if seconds > 0 else settings.WEBSUB_LEASE_SECONDS)


def record_denial(subscription, topic, reason, now=None):
    """The hub refused (or cancelled) our subscription to ``topic``. True when it was ours."""
    if topic != subscription.topic or subscription.state not in (State.REQUESTED, State.ACTIVE):
        return False
    now = now or timezone.now()
    WebSubSubscription.objects.filter(pk=subscription.pk).update(lease_until=None)
    reason = reason or "no reason given"
    _failed(subscription, now, f"hub {subscription.hub} denied the subscription: {reason}")
    return True


def signature_matches(secret, header, body):
    """Whether ``X-Hub-Signature`` ("sha256=<hex>") is the HMAC of the raw body with our secret."""
    method, _, given = (header or "").strip().partition("=")
    digest = SIGNATURE_METHODS.get(method.strip().lower())
    if digest is None or not given:
        return False
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())


def store_push(subscription, body, content_type, now=None):
    """Keep a signed document for the worker; the caller enqueues its ingestion after the commit."""
    now = now or timezone.now()
    with transaction.atomic():
        document = PushedDocument.objects.create(
            subscription=subscription, body=body, content_type=content_type[:200], received_at=now
        )
        WebSubSubscription.objects.filter(pk=subscription.pk).update(pushes=F("pushes") + 1, last_push_at=now)
    return document


def count_bad_signature(subscription):
    WebSubSubscription.objects.filter(pk=subscription.pk).update(bad_signatures=F("bad_signatures") + 1)


# Upkeep ------------------------------------------------------------------------------------------------


def upkeep(now=None):
    """Periodic: expire unanswered requests, renew leases, retry failed hubs, end the subscriptions of
    removed or paused sources. Returns (what was done by kind, ids of pushed documents to queue again)."""
    now = now or timezone.now()
    done = {"expired": 0, "renewed": 0, "retried": 0, "ended": 0}
    window = now - timedelta(seconds=settings.WEBSUB_PENDING_SECONDS)

    for subscription in WebSubSubscription.objects.exclude(pending_mode="").filter(requested_at__lt=window):
        done["expired"] += 1
        if subscription.pending_mode == "unsubscribe":
            WebSubSubscription.objects.filter(pk=subscription.pk).update(state=State.ENDED, pending_mode="")
        else:
            problem = f"hub {subscription.hub} never confirmed: is SITE_URL reachable from it?"
            _failed(subscription, now, problem)

    unwanted = Q(source__isnull=True) | Q(source__enabled=False)
    for subscription in WebSubSubscription.objects.current().filter(unwanted):
        unsubscribe(subscription, now)
        done["ended"] += 1

    due_renewal = Q(state=State.ACTIVE, pending_mode="") & (Q(renew_at__lte=now) | Q(lease_until__lte=now))
    not_waiting = Q(retry_at__isnull=True) | Q(retry_at__lte=now)
    for subscription in WebSubSubscription.objects.current().filter(due_renewal, not_waiting):
        subscribe(subscription, now)
        done["renewed"] += 1
    for subscription in WebSubSubscription.objects.filter(state=State.FAILED, retry_at__lte=now):
        subscribe(subscription, now)
        done["retried"] += 1

    stale = PushedDocument.objects.filter(received_at__lt=now - STALE_PUSH)
    given_up = stale.filter(attempts__gte=PUSH_ATTEMPTS)
    for document in given_up:
        logger.error("WebSub push %s failed %d times and was dropped", document.pk, PUSH_ATTEMPTS)
    given_up.delete()
    requeue = list(stale.values_list("pk", flat=True))
    return done, requeue
