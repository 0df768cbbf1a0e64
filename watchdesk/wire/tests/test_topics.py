"""Filing items under topics: the per-process matcher, rebuilt when a topic changes, and ItemTopic rows."""

import pytest
from django.utils import timezone

from watchdesk.taxonomy.tests.topic_fixtures import make_topic
from watchdesk.wire import topics
from watchdesk.wire.models import Item, ItemTopic
from watchdesk.wire.topics import apply_topics, current_matcher


@pytest.fixture(autouse=True)
def fresh_matcher_cache():
    topics.forget_matcher()
    yield
    topics.forget_matcher()


# --- the cached matcher and filing items ----------------------------------------------------------------


def test_the_matcher_is_cached_until_a_topic_changes(db):
    topic = make_topic("wildfire", "wildfire = 3")
    first = current_matcher()
    assert current_matcher() is first
    assert first.match("Brush fire", "") == []

    topic.rule_phrases = "wildfire = 3\nbrush fire = 3"
    topic.save()
    second = current_matcher()
    assert second is not first
    assert second.match("Brush fire", "")[0].passed

    make_topic("flooding", "flood = 3")
    third = current_matcher()
    assert third is not second and third.topic_count == 2

    topic.delete()
    assert current_matcher().topic_count == 1


def test_the_cache_costs_one_query_when_nothing_changed(db, django_assert_num_queries):
    make_topic("wildfire", "wildfire = 3")
    current_matcher()
    with django_assert_num_queries(1):
        current_matcher()


def test_apply_topics_replaces_an_items_topics_with_the_passing_ones(
    db, make_item, django_assert_max_num_queries
):
    wildfire = make_topic("wildfire", "wildfire = 3\nevacuation = 1")
    flooding = make_topic("flooding", "flood = 3")
    make_topic("hazmat", "spill = 1")  # matched below the threshold: not filed
    burning = make_item("Wildfire forces evacuation", text="A chemical spill too.")
    quiet = make_item("Council meets", text="Budget talk.")
    ItemTopic.objects.create(item=quiet, topic=flooding, score=9, phrases=["old"])

    current_matcher()
    with django_assert_max_num_queries(6):
        apply_topics([burning, quiet])

    link = ItemTopic.objects.get(item=burning)
    assert (link.topic_id, link.score, link.phrases) == (wildfire.pk, 8, ["wildfire", "evacuation"])
    assert not ItemTopic.objects.filter(item=quiet).exists()

    wildfire.rule_phrases = "blaze = 3"
    wildfire.save()
    apply_topics([burning])
    assert not ItemTopic.objects.filter(item=burning).exists()


def test_apply_topics_ignores_unsaved_items_and_empty_batches(db):
    assert apply_topics([]) == 0
    assert apply_topics([Item(title="Wildfire", published_at=timezone.now())]) == 0
