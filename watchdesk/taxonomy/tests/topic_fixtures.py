"""What the topic tests of taxonomy and wire share: topics with rules, and the topic editor's form data."""

import pytest

from watchdesk.taxonomy.models import Topic

SAVED_RULE = "wildfire = 3\nsmoke = 3"


def make_topic(slug, phrases="", negative="", required="", threshold=3, **fields):
    return Topic.objects.create(
        slug=slug,
        name=fields.pop("name", slug.title()),
        rule_phrases=phrases,
        rule_negative=negative,
        rule_required=required,
        rule_threshold=threshold,
        **fields,
    )


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
