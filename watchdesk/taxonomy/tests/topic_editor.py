"""What the topic editor tests share: a topic with a saved rule, and the editor's form data for it."""

import pytest

from watchdesk.taxonomy.models import Topic

SAVED_RULE = "wildfire = 3\nsmoke = 3"


def form_data(topic=None, **changes):
    """The topic edit form as the browser posts it: ``topic``'s values (or a new Wildfire), changed."""
    data = {
        "name": topic.name if topic else "Wildfire",
        "slug": topic.slug if topic else "wildfire",
        "description": topic.description if topic else "",
        "rule_phrases": topic.rule_phrases if topic else "",
        "rule_negative": topic.rule_negative if topic else "",
        "rule_required": topic.rule_required if topic else "",
        "rule_threshold": topic.rule_threshold if topic else 3,
    }
    data.update(changes)
    return data


@pytest.fixture
def wildfire(db):
    return Topic.objects.create(
        slug="wildfire", name="Wildfire", rule_phrases=SAVED_RULE, rule_negative="fire sale", rule_threshold=3
    )
