"""What an e-mail provider tells us about our messages: bounces, complaints and unsubscribes.

django-anymail serves one webhook per provider under ``/webhooks/mail/<provider>/tracking/``, checks the
request (the ``ANYMAIL_WEBHOOK_SECRET`` basic auth, and the provider's signature where it has one, e.g.
Mailgun's ``WEBHOOK_SIGNING_KEY``), turns the payload into ``AnymailTrackingEvent`` objects and sends
each on its ``tracking`` signal; ``record_event`` below receives them. A refused request is answered
400 (401 for Amazon SNS without credentials) and records nothing. Without ``ANYMAIL_WEBHOOK_SECRET``
every webhook is refused (400): anymail alone would accept anyone's posts. Only the providers this site
uses answer (``configured_providers``, applied in ``delivery/urls.py``); any other provider's URL is a
plain 404, where anymail would log an error and answer 500 for want of that provider's settings.

Each event that matters becomes one ``MailEvent``, keyed by (provider, the provider's event id, or a
hash of provider, recipient, type and time when it gives none): a webhook delivered twice is recorded
and acted on once. Recording and acting share one transaction, so a failure leaves nothing half-done
and the provider's retry starts again. What happens, by anymail's event type:

- ``bounced``, permanent (reject reason ``bounced``, ``invalid`` or none): a hard bounce. The address is
  suppressed at once (``hard_bounce``) and the ``Delivery`` it answers is marked ``bounced``.
- ``bounced`` that the provider calls temporary (Postmark ``SoftBounce``, Amazon SES ``Transient`` or
  ``Undetermined``, Brevo/Mandrill ``soft_bounce``, MailerSend ``soft_bounced``, Mailjet without
  ``hard_bounce``, SendGrid ``blocked``, SparkPost's soft bounce classes, Resend ``Transient``, or a 4xx
  SMTP reply) or refused for another reason than the address (policy, spam, timeout, other), and
  ``deferred``: a soft bounce. The address is suppressed (``soft_bounces``) once ``SOFT_BOUNCE_LIMIT`` of
  them occurred within the last ``SOFT_BOUNCE_DAYS`` days (counted back from now); reports matched to the
  same message (a provider's retries) count once.
- ``complained`` (a spam report): the subscriber is unsubscribed from everything and the address
  suppressed (``complaint``).
- ``unsubscribed`` (the provider's own unsubscribe link or list header): the subscriber is unsubscribed;
  the address is not suppressed, so subscribing again works.
- ``rejected`` because the address bounced before or is invalid: recorded as a hard bounce, suppressed
  (``rejected``) and the ``Delivery`` marked ``bounced``. Other rejections (policy, blocked) and ``failed``
  are recorded (type ``other``) and nothing else.
- Everything else (queued, sent, delivered, opened, clicked, autoresponded, ...) is ignored: nothing is
  stored for it.

The ``Delivery`` is found by our ``Message-ID`` when the provider reports it back: as the event's message
id (Mailgun), in metadata, or as a header echoed in the raw event (Amazon SES, Brevo, SendGrid). When it
cannot be found (Postmark reports only its own id) the event is recorded without one.
"""

import hashlib
import json
import logging
import pkgutil
import re
from dataclasses import dataclass
from datetime import timedelta

import anymail.webhooks
from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import EventType, RejectReason
from anymail.utils import get_anymail_setting
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from watchdesk.delivery.models import Delivery, MailEvent
from watchdesk.subscriptions.models import Subscriber, Suppression, normalise_email

logger = logging.getLogger(__name__)

# The providers anymail has webhooks for: one module each ("amazon_ses", "mailgun", ...).
PROVIDERS = frozenset(
    module.name for module in pkgutil.iter_modules(anymail.webhooks.__path__) if module.name != "base"
)
# Providers anymail knows under two names: settings for one configure both webhooks.
PROVIDER_ALIASES = {"brevo": "sendinblue", "sendinblue": "brevo"}

PERMANENT_REASONS = {None, RejectReason.BOUNCED, RejectReason.INVALID}
REJECTED_TO_SUPPRESS = {RejectReason.BOUNCED, RejectReason.INVALID}

# Where each provider says a "bounced" event is temporary: (path into its raw event, values meaning soft).
SOFT_BOUNCE_MARKERS = {
    "postmark": (("Type",), {"SoftBounce"}),
    "amazon_ses": (("bounce", "bounceType"), {"Transient", "Undetermined"}),
    "brevo": (("event",), {"soft_bounce"}),
    "sendinblue": (("event",), {"soft_bounce"}),
    "mandrill": (("event",), {"soft_bounce"}),
    "mailersend": (("data", "type"), {"soft_bounced"}),
    "mailjet": (("hard_bounce",), {False}),
    "sendgrid": (("type",), {"blocked"}),
    # Soft bounce, DNS failure, mailbox full, too large, timeout, transient failure.
    "sparkpost": (("msys", "message_event", "bounce_class"), {"20", "21", "22", "23", "24", "70"}),
    "resend": (("data", "bounce", "type"), {"Transient"}),
}
_temporary_reply = re.compile(r"^\s*(4\d\d\b|4\.\d{1,3}\.\d{1,3}\b)")
_message_id_keys = {"messageid", "smtpid"}


def configured_providers():
    """The providers this site uses: the one EMAIL_URL selects (``anymail://mailgun``, which becomes
    EMAIL_BACKEND) and every provider named by an ANYMAIL setting (``ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY``:
    Mailgun, when it sends over SMTP but reports by webhook)."""
    names = set()
    backend = settings.EMAIL_BACKEND
    if backend.startswith("anymail.backends."):
        names.add(backend.split(".")[2])
    for key in getattr(settings, "ANYMAIL", None) or {}:
        names.update(name for name in PROVIDERS if key.lower().startswith(name + "_"))
    return names | {PROVIDER_ALIASES[name] for name in names if name in PROVIDER_ALIASES}


@dataclass(frozen=True)
class Outcome:
    """What an event amounts to for us: the MailEvent type, and whether it suppresses or unsubscribes."""

    type: str
    suppress: str = ""
    unsubscribe: bool = False
    bounces_delivery: bool = False


HARD_BOUNCE = Outcome(MailEvent.Type.HARD_BOUNCE, Suppression.Reason.HARD_BOUNCE, bounces_delivery=True)
SOFT_BOUNCE = Outcome(MailEvent.Type.SOFT_BOUNCE)
COMPLAINT = Outcome(MailEvent.Type.COMPLAINT, Suppression.Reason.COMPLAINT, unsubscribe=True)
UNSUBSCRIBE = Outcome(MailEvent.Type.UNSUBSCRIBE, unsubscribe=True)
REJECTED = Outcome(MailEvent.Type.HARD_BOUNCE, Suppression.Reason.REJECTED, bounces_delivery=True)
RECORD_ONLY = Outcome(MailEvent.Type.OTHER)


def provider_slug(esp_name):
    """The provider's name as in its webhook URL and in EMAIL_URL: "Amazon SES" -> "amazon_ses"."""
    return esp_name.lower().replace(" ", "_")


def _dig(data, path):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def is_temporary_bounce(provider, event):
    marker = SOFT_BOUNCE_MARKERS.get(provider)
    if marker is not None:
        value = _dig(event.esp_event, marker[0])
        if isinstance(value, str | bool) and value in marker[1]:
            return True
    return bool(event.mta_response and _temporary_reply.match(str(event.mta_response)))


def classify(provider, event):
    """The Outcome of an anymail tracking event, or None when it does not concern us."""
    kind = event.event_type
    if kind == EventType.BOUNCED:
        if event.reject_reason in PERMANENT_REASONS and not is_temporary_bounce(provider, event):
            return HARD_BOUNCE
        return SOFT_BOUNCE
    if kind == EventType.DEFERRED:
        return SOFT_BOUNCE
    if kind == EventType.COMPLAINED:
        return COMPLAINT
    if kind == EventType.UNSUBSCRIBED:
        return UNSUBSCRIBE
    if kind == EventType.REJECTED:
        return REJECTED if event.reject_reason in REJECTED_TO_SUPPRESS else RECORD_ONLY
    if kind == EventType.FAILED:
        return RECORD_ONLY
    return None


def event_key(provider, event, email):
    """The provider's event id, or a stable hash of what identifies the event when it gives none."""
    if event.event_id:
        key = str(event.event_id)
        return key if len(key) <= 255 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    when = event.timestamp.isoformat() if event.timestamp else None
    parts = [provider, email, event.event_type, when]
    if when is None:
        # Without a time the raw event is all that tells two reports apart.
        parts.append(json.dumps(event.esp_event, sort_keys=True, default=str))
    return "sha256:" + hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _found_message_ids(data, depth=0):
    """Message-ID values echoed anywhere in a provider's raw event (keys such as "messageId",
    "message-id", "smtp-id", or {"name": "Message-ID", "value": ...} header records)."""
    if depth > 6:
        return
    if isinstance(data, dict):
        name = data.get("name")
        if isinstance(name, str) and re.sub(r"[^a-z]", "", name.lower()) in _message_id_keys:
            yield data.get("value")
        for key, value in data.items():
            if isinstance(key, str) and re.sub(r"[^a-z]", "", key.lower()) in _message_id_keys:
                yield value
            if isinstance(value, dict | list):
                yield from _found_message_ids(value, depth + 1)
    elif isinstance(data, list):
        for value in data:
            yield from _found_message_ids(value, depth + 1)


def our_message_ids(event):
    found = [event.message_id, (event.metadata or {}).get("message_id")]
    found.extend(_found_message_ids(event.esp_event))
    ids = set()
    for value in found:
        if isinstance(value, str) and "@" in value:
            value = value.strip()
            ids.add(value if value.startswith("<") else f"<{value}>")
    return ids


def find_delivery(event, email):
    ids = our_message_ids(event)
    if not ids:
        return None
    return Delivery.objects.filter(message_id__in=ids, subscriber__email=email).order_by("-pk").first()


def describe(event):
    parts = [event.event_type]
    if event.reject_reason:
        parts[0] += f" ({event.reject_reason})"
    parts.extend(str(text) for text in (event.description, event.mta_response) if text)
    return ": ".join(parts)[:2000]


def soft_bounce_count(email, now=None):
    """Soft bounces of ``email`` within SOFT_BOUNCE_DAYS; several reports of one message count once."""
    since = (now or timezone.now()) - timedelta(days=settings.SOFT_BOUNCE_DAYS)
    recent = MailEvent.objects.filter(email=email, type=MailEvent.Type.SOFT_BOUNCE, occurred_at__gte=since)
    unmatched = recent.filter(delivery__isnull=True).count()
    messages = recent.filter(delivery__isnull=False).order_by().values("delivery").distinct().count()
    return unmatched + messages


def require_webhook_secret():
    if not get_anymail_setting("webhook_secret", default=None):
        raise AnymailWebhookValidationFailure(
            "Mail webhooks are switched off: set ANYMAIL_WEBHOOK_SECRET (user:password) and give the "
            "provider https://user:password@<site>/webhooks/mail/<provider>/tracking/."
        )


def record_event(sender, event, esp_name, **kwargs):
    """Receiver of anymail's ``tracking`` signal; see the module docstring for what each event does."""
    require_webhook_secret()
    provider = provider_slug(esp_name)
    outcome = classify(provider, event)
    if outcome is None:
        return
    email = normalise_email(event.recipient)
    if not email:
        logger.warning("%s %s event names no recipient; ignored", esp_name, event.event_type)
        return
    detail = describe(event)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = MailEvent.objects.create(
                    provider=provider,
                    event_id=event_key(provider, event, email),
                    type=outcome.type,
                    email=email,
                    occurred_at=event.timestamp or timezone.now(),
                    detail=detail,
                    delivery=find_delivery(event, email),
                )
        except IntegrityError:
            logger.info("%s event %s for %s already recorded", esp_name, event.event_id, email)
            return
        _act(record, outcome)


def _act(record, outcome):
    if outcome.bounces_delivery and record.delivery_id:
        Delivery.objects.filter(pk=record.delivery_id).update(
            status=Delivery.Status.BOUNCED, error=record.detail
        )
    if outcome.unsubscribe:
        subscriber = Subscriber.objects.filter(email=record.email).first()
        if subscriber is not None:
            subscriber.unsubscribe()
    reason = outcome.suppress
    if (
        record.type == MailEvent.Type.SOFT_BOUNCE
        and soft_bounce_count(record.email) >= settings.SOFT_BOUNCE_LIMIT
    ):
        reason = Suppression.Reason.SOFT_BOUNCES
    if reason:
        Suppression.add(record.email, reason, f"{record.provider}: {record.detail}")
        logger.info("Suppressed %s (%s) on a %s report", record.email, reason, record.provider)
