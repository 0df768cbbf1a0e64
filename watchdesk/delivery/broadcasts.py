"""From a published post or a digest period to one ``Delivery`` row per subscriber who should get it.

Fan-out walks the subscribers in primary-key order, a few thousand at a time, and inserts with
``ignore_conflicts`` against the ledger's unique constraints: memory stays flat however many subscribers
there are, and running it twice (a retried task, two workers, the sweep) adds nothing.
"""

import logging
from datetime import timedelta

from django.db.models import Count, Q, Value
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
    return Broadcast.objects.get_or_create(post=post)


def _insert(subscriber_ids, **source):
    """Insert one ledger row per subscriber id, in chunks, skipping the ones already there."""
    kind = Delivery.Kind.POST if "broadcast" in source else Delivery.Kind.DIGEST
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
    """Write the ledger rows of a post's e-mail. Returns the number of recipients."""
    post = broadcast.post
    # Channels first: a handful of rows that should not wait behind a hundred thousand e-mail rows.
    channels = fan_out_to_channels(broadcast)
    if not post.live:
        # Unpublished before it went out: nobody gets it (and a later republish does not send it).
        recipients = 0
    else:
        recipients = _insert(
            Subscriber.objects.receiving().filter(cadence=Cadence.INSTANT).interested_in(post),
            broadcast=broadcast,
        )
    Broadcast.objects.filter(pk=broadcast.pk, fanned_out_at__isnull=True).update(
        fanned_out_at=timezone.now(), recipients=recipients
    )
    logger.info(
        "Broadcast %s of post %s: %s recipients, %s channels", broadcast.pk, post.pk, recipients, channels
    )
    return recipients


def audience(post, topic_ids, region_ids):
    """What publishing ``post`` with these topics and regions would e-mail: ``instant`` and ``digest``
    subscriber counts (the fan-out's and the digests' own selection), or, when it was e-mailed already,
    ``sent_at`` and ``sent_to``. The answer to the ``count_post_recipients`` hook of the post editor."""
    broadcast = Broadcast.objects.filter(post=post).first() if post is not None and post.pk else None
    if broadcast is not None:
        return {"sent_at": broadcast.created_at, "sent_to": broadcast.recipients}
    return (
        Subscriber.objects.receiving()
        .interested_in_terms(topic_ids, region_ids)
        .aggregate(
            instant=Count("pk", filter=Q(cadence=Cadence.INSTANT)),
            digest=Count("pk", filter=~Q(cadence=Cadence.INSTANT)),
        )
    )


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


def digest_posts(subscriber, digest):
    """The live posts published since the subscriber's last digest, up to the end of this period, that
    are inside their scope and were published to be e-mailed, newest first."""
    since = subscriber.last_digest_at or subscriber.confirmed_at or (digest.period_end - timedelta(days=7))
    # A post has a Broadcast if and only if it went live with "e-mail subscribers" ticked.
    posts = StoryPost.objects.live().filter(
        first_published_at__gt=since, first_published_at__lte=digest.period_end, broadcast__isnull=False
    )
    return list(subscriber.posts_in_scope(posts).order_by("-first_published_at"))
