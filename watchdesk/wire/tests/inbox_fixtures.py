"""A ``story`` fixture for the inbox tests: a cluster with items from several outlets, topic and place
links and a score, made directly in the database (no parsing, matching or clustering code involved)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from watchdesk.wire.models import Cluster, ItemPlace, ItemTopic


@pytest.fixture
def story(make_item, source):
    """``story(title, outlets=2, score=10.0, topics={topic: (score, phrases)}, places={region: (confidence,
    origin)}, **cluster_fields)`` -> Cluster; its first item is the lead and carries the topics and places."""

    def make(
        title="Wildfire forces evacuations near Los Angeles",
        *,
        outlets=2,
        score=10.0,
        topics=None,
        places=None,
        age=timedelta(hours=1),
        item_source=None,
        summary="<p>Crews fought the fire overnight. Hundreds left their homes.</p>",
        **fields,
    ):
        seen = timezone.now() - age
        cluster = Cluster.objects.create(
            title=title,
            score=score,
            score_parts=fields.pop("score_parts", {"topic": score / 2, "recency": score / 2}),
            item_count=outlets,
            outlet_count=outlets,
            first_seen_at=seen,
            last_seen_at=seen,
            **fields,
        )
        items = []
        for n in range(outlets):
            item_fields = {"source": item_source} if item_source and n == 0 else {}
            items.append(
                make_item(
                    title if n == 0 else f"{title} (outlet {n + 1})",
                    outlet=item_source.name if item_fields else f"Outlet {n + 1}",
                    author="Dana Ortiz" if n == 0 else "",
                    summary=summary,
                    cluster=cluster,
                    published_at=seen - timedelta(minutes=n),
                    first_seen_at=seen,
                    score=score,
                    score_parts={"topic": score},
                    **item_fields,
                )
            )
        cluster.lead = items[0]
        cluster.save(update_fields=["lead"])
        for topic, (topic_score, phrases) in (topics or {}).items():
            ItemTopic.objects.create(item=items[0], topic=topic, score=topic_score, phrases=phrases)
        for region, (confidence, origin) in (places or {}).items():
            ItemPlace.objects.create(
                item=items[0], region=region, confidence=confidence, origin=origin, mention=region.name
            )
        cluster.test_items = items
        return cluster

    return make
