"""The inbox: which clusters editors see, in which order, and what each one carries.

The admin's inbox (``watchdesk.wire.inbox_views``) and ``watchdesk inbox`` both call ``inbox_clusters``
and ``load_details``, so a terminal and the admin list the same stories in the same order. Loading the
details of a page of clusters costs three queries whatever the number of rows (items, topic links,
place links), which keeps the admin's query count pinned.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, timedelta

from django.core.cache import cache
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from watchdesk.posts.bylines import clean_byline
from watchdesk.posts.models import StoryPost
from watchdesk.taxonomy import place_lookup
from watchdesk.taxonomy.models import Region, Topic
from watchdesk.wire.models import Cluster, Item, ItemPlace, ItemTopic, Source

OPEN = "open"
ALL = "all"
STATUS_CHOICES = [
    (OPEN, "Open (new, reviewed, snooze over)"),
    *Cluster.Status.choices,
    (ALL, "All"),
]
STATUSES = [value for value, _label in STATUS_CHOICES]

# "time" filter: clusters that saw a new item within this window.
TIME_WINDOWS = {
    "1h": ("Last hour", timedelta(hours=1)),
    "6h": ("Last 6 hours", timedelta(hours=6)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
}

SNOOZE_CHOICES = [("4", "4 hours"), ("24", "24 hours"), ("72", "3 days")]


class InboxError(ValueError):
    """A filter that names nothing: an unknown status, topic, region or source."""


def inbox_clusters(*, status=OPEN, topic=None, region=None, source=None, since=None, now=None):
    """Clusters by relevance (score, then the most recently seen), filtered.

    ``status`` is "open" (what needs attention: new, reviewed, and snoozed ones whose time is up), "all",
    or one ``Cluster.Status``. ``topic``, ``region`` and ``source`` are model instances; a region takes
    in every place inside it. ``since`` keeps clusters that saw an item at or after that time.
    """
    now = now or timezone.now()
    clusters = Cluster.objects.all()
    if status == OPEN:
        clusters = clusters.open(now)
    elif status in Cluster.Status.values:
        clusters = clusters.filter(status=status)
    elif status != ALL:
        raise InboxError(f"Unknown status {status!r}: use one of {', '.join(STATUSES)}.")
    # EXISTS rather than joins: a cluster of many items must still appear once.
    if topic is not None:
        clusters = clusters.filter(
            Exists(ItemTopic.objects.filter(item__cluster=OuterRef("pk"), topic=topic))
        )
    if region is not None:
        inside = Region.objects.within(region).values("pk")
        clusters = clusters.filter(
            Exists(ItemPlace.objects.filter(item__cluster=OuterRef("pk"), region__in=inside))
        )
    if source is not None:
        clusters = clusters.filter(Exists(Item.objects.filter(cluster=OuterRef("pk"), source=source)))
    if since is not None:
        clusters = clusters.filter(last_seen_at__gte=since)
    return clusters.with_last_alert().by_relevance()


def change_status(cluster, status, *, user=None, snooze_for=None, now=None):
    """Set an editor's verdict on a cluster and record who gave it and when. ``snooze_for`` (a
    timedelta) goes with SNOOZED: the cluster comes back to the open inbox when it is over."""
    now = now or timezone.now()
    if status == Cluster.Status.SNOOZED and not snooze_for:
        raise InboxError("Say for how long to snooze.")
    cluster.status = status
    cluster.snoozed_until = now + snooze_for if status == Cluster.Status.SNOOZED else None
    cluster.status_changed_at = now
    cluster.status_changed_by = user if user is not None and user.is_authenticated else None
    cluster.save(update_fields=["status", "snoozed_until", "status_changed_at", "status_changed_by"])
    forget_new_count()
    return cluster


NEW_COUNT_KEY = "wire:inbox:new-count"
NEW_COUNT_SECONDS = 60


def new_count():
    """How many clusters nobody has looked at yet: the Inbox menu item's badge.

    Every admin page shows the menu, so the number is cached for a minute (and forgotten when an editor
    changes a cluster's status) rather than counted on each page view.
    """
    count = cache.get(NEW_COUNT_KEY)
    if count is None:
        count = Cluster.objects.filter(status=Cluster.Status.NEW).count()
        cache.set(NEW_COUNT_KEY, count, NEW_COUNT_SECONDS)
    return count


def forget_new_count():
    cache.delete(NEW_COUNT_KEY)


# Looking things up by what people type ------------------------------------------------------------
def find_topic(text):
    text = text.strip()
    topic = Topic.objects.filter(Q(slug=text) | Q(name__iexact=text)).first()
    if topic is None:
        raise InboxError(f"No topic {text!r}: give its slug, such as “wildfire”.")
    return topic


def find_region(text):
    """A region by code ("US-CA"), state code ("CA"), slug ("los-angeles-ca") or name
    (``place_lookup``); a name that could mean several places is an error that lists the choices."""
    try:
        found = place_lookup.lookup(text)
    except place_lookup.PlaceNotFound as error:
        raise InboxError(str(error)) from error
    if found.ambiguous:
        choices = ", ".join(
            f"{place_lookup.token(region)} ({place_lookup.full_name(region)})" for region in found.choices
        )
        raise InboxError(f"“{found.text}” names several places; use one of: {choices}.")
    return found.region


def find_source(text):
    text = text.strip()
    query = Q(name__iexact=text) | Q(url=text)
    if text.isdigit():
        query |= Q(pk=int(text))
    source = Source.objects.filter(query).first()
    if source is None:
        raise InboxError(f"No source {text!r}: give its name, feed URL or number.")
    return source


# What a row shows -------------------------------------------------------------------------------
@dataclass
class TopicScore:
    topic: Topic
    score: float
    phrases: list = field(default_factory=list)


@dataclass
class PlaceScore:
    region: Region
    confidence: float
    origin: str
    mention: str = ""

    @property
    def origin_label(self):
        return ItemPlace.Origin(self.origin).label if self.origin in ItemPlace.Origin.values else self.origin


def default_version(items, lead_id=None):
    """The version of a story a draft starts from: the best-scored one with a byline (the lead, then
    the earliest, on a tie), since a post credits the original author; without any byline, the lead
    (the most trusted outlet's), else the best-scored."""
    items = list(items)
    bylined = [item for item in items if clean_byline(item.author)]
    if bylined:
        return max(bylined, key=lambda item: (item.score, item.pk == lead_id, -item.published_at.timestamp()))
    lead = next((item for item in items if item.pk == lead_id), None)
    return lead or max(items, key=lambda item: (item.score, -item.published_at.timestamp()), default=None)


def load_details(clusters, *, with_text=False):
    """Give each cluster (a list, already fetched) its items, topics and places, in three queries, and
    a fourth when any of them has a post.

    Each cluster gets ``item_list`` (the lead first, then newest first), ``lead_item``,
    ``draft_item`` (the version "Draft post" offers first), ``newest_published``, ``topic_list`` and
    ``place_list`` (best first, the best score, phrases and confidence over its items), and
    ``post_page`` (its post, or None); each item gets ``topic_list`` and ``place_list`` of its own.
    ``with_text`` also loads the items' summaries.
    """
    clusters = list(clusters)
    ids = [cluster.pk for cluster in clusters]
    items = Item.objects.filter(cluster__in=ids).select_related("source").defer("minhash", "content", "text")
    if not with_text:
        items = items.defer("summary")
    by_cluster = defaultdict(list)
    by_id = {}
    for item in items.order_by("-published_at", "-pk"):
        item.topic_list, item.place_list = [], []
        item.outlet_name = item.outlet or (item.source.name if item.source else "")
        by_cluster[item.cluster_id].append(item)
        by_id[item.pk] = item
    for link in ItemTopic.objects.filter(item__cluster__in=ids).select_related("topic").order_by("-score"):
        by_id[link.item_id].topic_list.append(TopicScore(link.topic, link.score, list(link.phrases or [])))
    places = ItemPlace.objects.filter(item__cluster__in=ids).select_related("region__parent")
    for link in places.order_by("-confidence", "pk"):
        by_id[link.item_id].place_list.append(
            PlaceScore(link.region, link.confidence, link.origin, link.mention)
        )
    for cluster in clusters:
        members = by_cluster.get(cluster.pk, [])
        lead = next((item for item in members if item.pk == cluster.lead_id), None)
        if lead is None and members:
            lead = members[-1]  # the oldest: the one that started the story
        if lead is not None:
            members = [lead, *(item for item in members if item is not lead)]
        cluster.item_list = members
        cluster.lead_item = lead
        cluster.draft_item = default_version(members, cluster.lead_id)
        # How old the story is: its newest report's publication date (a feed added today may bring
        # week-old stories, so "first seen" alone would mislead).
        cluster.newest_published = max((item.published_at for item in members), default=None)
        cluster.topic_list = merge_topics(members)
        cluster.place_list = merge_places(members)
    attach_posts(clusters)
    return clusters


def attach_posts(clusters):
    """``cluster.post_page``: the post drafted from the story (live or not), or None; one query, and
    none when no story has a post."""
    post_ids = {cluster.post_id for cluster in clusters if cluster.post_id}
    posts = (
        StoryPost.objects.filter(pk__in=post_ids).only("title", "live", "url_path", "has_unpublished_changes")
        if post_ids
        else []
    )
    by_id = {post.pk: post for post in posts}
    for cluster in clusters:
        cluster.post_page = by_id.get(cluster.post_id)


def merge_topics(items):
    best = {}
    for item in items:
        for entry in item.topic_list:
            seen = best.get(entry.topic.pk)
            if seen is None:
                best[entry.topic.pk] = TopicScore(entry.topic, entry.score, list(entry.phrases))
                continue
            seen.score = max(seen.score, entry.score)
            seen.phrases += [phrase for phrase in entry.phrases if phrase not in seen.phrases]
    return sorted(best.values(), key=lambda entry: (-entry.score, entry.topic.name))


def merge_places(items):
    best = {}
    for item in items:
        for entry in item.place_list:
            seen = best.get(entry.region.pk)
            if seen is None or entry.confidence > seen.confidence:
                best[entry.region.pk] = entry
    return sorted(best.values(), key=lambda entry: (-entry.confidence, entry.region.name))


# As data, for `watchdesk inbox --json` ----------------------------------------------------------
def iso(moment):
    return moment.astimezone(UTC).isoformat() if moment else None


def cluster_data(cluster):
    """A cluster prepared by ``load_details`` as plain JSON-ready data."""
    return {
        "id": cluster.pk,
        "title": cluster.title,
        "status": cluster.status,
        "score": cluster.score,
        "score_parts": cluster.score_parts or {},
        "breaking": cluster.breaking,
        "alerted_at": iso(getattr(cluster, "alerted_at", None)),
        "outlet_count": cluster.outlet_count,
        "first_seen_at": iso(cluster.first_seen_at),
        "last_seen_at": iso(cluster.last_seen_at),
        "snoozed_until": iso(cluster.snoozed_until) if cluster.status == Cluster.Status.SNOOZED else None,
        "post_id": cluster.post_id,
        "topics": [
            {
                "slug": entry.topic.slug,
                "name": entry.topic.name,
                "score": entry.score,
                "phrases": entry.phrases,
            }
            for entry in cluster.topic_list
        ],
        "places": [
            {
                "code": entry.region.code,
                "name": entry.region.label,
                "confidence": entry.confidence,
                "origin": entry.origin,
            }
            for entry in cluster.place_list
        ],
        "items": [
            {
                "id": item.pk,
                "title": item.title,
                "url": item.url,
                "outlet": item.outlet_name,
                "author": item.author,
                "published_at": iso(item.published_at),
                "duplicate_of": item.duplicate_of_id,
                "score": item.score,
                "score_parts": item.score_parts or {},
            }
            for item in cluster.item_list
        ],
    }
