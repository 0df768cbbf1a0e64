"""Relevance: how much a story matters to this desk, with the reasons shown, and what is breaking.

An item's score is a sum of points, then discounted for age::

    total = (topic + region + trust + cluster + alert) * recency

- topic   = topic_weight * the item's best topic score
- region  = region_weight * the confidence of its surest place inside a priority region (0 when none)
- trust   = trust_weight * source trust / 100 (an article added by URL, without a source: trust 50)
- cluster = cluster_weight * log2(outlets telling the story): 0 for one outlet, 1 weight per doubling
- alert   = alert_weight * an official alert's points (``official.alert_points``: CAP severity plus
            urgency times certainty, a quake's by magnitude); left out of ``score_parts`` when 0
- recency = 0.5 ** (age in hours / recency_half_life_hours), from 1 (just published) towards 0

``score_parts`` holds exactly these numbers and the total, e.g. {"topic": 6.0, "region": 5.0,
"trust": 2.5, "cluster": 3.0, "recency": 0.84, "total": 14.28}, so the inbox can say why a story ranks
where it does. Recency multiplies rather than adds because the setting promises that "a story's score
halves every this many hours", and because a stale story should sink however many points it had.

A cluster scores like its best item (by topic + region + trust), with the cluster part from its own
outlet count and recency from its newest item's publication date, so a story that keeps being reported
stays fresh, and a week-old story is not made fresh by a feed we only just added.

Stored scores decay only when rescored: ``refresh()`` rescores the clusters of the last week from their
items' stored parts, restates the cluster part of items scored before their story gained outlets, and
re-checks the breaking flags; run it every few minutes.
"""

import math
from collections import defaultdict
from datetime import timedelta
from types import SimpleNamespace
from typing import NamedTuple

from django.db.models import Count, Max, Q
from django.utils import timezone

from watchdesk.taxonomy.models import Region
from watchdesk.wire import alerts, official
from watchdesk.wire.executemany import update_rows
from watchdesk.wire.models import DEFAULT_TRUST, Cluster, Item, ItemPlace, ItemTopic, Source, WireSettings

PART_NAMES = ("topic", "region", "trust", "cluster", "alert")
BASE_PARTS = ("topic", "region", "trust", "alert")  # what an item brings to its cluster's score
OPTIONAL_PARTS = ("alert",)  # stored only when not 0, so news items' scores read as they always did
DIGITS = 3

# Breaking: items in the last hour against the hourly average of the week before it.
SURGE_HOUR = timedelta(hours=1)
USUAL_WEEK = timedelta(days=7)
# A topic or region that is usually silent counts as one item an hour, so "usually 0" needs
# max(breaking_minimum, breaking_factor) items, not any single item.
USUAL_FLOOR = 1.0
# Clusters with an item published this recently are flagged when its topic or region surges.
BREAKING_WINDOW = timedelta(hours=3)


class Surge(NamedTuple):
    """A topic or region getting far more items than usual: ("topic", 4, 12, 1.0) reads
    "12 items on topic 4 in the last hour, usually 1 an hour"."""

    kind: str  # "topic" or "region"
    id: int
    count: int
    usual: float


def _recency(age, half_life_hours):
    if half_life_hours <= 0:
        return 1.0
    hours = max(age.total_seconds(), 0.0) / 3600
    return 0.5 ** (hours / half_life_hours)


def _cluster_points(settings, outlet_count):
    return settings.cluster_weight * math.log2(max(outlet_count or 1, 1))


def _total(parts):
    return round(sum(parts.get(name, 0.0) for name in PART_NAMES) * parts["recency"], DIGITS)


def _rounded(parts):
    parts = {
        name: round(value, DIGITS)
        for name, value in parts.items()
        if name not in OPTIONAL_PARTS or round(value, DIGITS)
    }
    parts["total"] = _total(parts)
    return parts


def score(items, *, now=None, flag=True):
    """Score ``items`` and their clusters; then, unless ``flag`` is false, re-check breaking flags."""
    items = [item for item in items if item.pk]
    if not items:
        return
    now = now or timezone.now()
    settings = WireSettings.load()
    pks = [item.pk for item in items]

    best_topic = dict(
        ItemTopic.objects.filter(item_id__in=pks)
        .order_by()
        .values_list("item_id")
        .annotate(best=Max("score"))
    )
    priority_paths = list(settings.priority_regions.values_list("path", flat=True))
    best_place = defaultdict(float)
    if priority_paths:
        for pk, confidence, path in (
            ItemPlace.objects.filter(item_id__in=pks)
            .order_by()
            .values_list("item_id", "confidence", "region__path")
        ):
            if path.startswith(tuple(priority_paths)):
                best_place[pk] = max(best_place[pk], confidence)
    source_ids = {item.source_id for item in items if item.source_id}
    trust_of = (
        dict(Source.objects.filter(pk__in=source_ids).order_by().values_list("pk", "trust"))
        if source_ids
        else {}
    )
    cluster_ids = {item.cluster_id for item in items if item.cluster_id}
    # Plain records of what scoring reads and sets: Cluster objects cost more to build than the query.
    clusters = [
        SimpleNamespace(**row)
        for row in Cluster.objects.filter(pk__in=cluster_ids)
        .order_by()
        .values("pk", "outlet_count", "score_parts", "last_seen_at")
    ]
    outlets_of = {cluster.pk: cluster.outlet_count for cluster in clusters}

    for item in items:
        trust = trust_of.get(item.source_id, DEFAULT_TRUST)
        item.score_parts = _rounded(
            {
                "topic": settings.topic_weight * best_topic.get(item.pk, 0.0),
                "region": settings.region_weight * best_place[item.pk],
                "trust": settings.trust_weight * trust / 100,
                "cluster": _cluster_points(settings, outlets_of.get(item.cluster_id, 1)),
                "alert": settings.alert_weight * official.alert_points(item.official),
                "recency": _recency(now - item.published_at, settings.recency_half_life_hours),
            }
        )
        item.score = item.score_parts["total"]
    update_rows(Item, ["score", "score_parts"], [(item.pk, item.score, item.score_parts) for item in items])

    _score_clusters(clusters, settings, now, scored=items)
    _flag_official(items, now)
    if flag:
        flag_breaking(now=now, settings=settings)


def score_cluster(cluster, *, now=None):
    """Rescore one cluster from its items' stored parts (after an editor changed it, say)."""
    _score_clusters([cluster], WireSettings.load(), now or timezone.now())
    return cluster.score


def refresh(*, now=None, days=7):
    """Let time pass: rescore the clusters seen in the last ``days`` and re-check breaking flags.

    Returns the surges, as ``flag_breaking`` does. Meant for a periodic task (every few minutes).
    """
    now = now or timezone.now()
    settings = WireSettings.load()
    _score_clusters(
        Cluster.objects.filter(last_seen_at__gte=now - timedelta(days=days)).order_by(), settings, now
    )
    return flag_breaking(now=now, settings=settings)


def _base(parts):
    return {name: float((parts or {}).get(name, 0.0)) for name in BASE_PARTS}


def _score_clusters(clusters, settings, now, *, scored=None):
    """Score each cluster from the parts of its best item; a few queries for any number of clusters.

    After ``score(items)`` (``scored`` given) the best item is the better of the cluster's best so far
    (its stored parts) and the items just scored, so a big story costs no more than a small one. Without
    it, every item of the clusters is read: the best is found afresh, and items scored before their
    cluster gained outlets get their cluster part (and total) restated to match its "N outlets".
    """
    clusters = list(clusters)
    if not clusters:
        return
    points = {cluster.pk: _cluster_points(settings, cluster.outlet_count) for cluster in clusters}
    newest = dict(
        Item.objects.filter(cluster_id__in=list(points))
        .order_by()
        .values("cluster")
        .annotate(newest=Max("published_at"))
        .values_list("cluster", "newest")
    )
    best_base = {}

    def consider(cluster_id, base):
        if cluster_id not in best_base or sum(base.values()) > sum(best_base[cluster_id].values()):
            best_base[cluster_id] = base

    if scored is not None:
        for cluster in clusters:
            if cluster.score_parts:
                consider(cluster.pk, _base(cluster.score_parts))
        for item in scored:
            if item.cluster_id in points:
                consider(item.cluster_id, _base(item.score_parts))
    else:
        restated = []
        for pk, cluster_id, parts in (
            Item.objects.filter(cluster__in=list(points))
            .order_by()
            .values_list("pk", "cluster_id", "score_parts")
        ):
            if not parts:
                continue  # not scored yet
            consider(cluster_id, _base(parts))
            if parts.get("cluster") != round(points[cluster_id], DIGITS):
                parts = _rounded(
                    {
                        **_base(parts),
                        "cluster": points[cluster_id],
                        "recency": float(parts.get("recency", 1.0)),
                    }
                )
                restated.append((pk, parts["total"], parts))
        update_rows(Item, ["score", "score_parts"], restated)

    for cluster in clusters:
        cluster.score_parts = _rounded(
            {
                **best_base.get(cluster.pk, dict.fromkeys(BASE_PARTS, 0.0)),
                "cluster": points[cluster.pk],
                "recency": _recency(
                    now - newest.get(cluster.pk, cluster.last_seen_at), settings.recency_half_life_hours
                ),
            }
        )
        cluster.score = cluster.score_parts["total"]
    update_rows(Cluster, ["score", "score_parts"], [(c.pk, c.score, c.score_parts) for c in clusters])


def flag_breaking(*, now=None, settings=None):
    """Flag the open, recent clusters of any topic or region whose last hour is far above its usual.

    A topic or region surges when its original items (copies do not count) published in the last hour
    number at least ``breaking_minimum`` and at least ``breaking_factor`` times its hourly average over
    the seven days before (an average under USUAL_FLOOR counts as USUAL_FLOOR). A place counts towards
    the regions containing it below the country: an item in Paradise counts for Butte County and
    California, once each however many of those it names, but for the United States only if it names
    the country itself (a national desk would otherwise see its whole country "surge" whenever one state
    does). Open clusters with an item published in the last BREAKING_WINDOW in a surging topic or region
    get ``breaking``; every other cluster loses it.

    Then the editors on duty are alerted of stories newly breaking or over the alert score
    (``alerts.evaluate``). Returns the surges, largest first. Without a surge and without an alert it
    costs two small queries over the last hour's items, one UPDATE and the alerts' two queries; a busy
    topic or region adds a count over its week.
    """
    now = now or timezone.now()
    settings = settings or WireSettings.load()
    hour_start = now - SURGE_HOUR
    week_start = hour_start - USUAL_WEEK
    hours_in_week = USUAL_WEEK.total_seconds() / 3600

    def needed(usual):
        return max(settings.breaking_minimum, settings.breaking_factor * max(usual, USUAL_FLOOR))

    # Everything starts from the last hour's items, a short range of the published_at index, counted
    # here rather than in SQL: filtering copies out in SQL makes SQLite walk the duplicate_of index over
    # every item instead. The week before is counted only for topics and regions busy enough to surge.
    last_hour = Item.objects.filter(published_at__gte=hour_start, published_at__lte=now).order_by()
    week_before = Item.objects.filter(
        published_at__gte=week_start, published_at__lt=hour_start, duplicate_of__isnull=True
    ).order_by()
    surges, region_paths = [], {}

    items_in_topic = defaultdict(set)
    for pk, copy_of, topic_id in last_hour.filter(topic_links__isnull=False).values_list(
        "pk", "duplicate_of", "topic_links__topic"
    ):
        if copy_of is None:
            items_in_topic[topic_id].add(pk)
    busy_topics = {
        topic: len(pks) for topic, pks in items_in_topic.items() if len(pks) >= settings.breaking_minimum
    }
    if busy_topics:
        before = dict(
            week_before.filter(topic_links__topic__in=list(busy_topics))
            .values("topic_links__topic")
            .annotate(count=Count("pk"))
            .values_list("topic_links__topic", "count")
        )
        for topic_id, count in busy_topics.items():
            usual = before.get(topic_id, 0) / hours_in_week
            if count >= needed(usual):
                surges.append(Surge("topic", topic_id, count, round(usual, 2)))

    # Regions: distinct items per region and per region containing it, from the (small) last hour.
    items_under = defaultdict(set)
    for pk, copy_of, path in last_hour.filter(place_links__isnull=False).values_list(
        "pk", "duplicate_of", "place_links__region__path"
    ):
        if copy_of is not None:
            continue
        codes = Region.codes_in(path)
        for depth in range(min(2, len(codes)), len(codes) + 1):
            items_under["/".join(codes[:depth]) + "/"].add(pk)
    busy = [path for path, pks in items_under.items() if len(pks) >= settings.breaking_minimum]
    if busy:
        region_ids = dict(Region.objects.filter(path__in=busy).order_by().values_list("path", "pk"))
        busy = [path for path in busy if path in region_ids]
        region_paths = {pk: path for path, pk in region_ids.items()}
        before = week_before.aggregate(
            **{
                f"r{index}": Count("pk", distinct=True, filter=_under(path, prefix="place_links__"))
                for index, path in enumerate(busy)
            }
        )
        for index, path in enumerate(busy):
            usual = (before[f"r{index}"] or 0) / hours_in_week
            count = len(items_under[path])
            if count >= needed(usual):
                surges.append(Surge("region", region_ids[path], count, round(usual, 2)))

    _set_breaking(
        topic_ids=[surge.id for surge in surges if surge.kind == "topic"],
        region_paths=[region_paths[surge.id] for surge in surges if surge.kind == "region"],
        now=now,
    )
    # Every path that changes flags or scores ends here, so this is where the desk is alerted.
    alerts.evaluate(now=now, settings=settings)
    return sorted(surges, key=lambda surge: (-surge.count, surge.kind, surge.id))


def _under(path, prefix=""):
    """Places at ``path`` or anywhere inside it (the index-friendly range of RegionQuerySet.within)."""
    return Q(**{f"{prefix}region__path__gte": path, f"{prefix}region__path__lt": path[:-1] + "0"})


def _set_breaking(*, topic_ids, region_paths, now):
    flagged = []
    if topic_ids or region_paths:
        matching = Q(items__topic_links__topic_id__in=topic_ids) if topic_ids else Q(pk__in=[])
        for path in region_paths:
            matching |= _under(path, prefix="items__place_links__")
        # In one filter(): the item that is in the surging topic or region is the recent one.
        flagged = list(
            Cluster.objects.open(now)
            .filter(matching, items__published_at__gte=now - BREAKING_WINDOW, items__published_at__lte=now)
            .order_by()
            .values_list("pk", flat=True)
            .distinct()
        )
        Cluster.objects.filter(pk__in=flagged, breaking=False).update(breaking=True)
    # Stories an official alert flagged (``_flag_official``) stay breaking through the window.
    Cluster.objects.filter(breaking=True).exclude(pk__in=flagged).exclude(
        items__official__breaking=True, items__published_at__gte=now - BREAKING_WINDOW
    ).update(breaking=False)


def _flag_official(items, now):
    """Flag the open stories of items whose official alert breaks on its own: CAP Extreme and Immediate
    (observed or likely), a quake of BREAKING_MAGNITUDE or more. No query for a batch without one."""
    cluster_ids = {
        item.cluster_id
        for item in items
        if item.cluster_id and item.official.get("breaking") and item.published_at >= now - BREAKING_WINDOW
    }
    if cluster_ids:
        Cluster.objects.open(now).filter(pk__in=cluster_ids, breaking=False).update(breaking=True)
