"""Providers' bounce and complaint webhooks, posted to the real URLs as the providers send them."""

import base64
import hashlib
import hmac
import json
import logging
from datetime import timedelta
from itertools import count

import pytest
from anymail.exceptions import AnymailInsecureWebhookWarning
from anymail.signals import AnymailTrackingEvent
from django.core.checks import run_checks
from django.test import Client
from django.utils import timezone

from watchdesk.delivery import broadcasts
from watchdesk.delivery.models import Broadcast, Delivery, MailEvent
from watchdesk.delivery.sender import send_pending
from watchdesk.delivery.webhooks import SOFT_BOUNCE, classify, configured_providers
from watchdesk.subscriptions.models import Subscriber, Suppression

SECRET = "hooks:s3cret-word"
SIGNING_KEY = "mailgun-signing-key"
POSTMARK_URL = "/webhooks/mail/postmark/tracking/"
MAILGUN_URL = "/webhooks/mail/mailgun/tracking/"
_ids = count(1000)


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    # Mailgun is configured by its signing key, Postmark by its server token.
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY,
        "POSTMARK_SERVER_TOKEN": "postmark-token",
    }
    settings.SOFT_BOUNCE_LIMIT = 3
    settings.SOFT_BOUNCE_DAYS = 7


@pytest.fixture
def client():
    """Providers send no CSRF token: the webhooks must not need one."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def lee(subscriber):
    """A confirmed reader whose mailbox is about to have problems."""
    return subscriber("lee.park@example.net", name="Lee Park")


def basic_auth(credentials=SECRET):
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


# Postmark: JSON, one event per request, basic auth only ----------------------------------------------
def postmark_bounce(email, type="HardBounce", *, event_id=None, at=None, **fields):
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": event_id or next(_ids),
        "Type": type,
        "TypeCode": 1,
        "Name": "Hard bounce",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": {},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "From": "noreply@watchdesk.example",
        "BouncedAt": iso(at or timezone.now()),
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Levee breach",
        **fields,
    }


def postmark_complaint(email):
    return {
        **postmark_bounce(email, "SpamComplaint"),
        "RecordType": "SpamComplaint",
        "Description": "The subscriber explicitly marked this message as spam.",
    }


def post_postmark(client, payload, auth=None):
    headers = basic_auth() if auth is None else auth
    return client.post(POSTMARK_URL, json.dumps(payload), content_type="application/json", **headers)


# Mailgun: JSON with an HMAC-SHA256 signature block, plus our basic auth ---------------------------
def mailgun_event(email, event="failed", *, severity="permanent", message_id=None, at=None, **fields):
    return {
        "event": event,
        "id": f"G9Bn5sl1TC6nu79C8C0b{next(_ids)}",
        "timestamp": (at or timezone.now()).timestamp(),
        "severity": severity,
        "reason": "bounce" if severity == "permanent" else "generic",
        "recipient": email,
        "delivery-status": {
            "code": 550 if severity == "permanent" else 452,
            "message": "5.1.1 The email account that you tried to reach does not exist"
            if severity == "permanent"
            else "4.2.2 Mailbox full, try again later",
            "description": "",
        },
        "message": {
            "headers": {
                "to": email,
                "message-id": (message_id or f"<{next(_ids)}.abc@mg.example.org>").strip("<>"),
                "from": "Watchdesk <noreply@watchdesk.example>",
                "subject": "Levee breach",
            }
        },
        "user-variables": {},
        **fields,
    }


def sign_mailgun(event_data, *, key=SIGNING_KEY, token=None):
    timestamp = str(int(timezone.now().timestamp()))
    token = token or hashlib.sha256(json.dumps(event_data, sort_keys=True).encode()).hexdigest()[:50]
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": event_data,
    }


def post_mailgun(client, payload, auth=None):
    headers = basic_auth() if auth is None else auth
    return client.post(MAILGUN_URL, json.dumps(payload), content_type="application/json", **headers)


def sent_delivery(reader, message_id):
    return Delivery.objects.create(
        kind=Delivery.Kind.WELCOME_BACK,
        subscriber=reader,
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
        message_id=message_id,
    )


# Hard bounces -----------------------------------------------------------------------------------------
def test_a_postmark_hard_bounce_suppresses_the_address_at_once(client, lee):
    response = post_postmark(client, postmark_bounce("Lee.Park@example.net"))
    assert response.status_code == 200
    suppression = Suppression.objects.get()
    assert (suppression.email, suppression.reason) == ("lee.park@example.net", "hard_bounce")
    assert "550 5.1.1" in suppression.detail
    event = MailEvent.objects.get()
    assert (event.provider, event.type, event.email) == ("postmark", "hard_bounce", "lee.park@example.net")
    # The subscription itself is untouched: lifting the suppression gives the reader back what they had.
    lee.refresh_from_db()
    assert lee.status == Subscriber.Status.CONFIRMED


def test_a_mailgun_hard_bounce_suppresses_and_marks_the_message_bounced(client, lee):
    delivery = sent_delivery(lee, "<1790000000.4f2a@watchdesk.example>")
    other = sent_delivery(lee, "<1790000001.9c1b@watchdesk.example>")
    payload = sign_mailgun(mailgun_event(lee.email, message_id=delivery.message_id))
    assert post_mailgun(client, payload).status_code == 200
    assert Suppression.objects.get(email=lee.email).reason == "hard_bounce"
    delivery.refresh_from_db()
    other.refresh_from_db()
    assert delivery.status == Delivery.Status.BOUNCED
    assert "5.1.1" in delivery.error
    assert other.status == Delivery.Status.SENT
    assert MailEvent.objects.get().delivery == delivery


def test_a_webhook_delivered_twice_counts_once(client, lee):
    payload = postmark_bounce(lee.email, event_id=4323372036854775807)
    assert post_postmark(client, payload).status_code == 200
    assert post_postmark(client, payload).status_code == 200
    signed = sign_mailgun(
        mailgun_event(lee.email), token="a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    )
    assert post_mailgun(client, signed).status_code == 200
    assert post_mailgun(client, signed).status_code == 200
    assert MailEvent.objects.filter(provider="postmark").count() == 1
    assert MailEvent.objects.filter(provider="mailgun").count() == 1
    assert Suppression.objects.count() == 1


def test_an_event_without_an_id_is_keyed_by_its_content(client, lee, settings):
    # Postmark gives no ID for subscription changes; the same report twice still counts once.
    payload = {
        "RecordType": "SubscriptionChange",
        "MessageID": "a4909a96-73e6-4c86-b5bd-bf1aa6a2ee2b",
        "ServerID": 23,
        "ChangedAt": iso(timezone.now()),
        "Recipient": lee.email,
        "Origin": "Recipient",
        "SuppressSending": True,
        "SuppressionReason": "ManualSuppression",
        "Metadata": {},
    }
    assert post_postmark(client, payload).status_code == 200
    assert post_postmark(client, payload).status_code == 200
    event = MailEvent.objects.get()
    assert event.type == "unsubscribe"
    assert event.event_id.startswith("sha256:")


# Soft bounces -----------------------------------------------------------------------------------------
def test_soft_bounces_suppress_only_when_the_limit_is_reached_within_the_window(client, lee):
    now = timezone.now()
    # Two soft bounces ten days ago are outside the seven-day window and do not count.
    for days in (10, 9):
        post_postmark(client, postmark_bounce(lee.email, "SoftBounce", at=now - timedelta(days=days)))
    post_postmark(client, postmark_bounce(lee.email, "SoftBounce", at=now - timedelta(days=2)))
    post_postmark(client, postmark_bounce(lee.email, "Transient", at=now - timedelta(days=1)))
    assert MailEvent.objects.filter(type="soft_bounce").count() == 4
    assert not Suppression.objects.exists()

    post_postmark(client, postmark_bounce(lee.email, "SoftBounce", at=now))
    suppression = Suppression.objects.get()
    assert (suppression.email, suppression.reason) == (lee.email, "soft_bounces")


def test_a_providers_retries_of_one_message_count_as_one_soft_bounce(client, lee):
    delivery = sent_delivery(lee, "<1790000002.77aa@watchdesk.example>")
    for _ in range(4):
        event = mailgun_event(lee.email, severity="temporary", message_id=delivery.message_id)
        assert post_mailgun(client, sign_mailgun(event)).status_code == 200
    assert MailEvent.objects.filter(type="soft_bounce").count() == 4
    assert not Suppression.objects.exists()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT  # the provider is still trying

    for n in range(2):
        other = sent_delivery(lee, f"<179000001{n}.77ab@watchdesk.example>")
        event = mailgun_event(lee.email, severity="temporary", message_id=other.message_id)
        post_mailgun(client, sign_mailgun(event))
    assert Suppression.objects.get().reason == "soft_bounces"


@pytest.mark.parametrize(
    ("provider", "raw", "fields"),
    [
        ("amazon_ses", {"bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull"}}, {}),
        ("brevo", {"event": "soft_bounce"}, {}),
        ("mailersend", {"data": {"type": "soft_bounced"}}, {}),
        ("sparkpost", {"msys": {"message_event": {"bounce_class": "22"}}}, {}),
        ("sendgrid", {"type": "blocked"}, {}),
        ("resend", {"data": {"bounce": {"type": "Transient"}}}, {}),
        ("smtp_like", {}, {"mta_response": "452 4.2.2 Mailbox full"}),
        ("sparkpost", {}, {"reject_reason": "blocked"}),
    ],
)
def test_bounces_a_provider_calls_temporary_are_soft(provider, raw, fields):
    event = AnymailTrackingEvent(event_type="bounced", esp_event=raw, recipient="x@example.net", **fields)
    assert classify(provider, event) == SOFT_BOUNCE


# Complaints, unsubscribes, rejections, and what is ignored --------------------------------------------
def test_a_complaint_unsubscribes_from_everything_and_suppresses(client, lee):
    assert post_postmark(client, postmark_complaint(lee.email)).status_code == 200
    lee.refresh_from_db()
    assert lee.status == Subscriber.Status.UNSUBSCRIBED
    assert lee.unsubscribed_at is not None
    assert Suppression.objects.get().reason == "complaint"
    assert MailEvent.objects.get().type == "complaint"


def test_a_providers_unsubscribe_unsubscribes_without_suppressing(client, lee):
    payload = sign_mailgun(mailgun_event(lee.email, event="unsubscribed", severity=None))
    assert post_mailgun(client, payload).status_code == 200
    lee.refresh_from_db()
    assert lee.status == Subscriber.Status.UNSUBSCRIBED
    assert not Suppression.objects.exists()


def test_a_rejected_invalid_address_is_suppressed(client, lee):
    assert post_postmark(client, postmark_bounce(lee.email, "BadEmailAddress")).status_code == 200
    assert Suppression.objects.get().reason == "rejected"


def test_deliveries_and_opens_store_nothing(client, lee):
    delivered = {
        "RecordType": "Delivery",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Recipient": lee.email,
        "DeliveredAt": iso(timezone.now()),
        "Details": "Test delivery webhook details",
        "Metadata": {},
    }
    assert post_postmark(client, delivered).status_code == 200
    opened = sign_mailgun(mailgun_event(lee.email, event="opened", severity=None))
    assert post_mailgun(client, opened).status_code == 200
    assert not MailEvent.objects.exists()
    assert not Suppression.objects.exists()


# Refusals ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "auth",
    [{}, basic_auth("hooks:wrong"), {"HTTP_AUTHORIZATION": "Bearer s3cret-word"}],
    ids=["none", "wrong password", "not basic"],
)
def test_postmark_without_the_right_credentials_is_refused(client, lee, auth):
    assert post_postmark(client, postmark_complaint(lee.email), auth=auth).status_code == 400
    assert not MailEvent.objects.exists()
    assert not Suppression.objects.exists()
    lee.refresh_from_db()
    assert lee.status == Subscriber.Status.CONFIRMED


def test_mailgun_with_a_bad_signature_is_refused(client, lee):
    forged = sign_mailgun(mailgun_event(lee.email), key="not-the-key")
    assert post_mailgun(client, forged).status_code == 400
    unsigned = {"event-data": mailgun_event(lee.email)}
    assert post_mailgun(client, unsigned).status_code == 400
    # A correct signature without our basic auth is refused too.
    signed = sign_mailgun(mailgun_event(lee.email))
    assert post_mailgun(client, signed, auth={}).status_code == 400
    assert not MailEvent.objects.exists()
    assert not Suppression.objects.exists()


def test_without_a_webhook_secret_every_webhook_is_refused(client, lee, settings):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY, "POSTMARK_SERVER_TOKEN": "token"}
    with pytest.warns(AnymailInsecureWebhookWarning):
        assert post_postmark(client, postmark_complaint(lee.email), auth={}).status_code == 400
    signed = sign_mailgun(mailgun_event(lee.email))
    assert post_mailgun(client, signed, auth={}).status_code == 400
    assert not MailEvent.objects.exists()
    assert not Suppression.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/webhooks/mail/sendgrid/tracking/",
        "/webhooks/mail/mandrill/tracking/",
        "/webhooks/mail/amazon_ses/tracking/",
    ],
)
def test_a_provider_this_site_does_not_use_is_a_quiet_404(client, lee, url, caplog):
    with caplog.at_level("DEBUG"):
        response = client.post(url, data="[]", content_type="application/json", **basic_auth())
    assert response.status_code == 404
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not MailEvent.objects.exists()


def test_a_provider_is_configured_by_email_url_or_its_anymail_settings(client, lee, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    assert configured_providers() == set()
    assert post_postmark(client, postmark_complaint(lee.email)).status_code == 404

    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"  # EMAIL_URL=anymail://postmark
    assert configured_providers() == {"postmark"}
    assert post_postmark(client, postmark_complaint(lee.email)).status_code == 200
    assert post_mailgun(client, sign_mailgun(mailgun_event(lee.email))).status_code == 404

    settings.ANYMAIL["MAILGUN_WEBHOOK_SIGNING_KEY"] = SIGNING_KEY  # sends by SMTP, reports by webhook
    settings.ANYMAIL["BREVO_API_KEY"] = "key"
    assert configured_providers() == {"postmark", "mailgun", "brevo", "sendinblue"}


def test_an_unconfigured_mailgun_was_a_500_with_an_error_and_is_now_a_404(client, lee, settings, caplog):
    # Mailgun's view needs its signing key; without one anymail raised ImproperlyConfigured.
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    with caplog.at_level("DEBUG"):
        response = post_mailgun(client, sign_mailgun(mailgun_event(lee.email)))
    assert response.status_code == 404
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_a_provider_without_a_webhook_secret_fails_the_system_check(settings):
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "token"}
    assert "delivery.W001" in [message.id for message in run_checks()]
    settings.ANYMAIL["WEBHOOK_SECRET"] = SECRET
    assert "delivery.W001" not in [message.id for message in run_checks()]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    del settings.ANYMAIL["WEBHOOK_SECRET"]
    assert "delivery.W001" not in [message.id for message in run_checks()]


# Lifting a suppression --------------------------------------------------------------------------------
def test_lifting_a_suppression_lets_the_sender_send_again(client, lee, make_post, mail_server):
    first = make_post("Levee breach")
    # Written by the fan-out before the bounce came in.
    row = Delivery.objects.create(
        kind=Delivery.Kind.POST, broadcast=Broadcast.objects.get(post=first), subscriber=lee
    )
    post_postmark(client, postmark_bounce(lee.email))
    assert send_pending() == {"skipped": 1}
    row.refresh_from_db()
    assert row.status == Delivery.Status.SKIPPED
    assert mail_server.messages == []

    Suppression.objects.filter(email=lee.email).delete()
    second = make_post("Levee repaired")
    assert broadcasts.fan_out_broadcast(Broadcast.objects.get(post=second)) == 1
    assert send_pending() == {"sent": 1}
    assert [message["Subject"] for message in mail_server.to(lee.email)] == ["Levee repaired"]
