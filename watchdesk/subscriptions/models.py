"""Readers who asked to be e-mailed, what they asked for, and how they prove the address is theirs.

A subscriber's status moves pending -> confirmed -> unsubscribed (and back to pending when they subscribe
again). Nothing but a confirmation e-mail is ever sent to a pending address; whether an address is
suppressed (bounced, complained) is kept apart, in ``Suppression``, so that lifting a suppression
gives the reader back exactly the subscription they had.
"""

import hashlib
import secrets
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core import signing
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from wagtail.admin.panels import FieldPanel, FieldRowPanel, HelpPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting

from watchdesk.subscriptions import schedule
from watchdesk.subscriptions.scope import scope_words
from watchdesk.subscriptions.signals import reply_requested, subscriber_confirmed
from watchdesk.taxonomy.models import Region

LINK_SALT = "watchdesk.subscriptions.link"
REPLY_MEMORY = timedelta(hours=24)
# The same reply asked for again within this time is not sent again: the first is still on its way.
REPEAT_WINDOW = timedelta(minutes=10)


def new_key():
    return secrets.token_urlsafe(24)


def mask_email(address):
    """An address for people who may not see addresses: "dana@example.net" -> "d•••@e•••.net"."""
    local, _, domain = (address or "").partition("@")
    name, dot, top = domain.rpartition(".")
    return f"{local[:1]}•••@{(name or top)[:1]}•••{dot}{top if name else ''}"


def default_time_zone():
    return settings.TIME_ZONE


def normalise_email(address):
    """One spelling per mailbox: surrounding space removed, lower-cased (providers ignore case)."""
    return (address or "").strip().lower()


class Cadence(models.TextChoices):
    INSTANT = "instant", "As soon as a post is published"
    DAILY = "daily", "Daily digest"
    WEEKLY = "weekly", "Weekly digest"


class Reply(models.TextChoices):
    """The messages a reader's own request (or staff acting for them) sends to their address."""

    CONFIRM = "confirm", "Confirmation"
    WELCOME_BACK = "already", "Already subscribed"
    LINK = "link", "Unsubscribe link"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class Suppression(models.Model):
    """An address nothing is sent to, whatever its subscription says. Deleting the row lifts it."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", "Hard bounce"
        SOFT_BOUNCES = "soft_bounces", "Repeated soft bounces"
        COMPLAINT = "complaint", "Spam complaint"
        REJECTED = "rejected", "Rejected by the mail server"
        MANUAL = "manual", "Added by staff"

    email = models.EmailField(max_length=254, unique=True)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.email

    @classmethod
    def add(cls, email, reason, detail=""):
        suppression, _ = cls.objects.get_or_create(
            email=normalise_email(email), defaults={"reason": reason, "detail": detail[:2000]}
        )
        return suppression


class SubscriberQuerySet(models.QuerySet):
    def confirmed(self):
        return self.filter(status=Subscriber.Status.CONFIRMED)

    def receiving(self):
        """Confirmed, not paused and not suppressed: the people who may be e-mailed now."""
        return self.confirmed().filter(paused=False).exclude(email__in=Suppression.objects.values("email"))

    def at_once(self, urgent=False):
        """Who gets a post by e-mail as it is published: instant readers and, for an ``urgent`` post,
        the digest readers who asked for breaking news at once."""
        if urgent:
            return self.filter(Q(cadence=Cadence.INSTANT) | Q(urgent_at_once=True))
        return self.filter(cadence=Cadence.INSTANT)

    def interested_in(self, post):
        """Subscribers whose scope covers ``post`` (see ``interested_in_terms``)."""
        return self.interested_in_terms(
            post.topics.values_list("pk", flat=True), post.region_links.values("region_id")
        )

    def interested_in_terms(self, topic_ids, region_ids):
        """Subscribers who want a post with these topics and regions (``interested_in`` for a post not
        saved yet): everything; or, of what they chose, one of its topics if they chose topics AND one of
        its regions, or a region containing one, if they chose places (California hears about Los
        Angeles). Someone who chose neither gets nothing. ``Subscriber.posts_in_scope`` is the twin."""
        topic_links = Subscriber.topics.through.objects.filter(subscriber_id=OuterRef("pk"))
        region_links = Subscriber.regions.through.objects.filter(subscriber_id=OuterRef("pk"))
        return self.filter(scope_condition(topic_links, region_links, topic_ids, region_ids))


def scope_condition(topic_links, region_links, topic_ids, region_ids):
    """The scope rule of ``interested_in_terms`` as a condition on any model with an ``everything`` flag
    and chosen topics and regions, given its links to them (through rows filtered on ``OuterRef("pk")``).
    Alert channels share it, so a channel and a reader with the same choice get the same posts."""
    codes = set()
    for path in Region.objects.filter(pk__in=region_ids).values_list("path", flat=True):
        codes.update(Region.codes_in(path))
    chose_topics, chose_places = Exists(topic_links), Exists(region_links)
    topic_ok = Exists(topic_links.filter(topic_id__in=list(topic_ids))) | ~chose_topics
    place_ok = Exists(region_links.filter(region__code__in=codes)) | ~chose_places
    return Q(everything=True) | ((chose_topics | chose_places) & topic_ok & place_ok)


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for confirmation"
        CONFIRMED = "confirmed", "Confirmed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    class Source(models.TextChoices):
        FORM = "form", "Subscribe form"
        ADMIN = "admin", "Added by staff"
        IMPORT = "import", "CSV import"

    email = models.EmailField("e-mail address", max_length=254, unique=True)
    name = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    cadence = models.CharField(max_length=8, choices=Cadence.choices, default=Cadence.INSTANT)
    everything = models.BooleanField(
        "all topics and regions",
        default=True,
        help_text="Receive every post. Otherwise only posts in the chosen topics and regions.",
    )
    topics = models.ManyToManyField("taxonomy.Topic", blank=True, related_name="subscribers")
    regions = models.ManyToManyField(
        "taxonomy.Region",
        blank=True,
        related_name="subscribers",
        help_text="A region includes everything inside it: California includes Los Angeles.",
    )
    # Only for digest readers: posts marked urgent come at once, the rest in their digest.
    urgent_at_once = models.BooleanField(
        "breaking news at once, the rest in my digest",
        default=False,
        help_text="A digest reader gets the posts editors mark urgent at once, and not again in the digest.",
    )
    paused = models.BooleanField(default=False, help_text="Paused subscribers receive nothing until resumed.")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.FORM)
    # Opaque and random; goes, signed, into every preference and unsubscribe link.
    key = models.CharField(max_length=40, unique=True, default=new_key, editable=False)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # The end of the last digest period this subscriber was sent (or skipped because nothing was new).
    last_digest_at = models.DateTimeField(null=True, blank=True)
    # When digests reach this reader: in their zone, at their hour (and on their day, for weekly ones).
    time_zone = models.CharField(
        max_length=64, default=default_time_zone, validators=[schedule.validate_time_zone]
    )
    digest_hour = models.PositiveSmallIntegerField(
        "digest time", choices=schedule.hour_choices(), default=7, help_text="In the reader's time zone."
    )
    weekly_digest_day = models.PositiveSmallIntegerField(
        "weekly digest day", choices=Weekday.choices, default=Weekday.MONDAY
    )
    # The UTC instant of their next digest, kept by save() and the planner: the tick is one range scan.
    next_digest_at = models.DateTimeField(null=True, blank=True, editable=False)
    # [[ISO time, Reply], ...] over the last day: what anyone can make us send to this address is capped.
    recent_replies = models.JSONField(default=list, blank=True, editable=False)

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [("view_subscriber_addresses", "Can see subscribers' e-mail addresses")]
        indexes = [models.Index(fields=["status", "next_digest_at"], name="subscriber_digest_due")]

    def __str__(self):
        return self.email

    def save(self, *args, update_fields=None, **kwargs):
        self.email = normalise_email(self.email)
        if update_fields is None or SCHEDULE_FIELDS.intersection(update_fields):
            self.next_digest_at = self.first_digest_after()
            if update_fields is not None:
                update_fields = {*update_fields, "next_digest_at"}
        super().save(*args, update_fields=update_fields, **kwargs)

    def first_digest_after(self):
        """The next digest time after the last one (or the confirmation); None for no digest. Counting
        from the row, not the clock: the planner sends an overdue one late rather than not at all."""
        since = self.last_digest_at or self.confirmed_at
        if self.status != self.Status.CONFIRMED or self.cadence == Cadence.INSTANT or since is None:
            return None
        return schedule.next_send(
            since, self.cadence, self.time_zone, self.digest_hour, self.weekly_digest_day
        )

    # Links -------------------------------------------------------------------------------------------
    @property
    def link_token(self):
        """The token of this subscriber's preference and unsubscribe links: the key, signed."""
        return signing.Signer(salt=LINK_SALT).sign(self.key)

    @classmethod
    def from_link_token(cls, token):
        """The subscriber a link belongs to, or None for a forged, mangled or outdated token."""
        try:
            key = signing.Signer(salt=LINK_SALT).unsign(token)
        except signing.BadSignature:
            return None
        return cls.objects.filter(key=key).first()

    def preferences_url(self):
        return settings.SITE_URL + reverse("subscriptions:preferences", args=[self.link_token])

    def unsubscribe_url(self):
        return settings.SITE_URL + reverse("subscriptions:unsubscribe", args=[self.link_token])

    # State changes -----------------------------------------------------------------------------------
    def confirm(self, now=None):
        now = now or timezone.now()
        if self.status != self.Status.CONFIRMED:
            self.status = self.Status.CONFIRMED
            self.confirmed_at = now
            self.unsubscribed_at = None
            # A digest lists what was published after the reader arrived, not the whole archive.
            self.last_digest_at = now
            self.save(update_fields=["status", "confirmed_at", "unsubscribed_at", "last_digest_at"])
        return self

    def unsubscribe(self, now=None):
        """Stop all e-mail at once. Repeating it changes nothing."""
        updated = Subscriber.objects.filter(pk=self.pk).exclude(status=self.Status.UNSUBSCRIBED)
        if updated.update(status=self.Status.UNSUBSCRIBED, unsubscribed_at=now or timezone.now()):
            self.refresh_from_db(fields=["status", "unsubscribed_at"])
            return True
        return False

    # Replies ---------------------------------------------------------------------------------------------
    def replies_since(self, since, kind=None):
        """The replies sent to this address after ``since`` (of one ``kind``, or all), oldest first."""
        return [
            [sent_at, sent_kind]
            for sent_at, sent_kind in self.recent_replies
            if datetime.fromisoformat(sent_at) > since and kind in (None, sent_kind)
        ]

    def asked_recently(self, kind, now):
        """Whether ``kind`` was sent to this address within ``REPEAT_WINDOW`` of ``now``."""
        return bool(self.replies_since(now - REPEAT_WINDOW, kind))

    def note_reply(self, kind, now):
        self.recent_replies = [*self.replies_since(now - REPLY_MEMORY), [now.isoformat(), kind]]

    def posts_in_scope(self, posts):
        """``posts`` narrowed to what this subscriber asked for: the post side of ``interested_in``."""
        if self.everything:
            return posts
        topic_ids = [topic.pk for topic in self.topics.all()]
        regions = list(self.regions.all())
        if not (topic_ids or regions):
            return posts.none()
        return posts.in_scope(topic_ids, regions)

    def scope_summary(self):
        """What this subscriber receives, in words: "Hazmat in Harris County, Texas"."""
        if self.everything:
            return "Everything"
        return scope_words(list(self.topics.all()), list(self.regions.all()))


# Changing any of these moves the next digest (confirming sets last_digest_at).
SCHEDULE_FIELDS = frozenset(
    ["status", "cadence", "time_zone", "digest_hour", "weekly_digest_day", "last_digest_at", "confirmed_at"]
)


def request_replies(subscribers, kind, now=None):
    """Send ``kind`` (a ``Reply``) to each of ``subscribers`` (saved rows), noted in their recent replies.
    Call inside the transaction that changed them: the delivery app queues the messages in it."""
    now = now or timezone.now()
    subscribers = list(subscribers)
    for subscriber in subscribers:
        subscriber.note_reply(kind, now)
    Subscriber.objects.bulk_update(subscribers, ["recent_replies"], batch_size=1000)
    reply_requested.send(sender=Subscriber, subscribers=subscribers, kind=kind)


class ConfirmationToken(models.Model):
    """A single-use link that proves the reader can read mail at the address.

    Only a hash of the token is stored: a copy of the database cannot confirm anybody.
    """

    LIFETIME = timedelta(days=7)

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="tokens")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Confirmation for {self.subscriber}"

    @staticmethod
    def hash(token):
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, subscriber):
        token = secrets.token_urlsafe(32)
        cls.objects.create(subscriber=subscriber, digest=cls.hash(token))
        return token

    @classmethod
    def valid(cls, now=None):
        now = now or timezone.now()
        return cls.objects.filter(used_at__isnull=True, created_at__gt=now - cls.LIFETIME)

    @classmethod
    def lookup(cls, token):
        """The unused, unexpired token row for ``token``, or None."""
        if not token or len(token) > 100:
            return None
        return cls.valid().select_related("subscriber").filter(digest=cls.hash(token)).first()

    @classmethod
    def redeem(cls, token, now=None):
        """Confirm the subscriber a token belongs to. Returns the subscriber, or None when the token is
        unknown, expired or already used (two clicks at once: exactly one wins)."""
        now = now or timezone.now()
        row = cls.lookup(token)
        if row is None:
            return None
        if not cls.valid(now).filter(pk=row.pk).update(used_at=now):
            return None
        subscriber = row.subscriber
        subscriber.confirm(now)
        subscriber_confirmed.send(sender=Subscriber, subscriber=subscriber)
        # The other links sent to this address are spent as well.
        cls.objects.filter(subscriber=subscriber, used_at__isnull=True).update(used_at=now)
        return subscriber


@register_setting(icon="mail")
class SubscriptionSettings(BaseGenericSetting):
    """How and when subscribers are e-mailed. One set for the whole installation."""

    default_cadence = models.CharField(
        max_length=8,
        choices=Cadence.choices,
        default=Cadence.INSTANT,
        help_text="What a new subscriber from the Stay Informed box gets until they choose otherwise.",
    )
    digest_time = models.TimeField(
        "default digest time",
        default=time(7, 0),
        help_text="The digest hour new readers start with, in the site's time zone (TIME_ZONE) unless "
        "their browser tells us theirs. Each reader can change their own; only the hour is used.",
    )
    weekly_digest_day = models.PositiveSmallIntegerField(
        "default weekly digest day",
        choices=Weekday.choices,
        default=Weekday.MONDAY,
        help_text="The day new readers' weekly digests start on; each reader can change their own.",
    )
    staff_notice_email = models.EmailField(
        "tell staff about new subscribers",
        blank=True,
        help_text="An address that gets a short note whenever a reader confirms a subscription.",
    )

    panels = [
        FieldPanel("default_cadence"),
        FieldRowPanel([FieldPanel("digest_time"), FieldPanel("weekly_digest_day")]),
        FieldPanel("staff_notice_email"),
        HelpPanel(
            content="Mail server, sending rate and retries are set in the environment: see "
            "docs/configuration.md."
        ),
    ]

    def reader_defaults(self):
        """The digest schedule a new reader starts with."""
        return {
            "time_zone": settings.TIME_ZONE,
            "digest_hour": self.digest_time.hour,
            "weekly_digest_day": self.weekly_digest_day,
        }

    class Meta:
        verbose_name = "subscription settings"
        verbose_name_plural = "subscription settings"

    def __str__(self):
        return "Subscription settings"
