"""From a published post, an update of one, or a digest period to one ``Delivery`` row per subscriber who
should get it.

Fan-out walks the subscribers in primary-key order, a few thousand at a time, and inserts with
``ignore_conflicts`` against the ledger's unique constraints: memory stays flat however many subscribers
there are, and running it twice (a retried task, two workers, the sweep) adds nothing.
"""

import logging
from datetime import timedelta

from django.db.models import Count, Exists, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from watchdesk.delivery.channels import fan_out_to_channels
from watchdesk.delivery.models import Broadcast, Delivery, Digest
from watchdesk.posts.models import StoryPost
from watchdesk.subscriptions import schedule
from watchdesk.subscriptions.models import Cadence, Subscriber

logger = logging.getLogger(__name__)

CHUNK = 2000


def record_publication(post):
    """Called inside the transaction that makes ``post`` live: its Broadcast, created the first time
    only. Returns ``(broadcast, created)``."""
    return Broadcast.objects.get_or_create(post=post, kind=Broadcast.Kind.POST)


def record_update(post, text, user=None):
    """An update of the live ``post``, to be sent to the post's audience. Returns ``(broadcast,
    created)``: the same line sent twice (a double click) is the one Broadcast already there."""
    return Broadcast.objects.get_or_create(
        post=post, kind=Broadcast.Kind.UPDATE, text=text, defaults={"created_by": user}
    )


def post_broadcasts():
    return Broadcast.objects.filter(kind=Broadcast.Kind.POST)


def at_once_audience(post):
    """Who gets ``post``, and each of its updates, by e-mail as it goes out."""
    return Subscriber.objects.receiving().at_once(post.urgent).interested_in(post)


def _insert(subscriber_ids, kind, **source):
    """Insert one ledger row per subscriber id, in chunks, skipping the ones already there."""
    total = 0
    last = 0
    while True:
        chunk = list(subscriber_ids.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:CHUNK])
        if not chunk:
            return total
        Delivery.objects.bulk_create(
            [Delivery(kind=kind, subscriber_id=pk, **source) for pk in chunk],
            ignore_conflicts=True,
            batch_size=500,
        )
        total += len(chunk)
        last = chunk[-1]


def fan_out_broadcast(broadcast):
    """Write the ledger rows of a post's e-mail, or of an update of it. Returns the number of
    recipients: the post's at-once readers (an update of a post that was never e-mailed goes to none)."""
    post = broadcast.post
    # Channels first: a handful of rows that should not wait behind a hundred thousand e-mail rows.
    channels = fan_out_to_channels(broadcast)
    if not post.live:
        # Unpublished before it went out: nobody gets it (and a later republish does not send it).
        recipients = 0
    elif broadcast.is_update and not post_broadcasts().filter(post=post).exists():
        recipients = 0
    else:
        kind = Delivery.Kind.UPDATE if broadcast.is_update else Delivery.Kind.POST
        recipients = _insert(at_once_audience(post), kind, broadcast=broadcast)
    Broadcast.objects.filter(pk=broadcast.pk, fanned_out_at__isnull=True).update(
        fanned_out_at=timezone.now(), recipients=recipients
    )
    logger.info(
        "Broadcast %s of post %s: %s recipients, %s channels", broadcast.pk, post.pk, recipients, channels
    )
    return recipients


def audience(post, topic_ids, region_ids, urgent=False):
    """What publishing ``post`` with these topics and regions would e-mail: ``instant``, the subscribers
    who get it at once, ``breaking``, how many of them are digest readers who asked for urgent posts at
    once (none unless ``urgent``), and ``digest``, the readers who get it in their next digest (the
    fan-out's and the digests' own selection); or, when it was e-mailed already, ``sent_at`` and
    ``sent_to``. The answer to the ``count_post_recipients`` hook of the post editor."""
    broadcast = post_broadcasts().filter(post=post).first() if post is not None and post.pk else None
    if broadcast is not None:
        return {"sent_at": broadcast.created_at, "sent_to": broadcast.recipients}
    digest = ~Q(cadence=Cadence.INSTANT)
    breaking = digest & Q(urgent_at_once=True) if urgent else Q(pk__in=[])
    return (
        Subscriber.objects.receiving()
        .interested_in_terms(topic_ids, region_ids)
        .aggregate(
            instant=Count("pk", filter=Q(cadence=Cadence.INSTANT) | breaking),
            breaking=Count("pk", filter=breaking),
            digest=Count("pk", filter=digest & ~breaking),
        )
    )


def update_audience(post):
    """Who an update of ``post`` reaches: ``instant`` (by e-mail now, as the post did), ``breaking``
    (of them, digest readers of an urgent post) and ``digest`` (in their next digest)."""
    if not post_broadcasts().filter(post=post).exists():
        return {"instant": 0, "breaking": 0, "digest": 0}
    return audience(
        None,
        post.topics.values_list("pk", flat=True),
        post.region_links.values_list("region_id", flat=True),
        urgent=post.urgent,
    )


def updates_of(post_ids):
    """``{post_id: [update Broadcast, ...]}``, newest first: the ``post_updates`` hook of the posts app."""
    found = {}
    updates = Broadcast.objects.filter(kind=Broadcast.Kind.UPDATE, post_id__in=list(post_ids))
    for update in updates.only("post_id", "kind", "text", "created_at").order_by("-created_at", "-pk"):
        found.setdefault(update.post_id, []).append(update)
    return found


# Digests ---------------------------------------------------------------------------------------------
def due_digests(now=None):
    """The (cadence, UTC instant) of every digest whose time has come for some confirmed reader."""
    now = now or timezone.now()
    return list(
        Subscriber.objects.confirmed()
        .filter(next_digest_at__lte=now, cadence__in=Digest.Cadence.values)
        .values_list("cadence", "next_digest_at")
        .distinct()
        .order_by("next_digest_at", "cadence")
    )


def plan_digests(now=None):
    """Create each due digest (once, whoever runs this) and fan it out. Returns the digests fanned out."""
    now = now or timezone.now()
    fanned = []
    for cadence, instant in due_digests(now):
        digest, _ = Digest.objects.get_or_create(
            key=schedule.digest_key(cadence, instant), defaults={"cadence": cadence, "period_end": instant}
        )
        fan_out_digest(digest, now)
        fanned.append(digest)
    return fanned


def fan_out_digest(digest, now=None):
    """Write a ledger row for each receiving reader due at this digest's instant, then move every
    confirmed reader due then to their next digest time. Safe to repeat: rows are unique per digest and
    per reader's local period, and readers already moved on are not due here any more."""
    now = now or timezone.now()
    due = Subscriber.objects.confirmed().filter(cadence=digest.cadence, next_digest_at=digest.period_end)
    _insert_digest(due.receiving().filter(confirmed_at__lt=digest.period_end), digest)
    after = max(digest.period_end, now)
    # Paused readers move on too: resuming does not send a digest at once.
    readers = due.values_list("time_zone", "digest_hour", "weekly_digest_day").distinct().order_by()
    for zone, hour, weekday in readers:
        due.filter(time_zone=zone, digest_hour=hour, weekly_digest_day=weekday).update(
            next_digest_at=schedule.next_send(after, digest.cadence, zone, hour, weekday)
        )
    recipients = digest.deliveries.count()
    Digest.objects.filter(pk=digest.pk).update(
        fanned_out_at=Coalesce("fanned_out_at", Value(now)), recipients=recipients
    )
    logger.info("%s: %s recipients", digest, recipients)
    return recipients


def _insert_digest(subscribers, digest):
    """``_insert`` for a digest: each row also carries its reader's local period."""
    last = 0
    while True:
        chunk = list(subscribers.filter(pk__gt=last).order_by("pk").values_list("pk", "time_zone")[:CHUNK])
        if not chunk:
            return
        periods = {}
        for _, zone in chunk:
            if zone not in periods:
                periods[zone] = schedule.period_of(digest.cadence, digest.period_end, zone)
        Delivery.objects.bulk_create(
            [
                Delivery(kind=Delivery.Kind.DIGEST, subscriber_id=pk, digest=digest, period=periods[zone])
                for pk, zone in chunk
            ],
            ignore_conflicts=True,
            batch_size=500,
        )
        last = chunk[-1][0]


def _digest_since(subscriber, digest):
    return subscriber.last_digest_at or subscriber.confirmed_at or (digest.period_end - timedelta(days=7))


def _got_at_once(subscriber, **broadcast):
    """Whether ``subscriber`` has (or is about to have) ``broadcast`` by e-mail, outside digests: an
    urgent post or update sent at once is left out of their digest. A row that failed, bounced or was
    skipped did not reach them, so the digest carries it."""
    gone_wrong = [Delivery.Status.FAILED, Delivery.Status.BOUNCED, Delivery.Status.SKIPPED]
    return Exists(Delivery.objects.filter(subscriber=subscriber, **broadcast).exclude(status__in=gone_wrong))


def digest_posts(subscriber, digest):
    """The live posts published since the subscriber's last digest, up to the end of this period, that
    are inside their scope and were published to be e-mailed, newest first; not those they got at once
    (urgent posts, for readers who asked for breaking news at once)."""
    since = _digest_since(subscriber, digest)
    # A post has a post Broadcast if and only if it went live with "e-mail subscribers" ticked.
    posts = StoryPost.objects.live().filter(
        Exists(post_broadcasts().filter(post=OuterRef("pk"))),
        first_published_at__gt=since,
        first_published_at__lte=digest.period_end,
    )
    posts = posts.exclude(
        _got_at_once(subscriber, broadcast__post=OuterRef("pk"), broadcast__kind=Broadcast.Kind.POST)
    )
    return list(subscriber.posts_in_scope(posts).order_by("-first_published_at"))


def digest_updates(subscriber, digest):
    """The updates sent since the subscriber's last digest, up to the end of this period, of e-mailed
    live posts inside their scope, oldest first, each with its ``post``; not those they got at once."""
    since = _digest_since(subscriber, digest)
    posts = subscriber.posts_in_scope(
        StoryPost.objects.live().filter(Exists(post_broadcasts().filter(post=OuterRef("pk"))))
    )
    return list(
        Broadcast.objects.filter(
            kind=Broadcast.Kind.UPDATE,
            created_at__gt=since,
            created_at__lte=digest.period_end,
            post__in=posts.values("pk"),
        )
        .exclude(_got_at_once(subscriber, broadcast=OuterRef("pk")))
        .select_related("post")
        .order_by("created_at", "pk")
    )
