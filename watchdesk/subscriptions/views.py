"""The reader's side of subscriptions: subscribe, confirm, preferences, unsubscribe.

The three forms that take an address (subscribe, resend, leave) answer every valid submission with the
same 303 to the same page, whatever the address's state and whether a limit stopped the request, so the
answer never tells a stranger whether an address is subscribed. The request does not even look the
address up: it validates the form, counts the request against its network's limit and enqueues the
submission; the worker decides (``address_requests``), so neither the answer nor its timing depends on
the address. It never waits on the mail server.

Pages reached from an e-mail carry their credential in the URL (a single-use confirmation token, or the
subscriber's signed link token). They set no cookie and need no CSRF token: whoever holds the link could
post to it directly anyway. They are never cached or indexed, and their URL never leaves in a Referer.
"""

import hashlib
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponseRedirect, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import decorator_from_middleware
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from watchdesk.core import ratelimit
from watchdesk.core.clientip import client_ip
from watchdesk.posts.models import StoryPostRegion
from watchdesk.subscriptions import address_requests, scope
from watchdesk.subscriptions.forms import EmailForm, PreferencesForm, SubscribeForm
from watchdesk.subscriptions.models import ConfirmationToken, Subscriber, SubscriptionSettings, Suppression
from watchdesk.subscriptions.tasks import answer_address_form
from watchdesk.taxonomy import place_lookup
from watchdesk.taxonomy.models import Region, Topic

Status = Subscriber.Status
CSRF_FAILED = (
    "Your browser did not send this form's security check (a cookie from this site). "
    "Please press the button again; if this keeps happening, allow cookies for this site."
)

no_store = cache_control(private=True, no_store=True)
# The form's helpers answer the same to everyone: cached here and by browsers, and each network may make
# this many uncached requests an hour.
HELPER_CACHE_SECONDS = 300
HELPER_IP_LIMIT = 600
MAX_IDS = 50


class SeeOther(HttpResponseRedirect):
    status_code = 303


class _NotedCsrfCheck(CsrfViewMiddleware):
    """Django's CSRF check, but a failure is noted on the request instead of answered with a bare 403: the
    reader gets the form back, with what they typed and a word of explanation."""

    def _reject(self, request, reason):
        # The documented alternative, CSRF_FAILURE_VIEW, would change every form on the site.
        request.csrf_failure = reason


def address_form(view):
    """subscribe, resend and leave: GET shows the form, POST is checked for CSRF; never cached."""
    checked = decorator_from_middleware(_NotedCsrfCheck)(view)
    return csrf_exempt(no_store(require_http_methods(["GET", "HEAD", "POST"])(checked)))


def link_page(methods):
    """Pages reached from an e-mail: no CSRF cookie, never cached, the URL kept out of Referer headers."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response["Referrer-Policy"] = "no-referrer"
            return response

        return csrf_exempt(no_store(require_http_methods(methods)(wrapped)))

    return decorator


def _ip_allowed(request):
    key = f"subscribe-ip:{client_ip(request)}"
    return ratelimit.hit(key, limit=settings.SUBSCRIBE_IP_LIMIT, window=3600)


def _suppressed(email):
    return Suppression.objects.filter(email=email).exists()


def _accepted(request, form):
    if getattr(request, "csrf_failure", None):
        form.is_valid()  # keep what was typed
        form.add_error(None, CSRF_FAILED)
        return False
    return form.is_valid()


def _answer_later(request, form_name):
    """Hand a valid submission to the worker: the same statements for every address (no lookup here)."""
    if _ip_allowed(request):
        answer_address_form.enqueue(form_name, address_requests.submitted(request.POST))


def _check_inbox(name="subscriptions:sent"):
    return SeeOther(reverse(name))


# Forms that take an address -----------------------------------------------------------------------------


@address_form
def subscribe(request):
    subscription_settings = SubscriptionSettings.load(request)
    default_cadence = subscription_settings.default_cadence
    form = SubscribeForm(
        request.POST if request.method == "POST" else None,
        default_cadence=default_cadence,
        reader_defaults=subscription_settings.reader_defaults(),
    )
    if request.method == "POST" and _accepted(request, form):
        _answer_later(request, address_requests.SUBSCRIBE)
        return _check_inbox()
    context = {"form": form, "subscription_settings": subscription_settings}
    return render(request, "subscriptions/subscribe.html", context)


@address_form
def resend(request):
    form = EmailForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and _accepted(request, form):
        _answer_later(request, address_requests.RESEND)
        return _check_inbox()
    return render(
        request,
        "subscriptions/address_form.html",
        {
            "form": form,
            "heading": "Send the confirmation again",
            "intro": "Enter the address you subscribed with. If it is waiting for confirmation, we will "
            "send it a new link.",
            "button": "Send a new link",
            "action": reverse("subscriptions:resend"),
        },
    )


@address_form
def leave(request):
    form = EmailForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and _accepted(request, form):
        _answer_later(request, address_requests.LEAVE)
        return _check_inbox("subscriptions:leave_sent")
    return render(
        request,
        "subscriptions/address_form.html",
        {
            "form": form,
            "heading": "Unsubscribe",
            "intro": "Enter your address and we will e-mail you a link that stops our e-mails. (Every "
            "e-mail from us also has a one-click unsubscribe link at the bottom.)",
            "button": "E-mail me an unsubscribe link",
            "action": reverse("subscriptions:leave"),
        },
    )


@require_safe
@no_store
def sent(request):
    return render(request, "subscriptions/sent.html", {"leaving": False})


@require_safe
@no_store
def leave_sent(request):
    return render(request, "subscriptions/sent.html", {"leaving": True})


# The form's helpers (type-ahead, live preview): public, the same for everyone, no subscriber data ------
def _public_json(request, key, answer):
    """``answer()`` as JSON, from the cache when it is there; a network over its hourly count of
    uncached requests gets a 429."""
    data = cache.get(key)
    if data is None:
        if not ratelimit.hit(f"scope-helpers-ip:{client_ip(request)}", limit=HELPER_IP_LIMIT, window=3600):
            return JsonResponse({"error": "Too many requests; try again later."}, status=429)
        data = answer()
        cache.set(key, data, HELPER_CACHE_SECONDS)
    response = JsonResponse(data)
    response["Cache-Control"] = f"public, max-age={HELPER_CACHE_SECONDS}"
    return response


def _ids(request, name):
    values = request.GET.getlist(name)[:MAX_IDS]
    return sorted({int(value) for value in values if value.isascii() and value.isdigit() and len(value) < 12})


@require_safe
def places(request):
    """The place box's type-ahead: ``?q=Harr`` -> {"places": [{"id", "name", "kind"}]}, from the whole
    gazetteer (``place_lookup.suggestions``)."""
    text = " ".join(request.GET.get("q", "").split())[:100].casefold()

    def answer():
        # Places the site has posted about come first: "Harr" is Harris County, Texas, on a Texan site.
        in_the_news = StoryPostRegion.objects.filter(page__live=True).values("region_id")
        found = place_lookup.suggestions(text, in_the_news=in_the_news)
        return {
            "places": [
                {"id": region.pk, "name": place_lookup.full_name(region), "kind": region.get_kind_display()}
                for region in found
            ]
        }

    # Hashed: the typed text may hold spaces and any character, which some cache backends refuse in keys.
    key = hashlib.sha256(text.encode()).hexdigest()[:32]
    return _public_json(request, f"subscribe-places:{key}", answer)


@require_safe
def preview(request):
    """What a scope would send: ``?scope=both&topics=1&regions=7&cadence=daily`` -> {"sentence",
    "count", "count_text"}, as the form shows it (``scope.preview``)."""
    mode = request.GET.get("scope")
    mode = mode if mode in dict(scope.MODES) else scope.EVERYTHING
    cadence = request.GET.get("cadence", "")
    cadence = cadence if cadence in scope.WHEN else "instant"
    topic_ids, region_ids = _ids(request, "topics"), _ids(request, "regions")

    def answer():
        topics = list(Topic.objects.filter(pk__in=topic_ids))
        regions = list(Region.objects.select_related("parent").filter(pk__in=region_ids))
        return scope.preview(mode, topics, regions, cadence)

    key = f"subscribe-preview:{mode}:{cadence}:{topic_ids}:{region_ids}"
    return _public_json(request, key.replace(" ", ""), answer)


# Pages reached from an e-mail ---------------------------------------------------------------------------


def _bad_link(request):
    return render(request, "subscriptions/bad_link.html", status=404)


@link_page(["GET", "HEAD", "POST"])
def confirm(request, token):
    """GET only shows the button: mail scanners that follow links must not confirm anybody."""
    if request.method == "POST":
        with transaction.atomic():
            subscriber = ConfirmationToken.redeem(token)
        if subscriber is not None:
            return SeeOther(reverse("subscriptions:welcome", args=[subscriber.link_token]))
    else:
        row = ConfirmationToken.lookup(token)
        if row is not None:
            return render(request, "subscriptions/confirm.html", {"subscriber": row.subscriber})
    return render(request, "subscriptions/confirm_failed.html", {"form": EmailForm()}, status=404)


@link_page(["GET", "HEAD"])
def welcome(request, token):
    subscriber = Subscriber.from_link_token(token)
    if subscriber is None:
        return _bad_link(request)
    if subscriber.status != Status.CONFIRMED:
        return SeeOther(reverse("subscriptions:preferences", args=[token]))
    return render(request, "subscriptions/welcome.html", {"subscriber": subscriber})


@link_page(["GET", "HEAD", "POST"])
def preferences(request, token):
    subscriber = Subscriber.from_link_token(token)
    if subscriber is None:
        return _bad_link(request)
    form = PreferencesForm(request.POST if request.method == "POST" else None, subscriber=subscriber)
    if request.method == "POST" and form.is_valid():
        form.save()
        return SeeOther(reverse("subscriptions:preferences", args=[token]) + "?saved=1")
    context = {
        "subscriber": subscriber,
        "form": form,
        "saved": "saved" in request.GET,
        "resubscribed": "resubscribed" in request.GET,
        "suppressed": _suppressed(subscriber.email),
        "subscription_settings": SubscriptionSettings.load(request),
    }
    return render(request, "subscriptions/preferences.html", context)


@link_page(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    """RFC 8058 one-click: a POST (``List-Unsubscribe=One-Click`` from a mail client, or this page's own
    button) unsubscribes at once, and again without complaint. A GET only shows the button."""
    subscriber = Subscriber.from_link_token(token)
    if subscriber is None:
        return _bad_link(request)
    if request.method == "POST":
        subscriber.unsubscribe()
    done = subscriber.status == Status.UNSUBSCRIBED
    return render(request, "subscriptions/unsubscribe.html", {"subscriber": subscriber, "done": done})


@link_page(["POST"])
def resubscribe(request, token):
    """Undo an unsubscribe. The link came by e-mail to an address that once confirmed, which proves the
    address again; an address that never confirmed has to go through the subscribe form."""
    subscriber = Subscriber.from_link_token(token)
    if subscriber is None:
        return _bad_link(request)
    if subscriber.status == Status.UNSUBSCRIBED and subscriber.confirmed_at:
        subscriber.confirm()
        return SeeOther(reverse("subscriptions:preferences", args=[token]) + "?resubscribed=1")
    return SeeOther(reverse("subscriptions:preferences", args=[token]))
