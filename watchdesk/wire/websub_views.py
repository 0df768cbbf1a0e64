"""The WebSub callback, ``/websub/<token>/``: where hubs verify our intent and push feed documents.

- GET ``hub.mode=subscribe|unsubscribe``: answered 200 with ``hub.challenge`` only for what we asked
  for, for the subscription's own topic, within WEBSUB_PENDING_SECONDS of asking; otherwise 404.
- GET ``hub.mode=denied``: the hub refused us; recorded (the source is polled as before), 200.
- POST (content distribution): at most WEBSUB_MAX_BYTES (413 beyond); a missing or wrong
  ``X-Hub-Signature`` is ignored and counted but still answered 202, as the spec asks, so a forger learns
  nothing; a signed document is stored and queued for the worker, which ingests it like a poll. The
  request never parses it. A subscription that ended answers 410 Gone, which tells the hub to stop.
- An unknown token is 404; more than WEBSUB_CALLBACK_RATE requests a minute to one callback, or with
  unknown tokens from one address, are 429.
"""

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, HttpResponseNotFound
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from watchdesk.core import ratelimit
from watchdesk.core.clientip import client_ip
from watchdesk.wire import websub
from watchdesk.wire.models import WebSubSubscription
from watchdesk.wire.push_tasks import ingest_push

RATE_WINDOW = 60


def _plain(status, text=""):
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def callback(request, token):
    limit = settings.WEBSUB_CALLBACK_RATE
    subscription = WebSubSubscription.objects.select_related("source").filter(token=token).first()
    # Unknown tokens are limited by address (someone guessing); known ones per callback, since one big
    # hub may push for hundreds of our sources from one address.
    key = f"websub:{subscription.pk}" if subscription else f"websub-guess:{client_ip(request)}"
    if not ratelimit.hit(key, limit=limit, window=RATE_WINDOW):
        return _plain(429, "too many requests")
    if subscription is None:
        return HttpResponseNotFound()
    if request.method == "GET":
        return _verification(request, subscription)
    return _distribution(request, subscription)


def _verification(request, subscription):
    mode = request.GET.get("hub.mode", "")
    topic = request.GET.get("hub.topic", "")
    if mode == "denied":
        websub.record_denial(subscription, topic, request.GET.get("hub.reason", "")[:300])
        return _plain(200)
    challenge = request.GET.get("hub.challenge", "")
    if not challenge or not websub.confirm_intent(
        subscription, mode, topic, request.GET.get("hub.lease_seconds")
    ):
        return HttpResponseNotFound()
    return _plain(200, challenge)


def _distribution(request, subscription):
    if subscription.state == WebSubSubscription.State.ENDED or subscription.source is None:
        return _plain(410, "gone")
    cap = settings.WEBSUB_MAX_BYTES
    declared = request.META.get("CONTENT_LENGTH", "")
    if declared.isdigit() and int(declared) > cap:
        return _plain(413, "too large")
    # Read from the stream ourselves: request.body would stop at DATA_UPLOAD_MAX_MEMORY_SIZE instead.
    body = request.read(cap + 1)
    if len(body) > cap:
        return _plain(413, "too large")
    if not websub.signature_matches(subscription.secret, request.headers.get("X-Hub-Signature", ""), body):
        websub.count_bad_signature(subscription)
        return _plain(202)
    if not subscription.source.enabled or subscription.state == WebSubSubscription.State.UNSUBSCRIBING:
        return _plain(202)  # paused: an unsubscribe is on its way
    document = websub.store_push(subscription, body, request.headers.get("Content-Type", ""))
    transaction.on_commit(lambda: ingest_push.enqueue(document.pk))
    return _plain(202)
