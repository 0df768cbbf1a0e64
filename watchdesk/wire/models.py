"""The wire: the sources we watch, the items they bring, and the clusters that group one story.

Data flow (docs/architecture.md): a due ``Source`` is claimed with a conditional UPDATE, fetched through
the guarded fetcher, parsed, and each entry is upserted as an ``Item`` by (source, GUID). Enrichment then
files the item under topics (``ItemTopic``), places (``ItemPlace``) and a ``Cluster`` (via ``ItemBand``,
the MinHash LSH buckets), and scores it. Editors work from the clusters in the inbox.
"""

from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from wagtail.admin.panels import FieldPanel, FieldRowPanel, HelpPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting

# WebSub subscriptions live in a module of their own; importing them here registers them with the app.
from watchdesk.wire.websub_models import PushedDocument, WebSubSubscription  # noqa: F401


def host_of(url):
    return (urlsplit(url).hostname or "").lower()


# What an outlet counts for when nothing says otherwise (a source's trust, or an item with no source).
DEFAULT_TRUST = 50


class SourceQuerySet(models.QuerySet):
    def enabled(self):
        return self.filter(enabled=True)

    def due(self, now=None):
        """Enabled sources whose next poll time has come and that no worker holds."""
        now = now or timezone.now()
        return (
            self.enabled()
            .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        )


class Source(models.Model):
    """A feed we watch: RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed 1.0/1.1, CAP 1.2 or USGS GeoJSON."""

    name = models.CharField(
        "outlet", max_length=120, help_text="The outlet's name, e.g. Sierra Valley Courier."
    )
    url = models.URLField("feed URL", max_length=1000, unique=True)
    site_url = models.URLField("website", max_length=1000, blank=True)
    language = models.CharField(max_length=16, blank=True, help_text='An ISO 639 code such as "en".')
    home_region = models.ForeignKey(
        "taxonomy.Region",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Where the outlet reports from. Used only when an item names no place itself.",
    )
    trust = models.PositiveSmallIntegerField(
        default=DEFAULT_TRUST,
        help_text="0 to 100: how much a story from this outlet counts towards relevance.",
    )
    poll_minutes = models.PositiveIntegerField(
        "poll every (minutes)",
        default=15,
        help_text="The usual wait between polls, at least 5: used until the feed has a history, and as "
        "the base of the backoff after errors. Polling then adapts between the shortest and longest waits.",
    )
    poll_min_minutes = models.PositiveIntegerField(
        "shortest wait (minutes)",
        null=True,
        blank=True,
        help_text="While the outlet publishes, poll this often at most. Blank: WIRE_POLL_MIN_MINUTES.",
    )
    poll_max_minutes = models.PositiveIntegerField(
        "longest wait (minutes)",
        null=True,
        blank=True,
        help_text="While it is quiet, poll at least this often. Blank: WIRE_POLL_MAX_MINUTES.",
    )
    enabled = models.BooleanField(default=True)
    group = models.CharField(
        max_length=300,
        blank=True,
        db_index=True,
        help_text='A folder for the source, e.g. "Local / Fire & Rescue" (" / " nests folders, as in OPML).',
    )
    max_entries = models.PositiveIntegerField(
        "entries read per fetch",
        null=True,
        blank=True,
        help_text="Entries past this many in one fetch are skipped. Blank: the site's WIRE_MAX_ENTRIES.",
    )
    host = models.CharField(max_length=255, editable=False, db_index=True)

    # Conditional GET: what the server told us last time.
    etag = models.CharField(max_length=255, blank=True, editable=False)
    last_modified = models.CharField(max_length=64, blank=True, editable=False)

    # Scheduling: a worker owns the source while lease_until is in the future.
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    # Health, shown in the admin and by `watchdesk sources list`.
    last_fetched_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_status = models.CharField(max_length=40, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    consecutive_errors = models.PositiveIntegerField(default=0, editable=False)
    items_per_day = models.FloatField(default=0, editable=False)
    feed_format = models.CharField(max_length=20, blank=True, editable=False)
    poll_note = models.CharField(
        max_length=200, blank=True, editable=False, help_text="Why the next poll is when it is."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SourceQuerySet.as_manager()

    panels = [
        FieldRowPanel([FieldPanel("name"), FieldPanel("language")]),
        FieldPanel("url"),
        FieldPanel("site_url"),
        FieldPanel("home_region"),
        FieldPanel("group"),
        FieldRowPanel([FieldPanel("trust"), FieldPanel("max_entries")]),
        FieldRowPanel(
            [FieldPanel("poll_minutes"), FieldPanel("poll_min_minutes"), FieldPanel("poll_max_minutes")],
            heading="Polling",
        ),
        FieldPanel("enabled"),
    ]

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.host = host_of(self.url)
        super().save(*args, **kwargs)
        # The host's slot exists before any worker polls: claiming it is then a plain conditional UPDATE,
        # and two workers never race to insert it.
        if self.host:
            HostSlot.objects.get_or_create(host=self.host)

    def poll_bounds(self):
        """(shortest, longest) wait between polls, as timedeltas: the source's own or the settings'."""
        shortest = self.poll_min_minutes or settings.WIRE_POLL_MIN_MINUTES
        longest = self.poll_max_minutes or settings.WIRE_POLL_MAX_MINUTES
        return timedelta(minutes=min(shortest, longest)), timedelta(minutes=longest)


class HostSlot(models.Model):
    """One outbound request at a time per host, across all workers, and the host's Retry-After."""

    host = models.CharField(max_length=255, unique=True)
    busy_until = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.host


class ClusterQuerySet(models.QuerySet):
    def open(self, now=None):
        """What the inbox shows by default: new and reviewed, plus snoozed clusters whose time is up."""
        now = now or timezone.now()
        return self.filter(
            Q(status__in=[Cluster.Status.NEW, Cluster.Status.REVIEWED])
            | Q(status=Cluster.Status.SNOOZED, snoozed_until__lte=now)
        )

    def by_relevance(self):
        return self.order_by("-score", "-last_seen_at", "-pk")

    def with_last_alert(self):
        """Each cluster with ``alerted_at``: when it last alerted the desk (None if never)."""
        last = StoryAlert.objects.filter(cluster=OuterRef("pk")).order_by("-number").values("created_at")[:1]
        return self.annotate(alerted_at=Subquery(last))


class Cluster(models.Model):
    """One story as told by one or more outlets: what the inbox lists."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        REVIEWED = "reviewed", "Reviewed"
        SNOOZED = "snoozed", "Snoozed"
        DISMISSED = "dismissed", "Dismissed"
        DRAFTED = "drafted", "Drafted"

    lead = models.ForeignKey("wire.Item", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW, db_index=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    post = models.ForeignKey(
        "posts.StoryPost", null=True, blank=True, on_delete=models.SET_NULL, related_name="wire_clusters"
    )
    score = models.FloatField(default=0, db_index=True)
    score_parts = models.JSONField(default=dict, blank=True)
    item_count = models.PositiveIntegerField(default=0)
    outlet_count = models.PositiveIntegerField(default=0)
    breaking = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = ClusterQuerySet.as_manager()

    class Meta:
        ordering = ["-score", "-last_seen_at", "-pk"]

    def __str__(self):
        return self.title


class ItemQuerySet(models.QuerySet):
    def originals(self):
        """Items that are not exact copies of another item."""
        return self.filter(duplicate_of__isnull=True)


class Item(models.Model):
    """One entry from a feed, or one article added by URL, normalised and sanitised."""

    class Origin(models.TextChoices):
        FEED = "feed", "Feed"
        ARTICLE = "article", "Article added by URL"
        FILE = "file", "File ingested by hand"

    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.CASCADE, related_name="items")
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.FEED)
    guid = models.CharField(
        max_length=1000, help_text="The entry's id, or its canonical URL when it has none."
    )
    url = models.URLField(
        max_length=2000, db_index=True, help_text="Canonical link: tracking parameters stripped."
    )
    title = models.CharField(max_length=500)
    author = models.CharField(max_length=255, blank=True)
    outlet = models.CharField(max_length=120, blank=True)
    language = models.CharField(max_length=16, blank=True)
    summary = models.TextField(blank=True, help_text="Sanitised HTML.")
    content = models.TextField(blank=True, help_text="Sanitised HTML of the full text, when the feed has it.")
    text = models.TextField(blank=True, help_text="Plain text of the summary or content, for matching.")
    content_hash = models.CharField(max_length=64, db_index=True, blank=True)
    published_at = models.DateTimeField(db_index=True)
    date_guessed = models.BooleanField(
        default=False, help_text="The entry had no usable date; published_at is when we first saw it."
    )
    first_seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    cluster = models.ForeignKey(
        Cluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    minhash = models.BinaryField(null=True, blank=True, editable=False)
    topics = models.ManyToManyField("taxonomy.Topic", through="ItemTopic", blank=True, related_name="+")
    places = models.ManyToManyField("taxonomy.Region", through="ItemPlace", blank=True, related_name="+")
    places_edited = models.BooleanField(
        default=False, help_text="An editor corrected the places; enrichment leaves them alone."
    )
    score = models.FloatField(default=0)
    score_parts = models.JSONField(default=dict, blank=True)
    enriched_at = models.DateTimeField(null=True, blank=True)
    official = models.JSONField(
        default=dict,
        blank=True,
        help_text="What an official alert feed said: CAP event, severity and geocodes, a quake's "
        "magnitude, coordinates (wire/official.py).",
    )

    objects = ItemQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "guid"], name="unique_item_per_source"),
            models.UniqueConstraint(
                fields=["guid"], condition=Q(source__isnull=True), name="unique_item_without_source"
            ),
        ]

    def __str__(self):
        return self.title


class ItemTopic(models.Model):
    """An item filed under a topic, with the score and the phrases that put it there."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="topic_links")
    topic = models.ForeignKey("taxonomy.Topic", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    phrases = models.JSONField(
        default=list, help_text='The phrases that matched: ["wildfire", "evacuation"].'
    )

    class Meta:
        ordering = ["-score"]
        constraints = [models.UniqueConstraint(fields=["item", "topic"], name="unique_item_topic")]

    def __str__(self):
        return f"{self.item_id} in {self.topic_id} ({self.score:g})"


class ItemPlace(models.Model):
    """A place an item is about, with how sure the geotagger is, or an editor's correction."""

    class Origin(models.TextChoices):
        TITLE = "title", "Named in the title"
        TEXT = "text", "Named in the text"
        HOME = "home", "The source's home region"
        EDITOR = "editor", "Set by an editor"
        GEOCODE = "geocode", "From the alert's area codes"
        POINT = "point", "From the item's coordinates"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="place_links")
    region = models.ForeignKey("taxonomy.Region", on_delete=models.CASCADE, related_name="+")
    confidence = models.FloatField(help_text="0 to 1.")
    mention = models.CharField(max_length=200, blank=True, help_text="The words that named the place.")
    origin = models.CharField(max_length=10, choices=Origin.choices)

    class Meta:
        ordering = ["-confidence"]
        constraints = [models.UniqueConstraint(fields=["item", "region"], name="unique_item_place")]

    def __str__(self):
        return f"{self.item_id} at {self.region_id} ({self.confidence:.2f})"


class ItemBand(models.Model):
    """One LSH bucket of an item's MinHash signature: items sharing a key are candidate copies.

    Keyed (key, item), the way the candidate lookup reads it; kept only for the clustering window
    (``clustering.forget_old_bands``, hourly)."""

    pk = models.CompositePrimaryKey("key", "item")
    key = models.IntegerField()
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="bands")

    def __str__(self):
        return f"{self.item_id}:{self.key}"


class SkippedEntry(models.Model):
    """A feed entry we refused to store, and why: shown with the source's health."""

    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.CASCADE, related_name="skipped"
    )
    guid = models.CharField(max_length=1000, blank=True)
    reason = models.CharField(max_length=300)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self):
        return self.reason


class FetchLog(models.Model):
    """One fetch of a source or an article: the outcome, kept for a while for the source's health page."""

    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.CASCADE, related_name="fetches"
    )
    url = models.URLField(max_length=2000)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(max_length=40, help_text='"ok", "not modified", "http 503", "refused", ...')
    detail = models.TextField(blank=True, help_text="The reason for a refusal or an error.")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    bytes_read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.url}: {self.status}"


class SourceImport(models.Model):
    """One OPML file imported in the admin, and what became of each feed in it (``opml.ImportSummary``).

    The report page reads the created sources' health live, so a feed the worker could not fetch shows
    why as soon as the worker has tried."""

    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255, blank=True)
    report = models.JSONField(default=dict, help_text="ImportSummary.as_dict(): counts and one row per feed.")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.file_name or 'OPML'} ({self.created_at:%Y-%m-%d %H:%M})"


@register_setting(icon="radio-full")
class WireSettings(BaseGenericSetting):
    """How the inbox weighs a story. One set for the whole installation."""

    priority_regions = models.ManyToManyField(
        "taxonomy.Region",
        blank=True,
        related_name="+",
        help_text="Stories in these places (or anywhere inside them) rank higher.",
    )
    topic_weight = models.FloatField(default=1.0, help_text="Points per point of the best topic score.")
    region_weight = models.FloatField(default=5.0, help_text="Points for a story in a priority region.")
    trust_weight = models.FloatField(default=5.0, help_text="Points for a fully trusted outlet (trust 100).")
    cluster_weight = models.FloatField(
        default=3.0, help_text="Points per doubling of the number of outlets telling the story."
    )
    recency_half_life_hours = models.FloatField(
        default=12.0, help_text="A story's score halves every this many hours."
    )
    breaking_factor = models.FloatField(
        default=3.0,
        help_text="Flag a surge when a topic or region gets this many times its usual hourly rate.",
    )
    breaking_minimum = models.PositiveIntegerField(
        default=4, help_text="...and at least this many items in the last hour."
    )
    alert_weight = models.FloatField(
        default=1.0,
        help_text="Points per point of an official alert's severity and urgency (docs/wire.md).",
    )
    alert_score_threshold = models.FloatField(
        "alert at score",
        null=True,
        blank=True,
        help_text="Alert the editors on duty when a story reaches this score. Blank: only breaking stories.",
    )

    panels = [
        FieldPanel("priority_regions"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("topic_weight"), FieldPanel("region_weight")]),
                FieldRowPanel([FieldPanel("trust_weight"), FieldPanel("cluster_weight")]),
                FieldRowPanel([FieldPanel("alert_weight"), FieldPanel("recency_half_life_hours")]),
            ],
            heading="Relevance",
        ),
        FieldRowPanel([FieldPanel("breaking_factor"), FieldPanel("breaking_minimum")], heading="Breaking"),
        FieldPanel("alert_score_threshold", heading="Editor alerts"),
        HelpPanel(content="Sources, polling and fetch limits: see docs/configuration.md."),
    ]

    class Meta:
        verbose_name = "wire settings"


class StoryAlert(models.Model):
    """One alert to the desk about a story: the record that keeps a story from alerting twice.

    ``number`` counts a story's alerts (1, 2, ...); two workers that both decide a story's next alert is
    due insert the same (cluster, number), and the unique constraint lets one of them through.
    """

    class Reason(models.TextChoices):
        BREAKING = "breaking", "Flagged breaking"
        SCORE = "score", "Reached the alert score"

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="alerts")
    number = models.PositiveIntegerField(default=1)
    reason = models.CharField(max_length=10, choices=Reason.choices)
    outlets = models.PositiveIntegerField(help_text="Outlets telling the story when it alerted.")
    score = models.FloatField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["cluster", "number"], name="unique_story_alert")]

    def __str__(self):
        return f"{self.cluster_id} #{self.number}: {self.reason}"

    @property
    def url(self):
        """The story in the inbox, as an absolute link for e-mails and channels."""
        return settings.SITE_URL + reverse("inbox:cluster", args=[self.cluster_id])


class DeskAlertPreference(models.Model):
    """Whether an editor is on duty, and so gets editor alerts, and how."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="desk_alert_preference"
    )
    on_duty = models.BooleanField(
        "on duty", default=False, help_text="Alert me when a story breaks or reaches the alert score."
    )
    by_email = models.BooleanField(
        "by e-mail", default=True, help_text="Send each alert to my e-mail address."
    )

    def __str__(self):
        return f"{self.user}: {'on duty' if self.on_duty else 'off duty'}"
