"""Enrichment files an item under topics, places and a cluster, scores it and marks it, all or nothing."""

import pytest
from django.utils import timezone

from watchdesk.taxonomy.topics_loader import load_default_topics
from watchdesk.wire import clustering
from watchdesk.wire.enrich import enrich
from watchdesk.wire.models import Item, ItemPlace, ItemTopic


@pytest.fixture
def fire(db, regions, make_item):
    load_default_topics()
    return make_item(
        "Wildfire forces evacuations near Los Angeles",
        text="A fast-moving wildfire forced evacuation orders as crews built containment lines.",
    )


def test_an_item_is_filed_clustered_scored_and_marked(fire):
    now = timezone.now()

    enrich([fire], now=now)

    fire.refresh_from_db()
    assert ItemTopic.objects.filter(item=fire, topic__slug="wildfire").exists()
    assert ItemPlace.objects.filter(item=fire).exists()
    assert fire.cluster is not None and fire.cluster.title == fire.title
    assert fire.score > 0 and set(fire.score_parts) >= {"topic", "region", "trust", "cluster", "recency"}
    assert fire.enriched_at == now


def test_a_failing_step_leaves_no_half_filed_item(fire, monkeypatch):
    def broken(items, *, now=None):
        raise RuntimeError("clustering bug")

    monkeypatch.setattr(clustering, "assign_clusters", broken)

    with pytest.raises(RuntimeError):
        enrich([fire])

    fire.refresh_from_db()
    # The topics and places written before the failure are rolled back with it; the item itself stays,
    # unmarked, for the next poll to enrich again.
    assert not ItemTopic.objects.filter(item=fire).exists()
    assert not ItemPlace.objects.filter(item=fire).exists()
    assert fire.enriched_at is None and Item.objects.filter(pk=fire.pk).exists()
