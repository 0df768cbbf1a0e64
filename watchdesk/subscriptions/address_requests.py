"""What the subscribe, resend and leave forms ask for, decided by the worker after the request answered.

The views only validate the form, count the request against its network's limit and enqueue
``tasks.answer_address_form`` with the submitted data, so every address gets the same statements and
the same answer. Here the same form class runs again on that data (a change to the form needs no change
here), the address is looked up and its state decides:

- new, pending or unsubscribed (subscribe): pending, with what the form chose, and a confirmation;
- confirmed (subscribe): an "already subscribed" note with their links, their choices unchanged;
- pending (resend): the confirmation again; confirmed (leave): an unsubscribe link;
- suppressed, over ``SUBSCRIBE_EMAIL_LIMIT`` a day, or the same reply within ``REPEAT_WINDOW``: nothing.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.datastructures import MultiValueDict

from watchdesk.subscriptions.forms import EmailForm, SubscribeForm
from watchdesk.subscriptions.models import (
    REPLY_MEMORY,
    Reply,
    Subscriber,
    SubscriptionSettings,
    Suppression,
    request_replies,
)

logger = logging.getLogger(__name__)
Status = Subscriber.Status
SUBSCRIBE, RESEND, LEAVE = "subscribe", "resend", "leave"
# The address forms: (the subscriber state a reply goes to, the reply).
ONE_REPLY = {RESEND: (Status.PENDING, Reply.CONFIRM), LEAVE: (Status.CONFIRMED, Reply.LINK)}


def submitted(post):
    """A request's POST data as the task stores it: {field: [values]}, without the CSRF token."""
    return {key: post.getlist(key) for key in post if key != "csrfmiddlewaretoken"}


def answer(form_name, data, now=None):
    """Do what the submission ``data`` (from ``submitted``) of ``form_name`` asks. Returns the reply
    queued (a ``Reply`` value) or "" when none was."""
    now = now or timezone.now()
    data = MultiValueDict(data)
    if form_name == SUBSCRIBE:
        options = SubscriptionSettings.load()
        default_cadence = options.default_cadence
        form = SubscribeForm(data, default_cadence=default_cadence, reader_defaults=options.reader_defaults())
    else:
        form = EmailForm(data)
    if not form.is_valid():
        # Valid in the request; a topic or place deleted since then can make it invalid here.
        logger.warning("A %s request was dropped: %s", form_name, form.errors.as_json())
        return ""
    if form_name == SUBSCRIBE:
        return register(form, default_cadence, now)
    status, kind = ONE_REPLY[form_name]
    return send_reply(form.cleaned_data["email"], status, kind, now)


def _over_limit(subscriber, now):
    """At most SUBSCRIBE_EMAIL_LIMIT replies in any 24 hours. The caller holds the subscriber's row lock,
    so two tasks at once cannot both take the last place (nor both send the same reply)."""
    return len(subscriber.replies_since(now - REPLY_MEMORY)) >= settings.SUBSCRIBE_EMAIL_LIMIT


def _allowed(subscriber, kind, now):
    return not _over_limit(subscriber, now) and not subscriber.asked_recently(kind, now)


def _suppressed(email):
    return Suppression.objects.filter(email=email).exists()


@transaction.atomic
def register(form, default_cadence, now):
    email = form.cleaned_data["email"]
    if _suppressed(email):
        return ""
    changes = form.changes()
    topics, regions = changes.pop("topics", None), changes.pop("regions", None)
    subscriber, created = Subscriber.objects.select_for_update().get_or_create(
        email=email,
        defaults={
            "cadence": default_cadence,
            **form.reader_defaults,
            "source": Subscriber.Source.FORM,
            **changes,
        },
    )
    if subscriber.status == Status.CONFIRMED:
        kind = Reply.WELCOME_BACK
        if not _allowed(subscriber, kind, now):
            return ""
        request_replies([subscriber], kind, now)
        return kind
    if not created:
        if _over_limit(subscriber, now):
            return ""
        for field, value in changes.items():
            setattr(subscriber, field, value)
        subscriber.status = Status.PENDING
        subscriber.paused = False
        subscriber.save()
    if topics is not None:
        subscriber.topics.set(topics)
        subscriber.regions.set(regions)
    if not created and subscriber.asked_recently(Reply.CONFIRM, now):
        # The choices just made are saved; the confirmation sent a moment ago confirms them.
        return ""
    request_replies([subscriber], Reply.CONFIRM, now)
    return Reply.CONFIRM


@transaction.atomic
def send_reply(email, status, kind, now):
    if _suppressed(email):
        return ""
    subscriber = Subscriber.objects.select_for_update().filter(email=email, status=status).first()
    if subscriber is None or not _allowed(subscriber, kind, now):
        return ""
    request_replies([subscriber], kind, now)
    return kind
