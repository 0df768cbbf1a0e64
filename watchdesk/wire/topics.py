"""Filing wire items under topics, with the rule engine in ``watchdesk.taxonomy.rules``.

The wire keeps one compiled matcher per process, writes each item's ``ItemTopic`` rows, and runs an
edited rule over recent items for the topic editor's preview.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from watchdesk.core.compiled import Compiled
from watchdesk.taxonomy.models import Topic
from watchdesk.taxonomy.rules import TopicMatch, TopicMatcher
from watchdesk.wire import official
from watchdesk.wire.models import Item, ItemTopic


def topics_signature():
    """Changes whenever a topic is added, removed or saved: one aggregate query."""
    row = Topic.objects.aggregate(count=Count("pk"), last_pk=Max("pk"), changed=Max("rule_updated_at"))
    return (row["count"], row["last_pk"], row["changed"])


_matcher = Compiled(topics_signature, TopicMatcher.from_db)


def current_matcher():
    """The matcher for the topics as they are now, rebuilt only when a topic changed. Call once per batch."""
    return _matcher.get()


def forget_matcher():
    """Drop the cached matcher (tests, and after bulk changes made with ``update()``)."""
    _matcher.forget()


def apply_topics(items, *, matcher=None):
    """File ``items`` under the topics whose rules they pass, replacing their previous topics.

    Returns the number of ``ItemTopic`` rows written. Items not yet saved are skipped.
    """
    items = [item for item in items if item.pk]
    if not items:
        return 0
    matcher = matcher or current_matcher()
    event_slugs = {item.pk: official.event_topics(item.official) for item in items}
    wanted = {slug for slugs in event_slugs.values() for slug in slugs}
    topic_of = dict(Topic.objects.filter(slug__in=wanted).values_list("slug", "pk")) if wanted else {}
    rows = []
    for item in items:
        found = {row.topic_id: row for row in matcher.match(item.title, item.text) if row.passed}
        rows += _with_event_topics(
            item, found, [topic_of[slug] for slug in event_slugs[item.pk] if slug in topic_of]
        )
    with transaction.atomic():
        ItemTopic.objects.filter(item_id__in=[item.pk for item in items]).delete()
        return len(ItemTopic.objects.bulk_create(rows))


def _with_event_topics(item, found, event_topic_ids):
    """The item's topic rows: what its rules passed, and the topics its official event names (an alert's
    event is the publisher's own word for the hazard, so it files the item whatever the text says)."""
    rows = {
        topic_id: ItemTopic(item_id=item.pk, topic_id=topic_id, score=match.score, phrases=match.phrases)
        for topic_id, match in found.items()
    }
    for topic_id in event_topic_ids:
        phrase = official.event_phrase(item.official)
        row = rows.get(topic_id)
        if row is None:
            rows[topic_id] = ItemTopic(
                item_id=item.pk, topic_id=topic_id, score=official.EVENT_TOPIC_SCORE, phrases=[phrase]
            )
        else:
            row.score = max(row.score, official.EVENT_TOPIC_SCORE)
            row.phrases = [phrase, *row.phrases]
    return list(rows.values())


# --- What a changed rule would do: the rule editor's preview --------------------------------------------


@dataclass
class PreviewRow:
    """One recent item that a changed rule files differently: its score and phrases under each rule."""

    item: object
    old: TopicMatch | None
    new: TopicMatch | None


@dataclass
class RulePreview:
    gained: list
    lost: list
    kept: int
    examined: int
    days: int
    limit: int


def _result_for(matcher, item):
    for found in matcher.match(item.title, item.text):
        return found
    return None


def preview_rule_change(saved, edited, *, days=7, limit=2000, now=None):
    """Which recent items ``edited`` (an unsaved topic) would gain or lose compared with ``saved``.

    ``saved`` is the topic as stored, or None for a topic not created yet. Both rules are run over the
    newest ``limit`` original items first seen in the last ``days`` days (newest first), so the answer
    compares rule with rule, not with topic links that may be older than the saved rule.
    """
    old_matcher = TopicMatcher([saved]) if saved is not None else TopicMatcher([])
    new_matcher = TopicMatcher([edited])
    since = (now or timezone.now()) - timedelta(days=days)
    items = (
        Item.objects.originals()
        .filter(first_seen_at__gte=since)
        .only("pk", "title", "text", "url", "outlet", "first_seen_at", "published_at")
        .order_by("-first_seen_at", "-pk")[:limit]
    )
    gained, lost, kept, examined = [], [], 0, 0
    for item in items.iterator(chunk_size=500):
        examined += 1
        old = _result_for(old_matcher, item)
        new = _result_for(new_matcher, item)
        was_in = bool(old and old.passed)
        is_in = bool(new and new.passed)
        if is_in and not was_in:
            gained.append(PreviewRow(item, old, new))
        elif was_in and not is_in:
            lost.append(PreviewRow(item, old, new))
        elif is_in:
            kept += 1
    return RulePreview(gained=gained, lost=lost, kept=kept, examined=examined, days=days, limit=limit)
