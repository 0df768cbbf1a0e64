"""Alert channels: masking their URLs, checking them against the network policy, building their messages,
and writing their ledger rows (``ChannelDelivery``) when a post is published, a daily digest is due or the
wire raises an editor alert. Sending is ``channel_sender``'s. How agencies use them: docs/agencies.md.
"""

import hashlib
import ipaddress
import logging
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import apprise
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from watchdesk.core.fetch_policy import FetchError, parse_url
from watchdesk.core.fetcher import check_url
from watchdesk.core.outbound import check_host
from watchdesk.delivery.models import Broadcast, Channel, ChannelDelivery
from watchdesk.posts.models import StoryPost
from watchdesk.wire.alerts import INBOX_PERMISSION

logger = logging.getLogger(__name__)

HIDDEN = "****"
WEBHOOK_SCHEMA = "watchdesk.alert/1"

# Path words and query keys that are never secrets, so a masked URL still says where it goes.
PLAIN_PATH_WORDS = frozenset(
    {"api", "hook", "hooks", "webhook", "webhooks", "services", "notify", "alert", "alerts", "events",
     "message", "messages", "incoming", "ingest", "v1", "v2", "v3"}
)  # fmt: skip
PLAIN_QUERY_KEYS = frozenset({"method", "format", "priority", "mode", "overflow", "verify"})
_HOST_NAME = re.compile(r"(?i)([a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*\.?\Z")

# Apprise services that do not speak HTTP (mail, syslog, MQTT, desktop notifications...): the network
# policy can only guard HTTP connections, and e-mail has its own pipeline.
NOT_WEB_PLUGINS = frozenset(
    {"email", "syslog", "rsyslog", "aprs", "mqtt", "smpp", "growl", "dbus", "glib", "gnome", "macosx",
     "windows", "blink1", "kde"}
)  # fmt: skip
# Apprise services whose host is always one the channel's owner chose (so always checked when saved).
OWN_HOST_PLUGINS = frozenset({"custom_json", "custom_form", "custom_xml"})


# Masking ---------------------------------------------------------------------------------------------
def _looks_like_host(host):
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return bool(_HOST_NAME.match(host))


def _split(url):
    """``(masked URL, [secret pieces])`` for any URL-shaped string, Apprise's service URLs included:
    passwords, user names without a password, tokens in the host's place, path segments, query values
    and fragments are secrets; the scheme, a real host name and its port and a few plain words are not."""
    scheme, sep, rest = (url or "").strip().partition("://")
    if not sep:
        return HIDDEN, [url] if url else []
    found = []

    def hide(value):
        if value:
            found.append(value)
            return HIDDEN
        return value

    rest, hashed, fragment = rest.partition("#")
    rest, questioned, query = rest.partition("?")
    authority, slashed, path = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    shown = ""
    if at:
        user, colon, password = userinfo.partition(":")
        shown = f"{user}:{hide(password)}@" if colon else f"{hide(user)}@"
    if hostport.startswith("["):
        host, bracket, port = hostport.partition("]")
        host, port = host + bracket, port.removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    shown += host if _looks_like_host(host) else hide(host)
    if port:
        shown += ":" + (port if port.isdigit() else hide(port))
    if slashed:
        segments = [s if not s or s.lower() in PLAIN_PATH_WORDS else hide(s) for s in path.split("/")]
        shown += "/" + "/".join(segments)
    if questioned:
        pairs = []
        for pair in query.split("&"):
            key, equals, value = pair.partition("=")
            plain = key.lower() in PLAIN_QUERY_KEYS
            pairs.append(f"{key}{equals}{value if plain else hide(value)}" if equals else pair)
        shown += "?" + "&".join(pairs)
    if hashed:
        shown += "#" + hide(fragment)
    return f"{scheme}://{shown}", found


def mask_url(url):
    """``url`` with every secret replaced by ****: safe for lists, forms, logs and error messages."""
    return _split(url)[0]


def scrub(text, url):
    """``text`` (an error message, a log line) with every secret of ``url`` in it replaced by ****."""
    text = str(text)
    if url and url.strip() in text:
        text = text.replace(url.strip(), mask_url(url))
    for piece in sorted(set(_split(url)[1]), key=len, reverse=True):
        if len(piece) >= 4:
            for spelling in {piece, quote(piece, safe="")}:
                text = text.replace(spelling, HIDDEN)
    return text


# Checking -------------------------------------------------------------------------------------------
def new_secret():
    return secrets.token_urlsafe(32)


WEBHOOK_PREFIX = "watchdesk+"


def split_kind(url):
    """``watchdesk+https://...`` names a signed webhook; anything else is an Apprise URL."""
    url = (url or "").strip()
    if url.lower().startswith(WEBHOOK_PREFIX):
        return Channel.Kind.WEBHOOK, url[len(WEBHOOK_PREFIX) :]
    return Channel.Kind.APPRISE, url


def service_for(url):
    """The Apprise plugin for ``url``, or None when Apprise does not know it."""
    return apprise.Apprise.instantiate(url, suppress_exceptions=True)


def plugin_name(plugin):
    return type(plugin).__module__.rsplit(".", 1)[-1] if plugin is not None else ""


class Unusable(Exception):
    """A URL that can never be a channel (unknown to Apprise, not HTTP)."""


def check_channel_url(kind, url):
    """Raise ``Unusable``, ``FetchRefused`` (the policy rules the host out) or ``FetchError`` (it cannot be
    resolved), each with a masked reason. Resolves the host the URL names and applies the fetch policy, so
    127.0.0.1 or 169.254.169.254 are refused here, when saving, and again before each send."""
    url = (url or "").strip()
    if not url:
        raise Unusable("Enter a URL.")
    try:
        if kind == Channel.Kind.WEBHOOK:
            check_url(url)
            target = parse_url(url)
            port = target.port or (443 if target.scheme == "https" else 80)
            check_host(target.raw_host.decode("ascii"), port)
            return
        plugin = service_for(url)
        if plugin is None:
            raise Unusable(
                "Apprise does not recognise this URL; docs/agencies.md lists services and their URLs."
            )
        if any(part in NOT_WEB_PLUGINS for part in type(plugin).__module__.split(".")[2:]):
            raise Unusable("This service does not work over HTTP(S), so it cannot be an alert channel.")
        host = str(getattr(plugin, "host", "") or "")
        if host and (plugin_name(plugin) in OWN_HOST_PLUGINS or _looks_like_host(host)):
            port = getattr(plugin, "port", None)
            check_host(
                host, port if isinstance(port, int) else (443 if getattr(plugin, "secure", False) else 80)
            )
    except FetchError as error:
        error.reason = scrub(error.reason, url)
        error.args = (error.reason,)
        raise


def url_problem(kind, url):
    """Why ``url`` cannot be a channel of ``kind`` (masked, for people), or None."""
    try:
        check_channel_url(kind, url)
    except (Unusable, FetchError) as error:
        return str(error)
    return None


def validate_channel_url(kind, url):
    problem = url_problem(kind, url)
    if problem:
        raise ValidationError(problem, code="refused")


# Messages -------------------------------------------------------------------------------------------
@dataclass
class Message:
    """What a channel is sent: ``title`` and a Markdown ``body`` for Apprise; ``data`` for signed webhooks."""

    kind: str
    title: str
    body: str
    url: str = ""
    data: dict = field(default_factory=dict)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“'(])")


_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")


def plain_text(markdown):
    """Our Markdown as plain text: "**Outlet:** X" -> "Outlet: X", "[Read](url)" -> "Read: url"."""
    return _LINK.sub(r"\1: \2", markdown.replace("**", ""))


def first_sentence(text):
    text = " ".join((text or "").split())
    return _SENTENCE_END.split(text, maxsplit=1)[0] if text else ""


def post_facts(post):
    regions = [link.region for link in post.region_links.select_related("region")]
    return {
        "title": post.title,
        "url": post.get_full_url(),
        "summary": first_sentence(post.summary),
        "outlet": post.source_name,
        "source_url": post.source_url,
        "topics": [{"slug": topic.slug, "name": topic.name} for topic in post.topics.all()],
        "places": [{"code": region.code, "name": region.name} for region in regions],
        "published_at": post.first_published_at.isoformat() if post.first_published_at else None,
    }


def _lines(facts):
    lines = [f"**Outlet:** {facts['outlet']}"]
    if facts["places"]:
        lines.append("**Places:** " + ", ".join(place["name"] for place in facts["places"]))
    if facts["topics"]:
        lines.append("**Topics:** " + ", ".join(topic["name"] for topic in facts["topics"]))
    return lines


def broadcast_message(broadcast):
    """The message of one broadcast of a post. Takes the broadcast, not the post, so that what a broadcast
    says of itself (an update's text, later) has one place to go."""
    post = broadcast.post.specific if not isinstance(broadcast.post, StoryPost) else broadcast.post
    facts = post_facts(post)
    if broadcast.is_update:
        # An editor's update of a post: the line first, then what it updates.
        body = "\n".join(
            [f"**Update:** {broadcast.text}", "", *_lines(facts), "", f"[Read the post]({facts['url']})"]
        )
        data = {
            "update": {"text": broadcast.text, "sent_at": broadcast.created_at.isoformat()},
            "post": facts,
        }
        return Message("update", f"Update: {facts['title']}", body.strip(), facts["url"], data)
    body = "\n".join([*_lines(facts), "", facts["summary"], "", f"[Read the post]({facts['url']})"])
    return Message("post", facts["title"], body.strip(), facts["url"], {"post": facts})


def digest_message(posts, day):
    items = [post_facts(post) for post in posts]
    lines = [f"- [{facts['title']}]({facts['url']}) ({facts['outlet']})" for facts in items]
    title = f"{len(items)} new post{'s' if len(items) != 1 else ''} on {day:%A %-d %B}"
    return Message("digest", title, "\n".join(lines), settings.SITE_URL + "/", {"posts": items})


ALERT_TITLES = {"breaking": "Breaking", "score": "Over the threshold"}


def story_alert_message(alert):
    cluster = alert.cluster
    reason = ALERT_TITLES.get(alert.reason, "Story alert")
    outlets = alert.outlets
    body = (
        f"Reported by {outlets} outlet{'s' if outlets != 1 else ''} · score {cluster.score:.0f}\n\n"
        f"[Open in the inbox]({alert.url})"
    )
    data = {
        "story": {
            "title": cluster.title,
            "reason": alert.reason,
            "outlets": outlets,
            "score": round(float(cluster.score), 2),
            "url": alert.url,
        }
    }
    return Message("story_alert", f"{reason}: {cluster.title}", body, alert.url, data)


def test_message(channel):
    return Message(
        "test",
        "Test alert from Watchdesk",
        f"This channel, **{channel.name}**, is set up to receive Watchdesk alerts.",
        settings.SITE_URL + "/",
        {},
    )


def idempotency_key(channel_id, key):
    """Stable per (what is sent, channel): a retry or a repeat after a crash carries the same key."""
    return hashlib.sha256(f"{channel_id}:{key}".encode()).hexdigest()[:32]


def webhook_payload(row, message, now=None):
    key = idempotency_key(row.channel_id, row.key)
    payload = {
        "schema": WEBHOOK_SCHEMA,
        "id": key,
        "idempotency_key": key,
        "kind": message.kind,
        "sent_at": (now or timezone.now()).isoformat(),
        "title": message.title,
        "url": message.url,
    }
    payload.update(message.data)
    return payload


# Writing the ledger ---------------------------------------------------------------------------------
def fan_out_to_channels(broadcast):
    """One row per unpaused instant reader channel whose scope covers the post. Safe to repeat. An
    update goes where its post went: nowhere if the post was published without "E-mail subscribers"."""
    post = broadcast.post
    if not post.live:
        return 0
    if broadcast.is_update and not Broadcast.objects.filter(post=post, kind=Broadcast.Kind.POST).exists():
        return 0
    channels = (
        Channel.objects.active()
        .filter(purpose=Channel.Purpose.READERS, cadence=Channel.Cadence.INSTANT)
        .interested_in(post)
    )
    rows = [
        ChannelDelivery(
            channel_id=pk, kind=ChannelDelivery.Kind.POST, key=f"post:{broadcast.pk}", broadcast=broadcast
        )
        for pk in channels.values_list("pk", flat=True)
    ]
    ChannelDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


def on_duty_editors():
    """The people editor alerts go to now: active, on duty, and still allowed to work the inbox."""
    return (
        get_user_model()
        .objects.with_perm(INBOX_PERMISSION, backend="django.contrib.auth.backends.ModelBackend")
        .filter(desk_alert_preference__on_duty=True)
    )


def editor_alert_channels():
    """Unpaused editors' channels: the desk's own, and each editor's own while that editor is on duty."""
    return (
        Channel.objects.active()
        .filter(purpose=Channel.Purpose.EDITORS)
        .filter(Q(owner__isnull=True) | Q(owner__in=on_duty_editors().values("pk")))
    )


def record_story_alert(alert):
    """One row per editors' channel that alert reaches; the message is fixed now (the alert is a
    moment's news)."""
    message = story_alert_message(alert)
    rows = [
        ChannelDelivery(
            channel_id=pk,
            kind=ChannelDelivery.Kind.ALERT,
            key=f"alert:{alert.pk}",
            message={"title": message.title, "body": message.body, "url": message.url, "data": message.data},
        )
        for pk in editor_alert_channels().values_list("pk", flat=True)
    ]
    ChannelDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


def record_test(channel):
    return ChannelDelivery.objects.create(
        channel=channel, kind=ChannelDelivery.Kind.TEST, key=f"test:{uuid.uuid4().hex}"
    )


def digest_day_end(now=None):
    """The latest daily digest time (``CHANNEL_DIGEST_HOUR`` in the site's ``TIME_ZONE``) at or before now."""
    now = now or timezone.now()
    zone = ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(zone)
    at = datetime.combine(local.date(), time(settings.CHANNEL_DIGEST_HOUR), zone)
    return (
        at
        if at <= local
        else datetime.combine(local.date() - timedelta(days=1), time(settings.CHANNEL_DIGEST_HOUR), zone)
    )


def plan_channel_digests(now=None):
    """Write today's digest row for each daily channel that has not had one: a window from its last
    digest (or a day back) to today's digest time. The key is the local date, so it happens once a day."""
    end = digest_day_end(now)
    written = 0
    due = Channel.objects.active().filter(purpose=Channel.Purpose.READERS, cadence=Channel.Cadence.DAILY)
    for channel in due.exclude(last_digest_at__gte=end):
        since = channel.last_digest_at or max(channel.created_at, end - timedelta(days=1))
        _, created = ChannelDelivery.objects.get_or_create(
            channel=channel,
            key=f"digest:{end.date().isoformat()}",
            defaults={
                "kind": ChannelDelivery.Kind.DIGEST,
                "message": {"since": since.isoformat(), "until": end.isoformat()},
            },
        )
        Channel.objects.filter(pk=channel.pk).update(last_digest_at=end)
        written += created
    return written


def digest_posts(channel, since, until):
    """Posts published to be e-mailed in (since, until] that the channel's scope covers, oldest first."""
    posts = StoryPost.objects.live().filter(
        first_published_at__gt=since, first_published_at__lte=until, broadcasts__kind=Broadcast.Kind.POST
    )
    if not channel.everything:
        topic_ids = [topic.pk for topic in channel.topics.all()]
        regions = list(channel.regions.all())
        if not (topic_ids or regions):
            return []
        posts = posts.in_scope(topic_ids, regions)
    return list(posts.order_by("first_published_at"))
