"""Relevance scores with their parts, and breaking-news surges."""

import json
import math
from datetime import timedelta

import pytest
from django.utils import timezone

from watchdesk.wire.clustering import assign_clusters
from watchdesk.wire.ingest import ingest_feed, store_entries
from watchdesk.wire.models import Cluster, Item, ItemPlace, ItemTopic, WireSettings
from watchdesk.wire.parsing import parse_feed
from watchdesk.wire.relevance import Surge, flag_breaking, refresh, score, score_cluster

FIRE_TEXT = (
    "A fast-moving wildfire burning near Paradise forced about 3,000 residents to evacuate on Tuesday as "
    "gusty winds pushed the flames toward homes. The Ridge Fire has burned 4,200 acres."
)


@pytest.fixture
def wire_settings(db):
    settings = WireSettings.load()
    settings.topic_weight = 1.0
    settings.region_weight = 5.0
    settings.trust_weight = 5.0
    settings.cluster_weight = 3.0
    settings.recency_half_life_hours = 12.0
    settings.breaking_factor = 3.0
    settings.breaking_minimum = 4
    settings.save()
    return settings


@pytest.fixture
def filed(make_item, source, topics, regions):
    """Store an item with topic scores and places, as the topic and place steps would have filed it."""

    def make(
        title, *, text="", topic=None, topic_score=4.0, place=None, confidence=1.0, hours_ago=0, **fields
    ):
        when = timezone.now() - timedelta(hours=hours_ago)
        fields.setdefault("source", source(trust=50))
        item = make_item(
            title, text=text or f"{title}. More to follow.", published_at=when, first_seen_at=when, **fields
        )
        if topic:
            ItemTopic.objects.create(item=item, topic=topics[topic], score=topic_score, phrases=[topic])
        if place:
            ItemPlace.objects.create(item=item, region=regions[place], confidence=confidence, origin="text")
        return item

    return make


def enrich(items, now=None):
    assign_clusters(items, now=now)
    score(items, now=now)
    for item in items:
        item.refresh_from_db()
    return items


def test_parts_add_up_and_recency_multiplies(filed, wire_settings):
    (item,) = enrich(
        [filed("Ridge Fire grows to 4,200 acres", topic="wildfire", topic_score=6.0, hours_ago=3)]
    )

    parts = item.score_parts
    assert parts["topic"] == 6.0
    assert parts["region"] == 0.0
    assert parts["trust"] == 2.5  # trust 50 of 100, weight 5
    assert parts["cluster"] == 0.0  # one outlet
    assert parts["recency"] == pytest.approx(0.5 ** (3 / 12), abs=0.001)
    assert parts["total"] == pytest.approx((6.0 + 0.0 + 2.5 + 0.0) * parts["recency"], abs=0.001)
    assert item.score == parts["total"]


def test_a_priority_region_raises_the_score_by_the_places_confidence(filed, wire_settings, regions):
    wire_settings.priority_regions.set([regions["california"]])
    in_la, in_houston, unsure = enrich(
        [
            filed("Brush fire closes freeway in Los Angeles", topic="wildfire", place="los_angeles"),
            filed("Refinery fire sends smoke over Houston", topic="wildfire", place="houston"),
            filed("Smoke reported over the valley", topic="wildfire", place="los_angeles", confidence=0.4),
        ]
    )

    assert in_la.score_parts["region"] == 5.0
    assert in_houston.score_parts["region"] == 0.0
    assert unsure.score_parts["region"] == 2.0
    assert in_la.score > unsure.score > in_houston.score


def test_more_outlets_raise_the_score(filed, wire_settings):
    lone = enrich(
        [filed("Water main break floods downtown streets", text="Crews shut the valve overnight.")]
    )[0]
    told_thrice = [
        filed("Ridge Fire near Paradise forces 3,000 to evacuate", text=FIRE_TEXT, content_hash="f" * 64)
        for _ in range(3)
    ]
    for item in told_thrice:
        enrich([item])
    first, _, last = told_thrice
    first.refresh_from_db()

    three_outlets = pytest.approx(3.0 * math.log2(3), abs=0.001)
    assert last.cluster.outlet_count == 3
    assert last.score_parts["cluster"] == three_outlets
    assert last.cluster.score_parts["cluster"] == three_outlets
    assert lone.score_parts["cluster"] == 0.0
    assert last.cluster.score > lone.cluster.score
    assert first.score_parts["cluster"] == 0.0  # scored when it was the only telling ...
    refresh()
    first.refresh_from_db()
    assert first.score_parts["cluster"] == three_outlets  # ... and restated by the periodic refresh


def test_an_older_story_scores_lower(filed, wire_settings):
    fresh, day_old = enrich(
        [
            filed("Evacuation order lifted for Ridge Fire", topic="wildfire"),
            filed("Evacuation order issued for Mill Fire", topic="wildfire", hours_ago=24),
        ]
    )

    assert day_old.score_parts["recency"] == pytest.approx(0.25, abs=0.001)
    assert day_old.score == pytest.approx(fresh.score / 4, rel=0.01)


def test_a_story_first_seen_today_but_published_yesterday_is_not_fresh(filed, wire_settings):
    day_old = filed("Evacuation order issued for Mill Fire", topic="wildfire", hours_ago=24)
    Item.objects.filter(pk=day_old.pk).update(first_seen_at=timezone.now())  # a feed added today
    day_old.refresh_from_db()

    [day_old] = enrich([day_old])

    day_old.cluster.refresh_from_db()
    assert day_old.cluster.score_parts["recency"] == pytest.approx(0.25, abs=0.001)


def test_an_article_without_a_source_counts_as_trust_fifty(filed, wire_settings, source):
    article, trusted = enrich(
        [
            filed("Flood barriers go up along the river", source=None, origin="article"),
            filed("Flood barriers go up along the bayou", source=source(trust=100)),
        ]
    )

    assert article.score_parts["trust"] == 2.5
    assert trusted.score_parts["trust"] == 5.0


def test_a_cluster_scores_as_its_best_item_plus_its_outlets_and_freshness(filed, wire_settings, regions):
    wire_settings.priority_regions.set([regions["california"]])
    older = filed("Ridge Fire near Paradise forces 3,000 to evacuate", text=FIRE_TEXT, hours_ago=2)
    enrich([older])
    newer = filed(
        "Ridge Fire near Paradise forces 3,000 residents to evacuate",
        text=FIRE_TEXT,
        topic="wildfire",
        topic_score=8.0,
        place="los_angeles",
    )
    enrich([newer])

    cluster = Cluster.objects.get()
    assert cluster.item_count == 2
    parts = cluster.score_parts
    assert (parts["topic"], parts["region"], parts["trust"]) == (8.0, 5.0, 2.5)  # the newer, better item
    assert parts["cluster"] == pytest.approx(3.0, abs=0.001)  # two outlets: one doubling
    assert parts["recency"] == pytest.approx(1.0, abs=0.01)  # seen just now
    assert cluster.score == pytest.approx(18.5 * parts["recency"], abs=0.01)

    later = timezone.now() + timedelta(hours=12)
    assert score_cluster(cluster, now=later) == pytest.approx(18.5 / 2, abs=0.01)
    refresh(now=later + timedelta(hours=12))
    cluster.refresh_from_db()
    assert cluster.score == pytest.approx(18.5 / 4, abs=0.01)


@pytest.mark.parametrize("size", [5, 50])
def test_queries_per_batch_do_not_grow_with_its_size(
    filed, wire_settings, regions, size, django_assert_max_num_queries
):
    wire_settings.priority_regions.set([regions["california"]])
    items = [
        filed(f"Story {n} about something else entirely", topic="wildfire", place="los_angeles")
        for n in range(size)
    ]
    assign_clusters(items)

    # 9 to score items and clusters; 8 to find the topic and region surges (this batch is one) and
    # flag their clusters; 5 to alert the desk (2 reads, one INSERT in a savepoint). Without a surge,
    # flagging takes 3 and alerting 1.
    with django_assert_max_num_queries(22):
        score(items)

    assert all(item.score > 0 for item in Item.objects.all())
    assert all(cluster.score > 0 for cluster in Cluster.objects.all())


# Six different fires in one afternoon: separate stories, one topic.
FIRES = [
    "Grass fire near Chico airport burns 40 acres",
    "Lightning sparks blaze in Plumas National Forest",
    "Firefighters stop house fire from spreading to hillside in Oroville",
    "Red flag warning as Mill Fire jumps Highway 70",
    "Campers evacuated from Lake Almanor shoreline as timber burns",
    "Smoke from Sutter Buttes fire closes Yuba City schools",
]


def burst(filed, count, *, topic="wildfire", place=None, start_minutes=50):
    """``count`` different stories in the last hour, one a few minutes after the other."""
    items = [
        filed(title, topic=topic, place=place, hours_ago=(start_minutes - 5 * n) / 60)
        for n, title in enumerate(FIRES[:count])
    ]
    assign_clusters(items)
    assert Cluster.objects.filter(items__in=items).distinct().count() == count
    return items


def test_a_burst_after_a_quiet_week_is_breaking(filed, topics, wire_settings):
    quiet = [filed("Controlled burn planned", topic="wildfire", hours_ago=hours) for hours in (30, 80, 150)]
    assign_clusters(quiet)
    burst(filed, 6)

    surges = flag_breaking()

    assert surges == [Surge("topic", topics["wildfire"].pk, 6, round(3 / 168, 2))]
    recent = Cluster.objects.filter(last_seen_at__gte=timezone.now() - timedelta(hours=3))
    assert recent.count() == 6
    assert all(cluster.breaking for cluster in recent)
    assert not Cluster.objects.filter(breaking=True).exclude(pk__in=recent).exists()  # days-old stories


def test_a_steady_rate_is_not_breaking(filed, topics, wire_settings, source):
    outlet = source()
    week = [
        Item(
            source=outlet,
            guid=f"urn:steady:{n}",
            url=f"https://steady.example/{n}",
            title=f"Fire report {n}",
            published_at=timezone.now() - timedelta(hours=1 + n / 6),
            first_seen_at=timezone.now() - timedelta(hours=1 + n / 6),
        )
        for n in range(6 * 24 * 7)  # six an hour, all week
    ]
    Item.objects.bulk_create(week)
    ItemTopic.objects.bulk_create(
        ItemTopic(item=item, topic=topics["wildfire"], score=4.0) for item in Item.objects.all()
    )
    burst(filed, 6)

    assert flag_breaking() == []
    assert not Cluster.objects.filter(breaking=True).exists()


def test_a_surge_in_a_city_is_a_surge_in_its_state_not_its_whole_country(filed, regions, wire_settings):
    burst(filed, 5, topic=None, place="los_angeles")

    surges = {(surge.kind, surge.id, surge.count) for surge in flag_breaking()}

    assert surges == {
        ("region", regions["los_angeles"].pk, 5),
        ("region", regions["california"].pk, 5),
    }
    assert Cluster.objects.filter(breaking=True).count() == 5


def test_stories_naming_the_country_itself_can_make_it_surge(filed, regions, wire_settings):
    burst(filed, 5, topic=None, place="mali")

    assert {(surge.kind, surge.id) for surge in flag_breaking()} == {("region", regions["mali"].pk)}


def test_only_stories_published_during_the_surge_are_flagged(filed, topics, wire_settings):
    older = filed("Controlled burn planned near Ojai", topic="wildfire", hours_ago=5)
    Item.objects.filter(pk=older.pk).update(first_seen_at=timezone.now())  # from a feed added today
    older.refresh_from_db()
    assign_clusters([older])
    burst(filed, 6)
    older.cluster.refresh_from_db()
    # Seen just now, but published five hours ago: not part of this surge.
    assert older.cluster.last_seen_at > timezone.now() - timedelta(minutes=5)

    assert flag_breaking()

    assert Cluster.objects.filter(breaking=True).count() == 6
    older.cluster.refresh_from_db()
    assert not older.cluster.breaking


def test_the_flag_clears_when_the_surge_is_over(filed, wire_settings):
    burst(filed, 6)
    assert flag_breaking()
    assert Cluster.objects.filter(breaking=True).count() == 6

    assert flag_breaking(now=timezone.now() + timedelta(hours=2)) == []
    assert not Cluster.objects.filter(breaking=True).exists()


def test_dismissed_clusters_are_not_flagged(filed, wire_settings):
    items = burst(filed, 6)
    Cluster.objects.filter(pk=items[0].cluster_id).update(status=Cluster.Status.DISMISSED)

    flag_breaking()

    assert Cluster.objects.filter(breaking=True).count() == 5
    assert not Cluster.objects.get(pk=items[0].cluster_id).breaking


def test_scoring_flags_breaking_news_as_it_arrives(filed, wire_settings):
    items = burst(filed, 6)
    score(items)

    assert Cluster.objects.filter(breaking=True).count() == 6


def test_copies_of_one_story_are_not_a_surge(filed, wire_settings):
    title = "Ridge Fire near Paradise forces 3,000 to evacuate"
    copies = [
        filed(title, text=FIRE_TEXT, topic="wildfire", content_hash="f" * 64, hours_ago=(50 - 5 * n) / 60)
        for n in range(6)
    ]
    assign_clusters(copies)

    assert flag_breaking() == []
    assert Cluster.objects.get().item_count == 6


def burst_feed(titles):
    """A JSON Feed of different stories published over the last hour."""
    now = timezone.now()
    entries = [
        {
            "id": f"fire-{n}",
            "url": f"https://news.example.org/fire/{n}",
            "title": title,
            "content_text": f"{title}. Crews are working the fire line.",
            "date_published": (now - timedelta(minutes=50 - 5 * n)).isoformat(),
        }
        for n, title in enumerate(titles)
    ]
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "Fires", "items": entries}
    ).encode()


@pytest.fixture
def wildfire_rule(topics):
    topics["wildfire"].rule_phrases = "fire = 3\nblaze = 3"
    topics["wildfire"].save()
    return topics["wildfire"]


def test_enrichment_batches_leave_breaking_flags_to_the_feed_and_the_periodic_check(
    wildfire_rule, wire_settings, source
):
    stored, _ = store_entries(parse_feed(burst_feed(FIRES[:6])).entries, source=source())

    assert stored.created == 6 and Item.objects.filter(topic_links__topic=wildfire_rule).count() == 6
    assert not Cluster.objects.filter(breaking=True).exists()
    assert [surge.kind for surge in refresh()] == ["topic"]
    assert Cluster.objects.filter(breaking=True).count() == 6


def test_ingesting_a_feed_flags_breaking_news_as_it_arrives(wildfire_rule, wire_settings, source):
    summary = ingest_feed(source(), burst_feed(FIRES[:6]), content_type="application/feed+json")

    assert summary.created == 6
    assert Cluster.objects.filter(breaking=True).count() == 6


def test_a_caller_of_many_feeds_can_flag_once_at_the_end(wildfire_rule, wire_settings, source):
    feed = source()
    ingest_feed(feed, burst_feed(FIRES[:6]), content_type="application/feed+json", flag=False)

    assert not Cluster.objects.filter(breaking=True).exists()
    assert flag_breaking()
    assert Cluster.objects.filter(breaking=True).count() == 6
