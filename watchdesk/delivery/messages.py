"""Every e-mail Watchdesk sends to a reader, built in one place.

Each kind of message has a template trio under ``templates/email/``: ``KIND_subject.txt``, ``KIND.txt``
and ``KIND.html``. A message is multipart/alternative (text and HTML), branded with the site's name and
tagline, has a ``Message-ID`` on the site's domain and a ``Date``, and, when it goes to a subscriber,
RFC 8058 one-click unsubscribe headers. With ``DKIM_PRIVATE_KEY`` set it is DKIM-signed, the unsubscribe
headers included in the signature.

A post going to many subscribers is rendered once (``PostFrame``); each copy only has its links filled
in, and its MIME bytes are written directly (base64 parts, pre-encoded headers) rather than built as a
Django e-mail per reader, which costs several times more (bench/README.md).
"""

import base64
import re
import secrets
import time
from dataclasses import dataclass, field
from email.header import Header
from email.headerregistry import Address
from email.utils import formataddr, formatdate, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Site

from watchdesk.core.models import SiteIdentity

UNSUBSCRIBE = "WDLINKUNSUBSCRIBE"
PREFERENCES = "WDLINKPREFERENCES"
READER_LINK = "WDLINKREADER"
_newlines = re.compile(r"[\r\n]+")


def site_identity():
    site = Site.objects.filter(is_default_site=True).first() or Site.objects.first()
    return SiteIdentity.for_site(site) if site else SiteIdentity(name=settings.WAGTAIL_SITE_NAME)


def branding(identity=None):
    identity = identity or site_identity()
    return {"site_name": identity.name, "tagline": identity.tagline, "site_url": settings.SITE_URL}


def _header(value):
    """A header value on one logical line, RFC 2047-encoded when it is not plain ASCII."""
    value = _newlines.sub(" ", value).strip()
    if value.isascii() and len(value) < 900:
        return value
    return Header(value, "utf-8", maxlinelen=76).encode(linesep="\r\n")


def _address(name, email):
    return formataddr((_newlines.sub(" ", name or "").strip(), email), charset="utf-8")


def _base64(text):
    return base64.encodebytes(text.encode("utf-8")).replace(b"\n", b"\r\n")


def _domain():
    return settings.DKIM_DOMAIN or settings.SITE_HOST or "localhost"


def new_message_id():
    return f"<{int(time.time())}.{secrets.token_hex(10)}@{_domain()}>"


def envelope_sender():
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def from_header(identity=None):
    """Who mail to readers is from: DEFAULT_FROM_EMAIL, under the site's name (Site identity) unless the
    setting names itself ("Tips desk <tips@example.org>")."""
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    name = _newlines.sub(" ", name or (identity or site_identity()).name).strip()
    return str(Address(display_name=name, addr_spec=address))


def reply_headers():
    """Reply-To for mail to subscribers, when EMAIL_REPLY_TO is set (replies reach people, not noreply)."""
    return {"Reply-To": settings.EMAIL_REPLY_TO} if settings.EMAIL_REPLY_TO else {}


@dataclass
class Outgoing:
    """One e-mail to one reader, ready for any transport."""

    to: str
    subject: str
    text: str
    html: str
    headers: dict = field(default_factory=dict)
    message_id: str = field(default_factory=new_message_id)
    to_name: str = ""
    sender: str = ""

    def __post_init__(self):
        self.sender = self.sender or from_header()

    def as_bytes(self):
        """The complete message, DKIM-signed when a key is configured."""
        boundary = f"=_wd_{secrets.token_hex(12)}"
        head = [
            f"From: {_address(*parseaddr(self.sender))}",
            f"To: {_address(self.to_name, self.to)}",
            f"Subject: {_header(self.subject)}",
            f"Date: {formatdate(usegmt=True)}",
            f"Message-ID: {self.message_id}",
            "MIME-Version: 1.0",
            *(f"{name}: {_header(value)}" for name, value in self.headers.items()),
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
            "",
            f"--{boundary}",
            'Content-Type: text/plain; charset="utf-8"',
            "Content-Transfer-Encoding: base64",
            "",
            "",
        ]
        middle = [
            f"--{boundary}",
            'Content-Type: text/html; charset="utf-8"',
            "Content-Transfer-Encoding: base64",
            "",
            "",
        ]
        raw = b"".join(
            [
                "\r\n".join(head).encode("ascii"),
                _base64(self.text),
                "\r\n".join(middle).encode("ascii"),
                _base64(self.html),
                f"--{boundary}--\r\n".encode("ascii"),
            ]
        )
        return dkim_sign(raw)

    def as_django(self):
        """The same message as a Django e-mail, for backends that take those (providers, locmem)."""
        headers = dict(self.headers)
        reply_to = headers.pop("Reply-To", None)
        message = EmailMultiAlternatives(
            subject=self.subject,
            body=self.text,
            from_email=self.sender,
            # As reply_to, not a header: providers' APIs (anymail) take it as a field.
            reply_to=[reply_to] if reply_to else None,
            # The name unencoded: Django and the provider's API encode it themselves (an RFC 2047 word
            # here would reach a provider's JSON API, and the reader, literally).
            to=[str(Address(display_name=_newlines.sub(" ", self.to_name or "").strip(), addr_spec=self.to))],
            headers={"Message-ID": self.message_id, **headers},
        )
        message.attach_alternative(self.html, "text/html")
        # Providers that report only their own message id echo this back in webhook events, which is
        # how a bounce finds its Delivery row (watchdesk.delivery.webhooks).
        message.metadata = {"message_id": self.message_id}
        return message


def dkim_sign(raw):
    if not settings.DKIM_PRIVATE_KEY:
        return raw
    import dkim

    signature = dkim.sign(
        raw,
        settings.DKIM_SELECTOR.encode(),
        _domain().encode(),
        settings.DKIM_PRIVATE_KEY.encode(),
        include_headers=[
            b"From",
            b"To",
            b"Subject",
            b"Date",
            b"Message-ID",
            b"MIME-Version",
            b"Content-Type",
            b"List-Unsubscribe",
            b"List-Unsubscribe-Post",
            b"List-Id",
            b"Reply-To",
        ],
    )
    return signature + raw


def list_id(identity=None):
    return f"{_newlines.sub(' ', (identity or site_identity()).name)} <subscribers.{_domain()}>"


def list_headers(subscriber, list_id_value=None, unsubscribe_url=None):
    """RFC 2369/8058 headers: a one-click unsubscribe URL holding the subscriber's opaque token."""
    return {
        "List-Id": list_id_value or list_id(),
        "List-Unsubscribe": f"<{unsubscribe_url or subscriber.unsubscribe_url()}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def render(kind, context, identity=None):
    """Render the template trio of ``kind``: (subject, text, html)."""
    context = {**branding(identity), **context}
    subject = render_to_string(f"email/{kind}_subject.txt", context).strip()
    text = render_to_string(f"email/{kind}.txt", context)
    html = render_to_string(f"email/{kind}.html", context)
    return subject, text, html


def subscriber_message(kind, subscriber, context=None, *, unsubscribe=True):
    """A one-off message to a subscriber (confirmation, digest, notices)."""
    context = {
        "subscriber": subscriber,
        "preferences_url": subscriber.preferences_url(),
        "unsubscribe_url": subscriber.unsubscribe_url(),
        **(context or {}),
    }
    identity = site_identity()
    # Times in the message read in the reader's own zone.
    with timezone.override(subscriber.time_zone):
        subject, text, html = render(kind, context, identity)
    return Outgoing(
        to=subscriber.email,
        to_name=subscriber.name,
        subject=subject,
        text=text,
        html=html,
        headers={**(list_headers(subscriber) if unsubscribe else {}), **reply_headers()},
        sender=from_header(identity),
    )


def post_context(post):
    context = {
        "post": post,
        "post_url": post.get_full_url(),
        "topics": list(post.topics.all()),
        "regions": [link.region for link in post.region_links.select_related("region")],
    }
    context["item"] = dict(context)
    return context


def digest_context(digest, posts, updates):
    """A digest's posts, each with the updates sent since the last digest under it, and the updates of
    posts from earlier digests on their own lines (``earlier_updates``)."""
    by_post = {}
    for update in updates:
        by_post.setdefault(update.post_id, []).append(update)
    items = []
    for post in posts:
        item = post_context(post)
        item["updates"] = by_post.pop(post.pk, [])
        items.append(item)
    earlier = [
        {"update": update, "post": update.post, "post_url": update.post.get_full_url()}
        for post_updates in by_post.values()
        for update in post_updates
    ]
    return {"digest": digest, "posts": items, "earlier_updates": earlier, "update_count": len(updates)}


class PostFrame:
    """A post's e-mail, or an update's (``update``, a Broadcast), rendered once per time zone, with
    placeholders where each subscriber's links go."""

    def __init__(self, post, time_zone=None, update=None):
        self.post = post
        identity = site_identity()
        self.list_id = list_id(identity)
        self.sender = from_header(identity)
        with timezone.override(time_zone or settings.TIME_ZONE):
            self.subject, self.text, self.html = render(
                "update" if update else "post",
                {
                    **post_context(post),
                    "update": update,
                    "preferences_url": PREFERENCES,
                    "unsubscribe_url": UNSUBSCRIBE,
                },
                identity,
            )
        # Readers' links differ only by their token: reverse() them once here, not three times per reader.
        self.unsubscribe_url, self.preferences_url = (
            settings.SITE_URL + reverse(f"subscriptions:{name}", args=[READER_LINK])
            for name in ("unsubscribe", "preferences")
        )

    def for_subscriber(self, subscriber):
        token = subscriber.link_token
        unsubscribe = self.unsubscribe_url.replace(READER_LINK, token)
        preferences = self.preferences_url.replace(READER_LINK, token)

        def fill(template):
            return template.replace(UNSUBSCRIBE, unsubscribe).replace(PREFERENCES, preferences)

        return Outgoing(
            to=subscriber.email,
            to_name=subscriber.name,
            subject=self.subject,
            text=fill(self.text),
            html=fill(self.html),
            headers={**list_headers(subscriber, self.list_id, unsubscribe), **reply_headers()},
            sender=self.sender,
        )
