"""The default taxonomy for first responders: loaded by slug, safe to re-run, and kind to editors' changes."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from watchdesk.taxonomy.models import Topic
from watchdesk.taxonomy.rules import TopicMatcher
from watchdesk.taxonomy.topics_loader import load_default_topics, read_default_topics

DEMO_CONTENT = Path(__file__).resolve().parents[2] / "demo" / "content.json"

# The subjects issue 4 asks for, by the slug that carries each one.
REQUIRED_SUBJECTS = {
    "terrorism": "terrorism",
    "active shooter and mass violence": "active-shooter",
    "wildfire": "wildfire",
    "flood": "flooding",
    "hurricane": "hurricanes",
    "tornado and severe weather": "tornado-severe-weather",
    "earthquake": "earthquakes",
    "hazardous materials": "hazmat",
    "CBRN": "cbrn",
    "cyber attack": "cybersecurity",
    "disease outbreak": "disease-outbreak",
    "infrastructure failure": "infrastructure-failure",
    "transportation accident": "transportation-accidents",
    "border security": "border-security",
    "violent extremism": "violent-extremism",
    "officer safety": "officer-safety",
    "fire service and EMS operations": "ems",
    "search and rescue": "search-and-rescue",
}


@pytest.mark.django_db
def test_the_loader_creates_every_default_topic_with_a_rule():
    summary = load_default_topics()

    topics = {topic.slug: topic for topic in Topic.objects.all()}
    assert len(topics) >= 18
    assert sorted(summary.created) == sorted(topics)
    assert set(REQUIRED_SUBJECTS.values()) <= set(topics)
    for topic in topics.values():
        assert topic.description, topic.slug
        assert len(topic.rule_phrases.splitlines()) >= 10, topic.slug
        assert topic.rule_negative.strip(), topic.slug
        assert topic.rule_threshold > 0
    assert topics["border-security"].rule_required.strip()


@pytest.mark.django_db
def test_every_default_rule_parses():
    load_default_topics()
    matcher = TopicMatcher.from_db()
    assert matcher.problems == []
    assert matcher.topic_count == Topic.objects.count()


@pytest.mark.django_db
def test_loading_again_changes_nothing():
    load_default_topics()
    before = {topic.slug: (topic.rule_updated_at, topic.rule_phrases) for topic in Topic.objects.all()}

    summary = load_default_topics()

    assert summary.created == summary.updated == summary.skipped == []
    assert sorted(summary.unchanged) == sorted(before)
    after = {topic.slug: (topic.rule_updated_at, topic.rule_phrases) for topic in Topic.objects.all()}
    assert after == before


@pytest.mark.django_db
def test_demo_topics_and_defaults_are_one_set():
    """The demo creates twelve topics by slug with no rules; the defaults fill in their rules."""
    demo_topics = json.loads(DEMO_CONTENT.read_text())["topics"]
    for row in demo_topics:
        Topic.objects.create(slug=row["slug"], name=row["name"], description=row["description"])
    default_slugs = {slug for slug, _ in read_default_topics()}
    assert {row["slug"] for row in demo_topics} <= default_slugs

    summary = load_default_topics()

    assert sorted(summary.updated) == sorted(row["slug"] for row in demo_topics)
    assert Topic.objects.count() == len(default_slugs)
    ems = Topic.objects.get(slug="ems")
    assert ems.name == "EMS"  # the demo's name and description stay
    assert ems.description == next(row for row in demo_topics if row["slug"] == "ems")["description"]
    assert "paramedic = 3" in ems.rule_phrases.splitlines()


@pytest.mark.django_db
def test_rules_an_editor_wrote_are_kept_unless_reset():
    load_default_topics()
    Topic.objects.filter(slug="wildfire").update(name="Wildland fire", description="")
    wildfire = Topic.objects.get(slug="wildfire")
    wildfire.rule_phrases = "wildfire = 5\nbrush fire = 5"
    wildfire.rule_negative = ""
    wildfire.rule_threshold = 4
    wildfire.save()

    summary = load_default_topics()

    assert summary.updated == ["wildfire"]
    wildfire.refresh_from_db()
    assert wildfire.name == "Wildland fire"
    assert wildfire.description  # an empty description is filled in
    assert wildfire.rule_phrases == "wildfire = 5\nbrush fire = 5"
    assert wildfire.rule_threshold == 4
    assert "fire sale = 5" in wildfire.rule_negative.splitlines()  # an empty rule field is filled in

    summary = load_default_topics(reset=True)

    assert summary.updated == ["wildfire"]
    wildfire.refresh_from_db()
    assert wildfire.name == "Wildland fire"
    assert "red flag warning = 3" in wildfire.rule_phrases.splitlines()
    assert wildfire.rule_threshold == 3


@pytest.mark.django_db
def test_a_default_name_taken_by_another_topic_is_skipped_with_the_reason():
    Topic.objects.create(slug="cyber", name="Cybersecurity")

    summary = load_default_topics()

    assert ("cybersecurity", "the name “Cybersecurity” is used by topic cyber") in summary.skipped
    assert not Topic.objects.filter(slug="cybersecurity").exists()
    assert "cybersecurity" not in summary.created


@pytest.mark.django_db
def test_the_command_prints_a_summary():
    out = StringIO()
    call_command("load_topics", stdout=out)
    count = Topic.objects.count()
    assert out.getvalue().strip() == f"Topics: {count} created, 0 updated, 0 unchanged, 0 skipped."

    out = StringIO()
    call_command("load_topics", "--json", stdout=out)
    assert len(json.loads(out.getvalue())["unchanged"]) == count


@pytest.mark.django_db
def test_a_bad_topics_file_is_refused_and_changes_nothing(tmp_path):
    broken = tmp_path / "topics.json"
    broken.write_text(
        json.dumps({"topics": [{"slug": "x", "name": "X", "phrases": ["fine = 2", "bad = heavy"]}]})
    )
    with pytest.raises(CommandError, match="topic x, phrases: line 2: weight must be a number"):
        call_command("load_topics", "--file", str(broken), stdout=StringIO())
    with pytest.raises(CommandError, match="not a topics file"):
        call_command("load_topics", "--file", str(tmp_path / "missing.json"), stdout=StringIO())
    assert not Topic.objects.exists()
