"""From a published post or a digest period to one ``Delivery`` row per subscriber who should get it.

Fan-out walks the subscribers in primary-key order, a few thousand at a time, and inserts with
``ignore_conflicts`` against the ledger's unique constraints: memory stays flat however many subscribers
there are, and running it twice (a retried task, two workers, the sweep) adds nothing.
"""

import logging
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from watchdesk.delivery.models import Broadcast, Delivery, Digest
from watchdesk.posts.models import StoryPost
from watchdesk.subscriptions.models import Cadence, Subscriber, SubscriptionSettings

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
    logger.info("Broadcast %s of post %s: %s recipients", broadcast.pk, post.pk, recipients)
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
def due_periods(now=None):
    """The digest periods whose sending time has come today: ``[(cadence, key, period_end)]``."""
    now = now or timezone.now()
    options = SubscriptionSettings.load()
    local = timezone.localtime(now)
    send_at = timezone.make_aware(datetime.combine(local.date(), options.digest_time), local.tzinfo)
    if local < send_at:
        return []
    periods = [(Digest.Cadence.DAILY, f"daily:{local.date().isoformat()}", send_at)]
    if local.weekday() == options.weekly_digest_day:
        periods.append((Digest.Cadence.WEEKLY, f"weekly:{local.date().isoformat()}", send_at))
    return periods


def plan_digests(now=None):
    """Create today's due digests (once each, whoever runs this) and fan them out. Returns the digests
    that were fanned out by this call."""
    fanned = []
    for cadence, key, period_end in due_periods(now):
        digest, _ = Digest.objects.get_or_create(
            key=key, defaults={"cadence": cadence, "period_end": period_end}
        )
        if digest.fanned_out_at is None:
            fan_out_digest(digest)
            fanned.append(digest)
    return fanned


def fan_out_digest(digest):
    recipients = _insert(
        Subscriber.objects.receiving().filter(cadence=digest.cadence, confirmed_at__lt=digest.period_end),
        digest=digest,
    )
    Digest.objects.filter(pk=digest.pk, fanned_out_at__isnull=True).update(
        fanned_out_at=timezone.now(), recipients=recipients
    )
    logger.info("%s: %s recipients", digest, recipients)
    return recipients


def digest_posts(subscriber, digest):
    """The live posts published since the subscriber's last digest, up to the end of this period, that
    are inside their scope and were published to be e-mailed, newest first."""
    since = subscriber.last_digest_at or subscriber.confirmed_at or (digest.period_end - timedelta(days=7))
    # A post has a Broadcast if and only if it went live with "e-mail subscribers" ticked.
    posts = StoryPost.objects.live().filter(
        first_published_at__gt=since, first_published_at__lte=digest.period_end, broadcast__isnull=False
    )
    return list(subscriber.posts_in_scope(posts).order_by("-first_published_at"))
