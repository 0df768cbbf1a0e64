"""Enrichment: what happens to items after they are stored, in one place and in a fixed order.

Each step works on the whole batch at once (one automaton pass per item, bulk writes), so a feed of a
hundred entries costs a handful of queries per step rather than a handful per entry.

Breaking surges are not re-checked here: that reads the last hour and the week before it, whatever the
batch, so it runs once per feed document (``ingest.ingest_feed``) and every few minutes
(``tasks.refresh_scores``), not once per batch.
"""

from django.db import transaction
from django.utils import timezone

from watchdesk.wire import clustering, official, places, relevance, topics
from watchdesk.wire.models import Item


def enrich(items, *, now=None):
    """File ``items`` under topics and places, group them into clusters, score them, and mark them
    enriched (``enriched_at``), all in one transaction."""
    items = [item for item in items if item.pk]
    if not items:
        return
    now = now or timezone.now()
    # One transaction for the four steps: an item is never left half-filed (topics but no cluster), and
    # one commit instead of four.
    # The items themselves were committed before, so a failure here loses none: they stay stored with
    # enriched_at empty and the next poll enriches them again.
    with transaction.atomic():
        topics.apply_topics(items)
        places.apply_places(items)
        # A cancelled, expired or test alert is stored, filed and placed, but joins no story: the inbox
        # lists stories, and it is not news (official.held_reason).
        clustering.assign_clusters(
            [item for item in items if not official.held_reason(item.official, now)], now=now
        )
        relevance.score(items, now=now, flag=False)
        Item.objects.filter(pk__in=[item.pk for item in items]).update(enriched_at=now)
    for item in items:
        item.enriched_at = now
