"""The send ledger: what is to be e-mailed to whom, and what became of each message.

``Broadcast`` is one sending about a post: the post itself, written in the same transaction that publishes
it (the outbox pattern) and at most once per post, so republishing never sends again; or an editor's
update of a live post ("Evacuation order lifted"), as many as there are updates. ``Digest`` is one
cadence's sending at one UTC instant, for every reader whose local digest hour falls on it. Fan-out turns
either into ``Delivery`` rows, unique per (broadcast, subscriber), per (digest, subscriber) and, for
digests, per (subscriber, their local day or week): a rerun, a double click, a second worker or a reader
moving their digest hour adds nothing. Workers claim pending rows with a lease, send them, and mark each
one sent the moment the mail server accepts it; a sweep hands back the rows of a worker that died
holding a lease.
"""

from datetime import UTC

from django.conf import settings
from django.db import models
from django.db.models import Count, OuterRef, Q
from django.utils import timezone

from watchdesk.subscriptions.models import scope_condition


class Broadcast(models.Model):
    """What is sent about a post, to e-mail readers and to channels: the post, or one update of it.
    Channels read ``post``, ``pk``, ``is_update`` and ``headline``."""

    class Kind(models.TextChoices):
        POST = "post", "Post"
        UPDATE = "update", "Update"

    post = models.ForeignKey("posts.StoryPost", on_delete=models.CASCADE, related_name="broadcasts")
    kind = models.CharField(max_length=6, choices=Kind.choices, default=Kind.POST)
    text = models.CharField(
        max_length=280, blank=True, help_text="The update, in a line: “Evacuation order lifted”."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    fanned_out_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["post"], condition=Q(kind="post"), name="one_post_broadcast"),
            # The same line twice is a double click or a slip, never news: the second is refused.
            models.UniqueConstraint(
                fields=["post", "text"], condition=Q(kind="update"), name="one_update_per_text"
            ),
            models.CheckConstraint(
                condition=Q(kind="post", text="") | (Q(kind="update") & ~Q(text="")),
                name="broadcast_text_only_for_updates",
            ),
        ]

    def __str__(self):
        if self.is_update:
            return f"Update of “{self.post.title}”: {self.text}"
        return f"E-mail of “{self.post.title}”"

    @property
    def is_update(self):
        return self.kind == self.Kind.UPDATE

    @property
    def headline(self):
        """The title of a message about it: the post's title, or "Update: <the update>"."""
        return f"Update: {self.text}" if self.is_update else self.post.title


class Digest(models.Model):
    class Cadence(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    cadence = models.CharField(max_length=6, choices=Cadence.choices)
    # "daily:2026-11-29T13:00Z": one row per cadence and sending instant, ever.
    key = models.CharField(max_length=40, unique=True)
    period_end = models.DateTimeField(help_text="When it is sent; posts published up to then are included.")
    created_at = models.DateTimeField(default=timezone.now)
    fanned_out_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-period_end"]

    def __str__(self):
        return f"{self.get_cadence_display()} digest of {self.period_end.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


class DeliveryQuerySet(models.QuerySet):
    def report(self):
        """Counts by status, e.g. {"pending": 3, "sent": 120, ...}, every status present."""
        counts = {status: 0 for status in Delivery.Status.values}
        counts.update(dict(self.values_list("status").annotate(n=Count("pk")).values_list("status", "n")))
        return counts

    def claimable(self, now=None):
        return self.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now or timezone.now())

    def expired_leases(self, now=None):
        return self.filter(status=Delivery.Status.SENDING, leased_until__lt=now or timezone.now())


class Delivery(models.Model):
    class Kind(models.TextChoices):
        POST = "post", "Post"
        UPDATE = "update", "Update"
        DIGEST = "digest", "Digest"
        CONFIRM = "confirm", "Confirmation"
        WELCOME_BACK = "already", "Already subscribed"
        LINK = "link", "Unsubscribe link"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        BOUNCED = "bounced", "Bounced"
        SKIPPED = "skipped", "Skipped"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    subscriber = models.ForeignKey(
        "subscriptions.Subscriber", on_delete=models.CASCADE, related_name="deliveries"
    )
    broadcast = models.ForeignKey(
        Broadcast, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    digest = models.ForeignKey(
        Digest, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )

    # A digest's period for its reader, "daily:2026-12-04" (their local date) or "weekly:2026-W49".
    period = models.CharField(max_length=20, null=True, blank=True)

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_owner = models.CharField(max_length=32, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    error = models.TextField(blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "subscriber"], name="one_delivery_per_broadcast"),
            models.UniqueConstraint(fields=["digest", "subscriber"], name="one_delivery_per_digest"),
            models.UniqueConstraint(fields=["subscriber", "period"], name="one_digest_per_reader_period"),
            models.CheckConstraint(
                condition=Q(kind__in=["post", "update"], broadcast__isnull=False, digest__isnull=True)
                | Q(kind="digest", digest__isnull=False, broadcast__isnull=True)
                | (
                    ~Q(kind__in=["post", "update", "digest"]) & Q(broadcast__isnull=True, digest__isnull=True)
                ),
                name="delivery_kind_matches_source",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_queue"),
            models.Index(fields=["lease_owner"], name="delivery_lease"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to subscriber {self.subscriber_id} ({self.status})"


class MailEvent(models.Model):
    """A bounce, complaint or other event reported by an e-mail provider's webhook. The provider's event
    id is unique, so a webhook delivered twice counts once."""

    class Type(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", "Hard bounce"
        SOFT_BOUNCE = "soft_bounce", "Soft bounce"
        COMPLAINT = "complaint", "Complaint"
        UNSUBSCRIBE = "unsubscribe", "Unsubscribe"
        OTHER = "other", "Other"

    provider = models.CharField(max_length=40)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=12, choices=Type.choices)
    email = models.EmailField(max_length=254, db_index=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(default=timezone.now)
    detail = models.TextField(blank=True)
    delivery = models.ForeignKey(Delivery, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="one_event_per_provider_id"),
        ]

    def __str__(self):
        return f"{self.get_type_display()} for {self.email}"


# Alert channels --------------------------------------------------------------------------------------
class ChannelQuerySet(models.QuerySet):
    def active(self):
        return self.filter(paused=False)

    def interested_in(self, post):
        """Channels whose scope covers ``post``: the subscribers' rule (``scope_condition``)."""
        return self.interested_in_terms(
            post.topics.values_list("pk", flat=True), post.region_links.values("region_id")
        )

    def interested_in_terms(self, topic_ids, region_ids):
        topic_links = Channel.topics.through.objects.filter(channel_id=OuterRef("pk"))
        region_links = Channel.regions.through.objects.filter(channel_id=OuterRef("pk"))
        return self.filter(scope_condition(topic_links, region_links, topic_ids, region_ids))


class Channel(models.Model):
    """A place alerts are pushed to: a chat room, a push topic, an SMS gateway or an agency's system.

    ``url`` holds credentials (tokens, passwords, secret webhook paths): it is shown only masked
    (``channels.mask_url``) once saved. A signed webhook's ``secret`` is shown once, when it is made."""

    class Kind(models.TextChoices):
        APPRISE = "apprise", "Service (Apprise URL)"
        WEBHOOK = "webhook", "Signed webhook"

    class Purpose(models.TextChoices):
        READERS = "readers", "Published posts"
        EDITORS = "editors", "Editor alerts (breaking stories on the wire)"

    class Cadence(models.TextChoices):
        INSTANT = "instant", "As soon as a post is published"
        DAILY = "daily", "Daily digest"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.APPRISE)
    url = models.TextField("URL", max_length=2000)
    secret = models.CharField(max_length=64, blank=True, editable=False)
    purpose = models.CharField(max_length=8, choices=Purpose.choices, default=Purpose.READERS)
    everything = models.BooleanField(default=True)
    topics = models.ManyToManyField("taxonomy.Topic", blank=True, related_name="+")
    regions = models.ManyToManyField("taxonomy.Region", blank=True, related_name="+")
    cadence = models.CharField(max_length=8, choices=Cadence.choices, default=Cadence.INSTANT)
    paused = models.BooleanField(default=False)
    # An editor's own channel: it gets only the editor alerts that editor gets, while they are on duty.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_channels",
        help_text="The editor whose own channel this is; empty for the desk's and agencies' channels.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The end of the last daily digest written for this channel.
    last_digest_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ChannelQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=True) | Q(purpose="editors"),
                name="owned_channels_get_editor_alerts",
            ),
        ]

    def __str__(self):
        return self.name


class ChannelDeliveryQuerySet(models.QuerySet):
    def claimable(self, now=None):
        return self.filter(status=ChannelDelivery.Status.PENDING, next_attempt_at__lte=now or timezone.now())

    def expired_leases(self, now=None):
        return self.filter(status=ChannelDelivery.Status.SENDING, leased_until__lt=now or timezone.now())


class ChannelDelivery(models.Model):
    """One message to one channel. ``key`` names what it is about, unique per channel: "post:<broadcast
    id>", "alert:<story alert id>", "digest:<local date>" or "test:<random>"; writing it twice adds
    nothing. Post messages are built when sent; alerts, digests' windows and tests carry ``message``."""

    class Kind(models.TextChoices):
        POST = "post", "Post"
        DIGEST = "digest", "Daily digest"
        ALERT = "alert", "Editor alert"
        TEST = "test", "Test"

    Status = Delivery.Status

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    key = models.CharField(max_length=64)
    broadcast = models.ForeignKey(
        Broadcast, on_delete=models.CASCADE, null=True, blank=True, related_name="channel_deliveries"
    )
    message = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_owner = models.CharField(max_length=32, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    objects = ChannelDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "channel deliveries"
        constraints = [
            models.UniqueConstraint(fields=["channel", "key"], name="one_channel_delivery_per_key"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="channel_delivery_queue")]

    def __str__(self):
        return f"{self.get_kind_display()} to channel {self.channel_id} ({self.status})"
