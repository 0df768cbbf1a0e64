"""Load the default taxonomy for first responders (default_topics.json) into Topic rows, by slug.

What an editor changed is theirs to keep. The policy:

* A topic whose slug is missing is created with the default name, description, rule and threshold
  (skipped, with the reason, when another topic already uses the default name).
* An existing topic keeps its name. Its description is filled in only when empty; each rule field
  (phrases, negative phrases, must-also-mention) is filled in only when empty; the threshold is set only
  together with the phrases (a threshold without phrases means nothing, so it was never chosen).
* ``reset=True`` (``load_topics --reset``) puts back the default rule fields and threshold of every
  default topic, and still leaves names and descriptions alone.

Safe to re-run: a second run reports every topic unchanged. The demo content uses the same slugs, so
demo and defaults make one set of topics whichever is loaded first.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from watchdesk.taxonomy.models import Topic
from watchdesk.taxonomy.rules import DEFAULT_NEGATIVE_WEIGHT, DEFAULT_PHRASE_WEIGHT, parse_rule

DEFAULT_TOPICS_FILE = Path(__file__).with_name("default_topics.json")

# Topic field -> (key in the file, default weight, weighted?)
RULE_KEYS = {
    "rule_phrases": ("phrases", DEFAULT_PHRASE_WEIGHT, True),
    "rule_negative": ("negative", DEFAULT_NEGATIVE_WEIGHT, True),
    "rule_required": ("required", DEFAULT_PHRASE_WEIGHT, False),
}


@dataclass
class TopicsSummary:
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # (slug, reason)

    def as_dict(self):
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": [{"slug": slug, "reason": reason} for slug, reason in self.skipped],
        }

    def __str__(self):
        text = (
            f"Topics: {len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.skipped)} skipped."
        )
        for slug, reason in self.skipped:
            text += f"\n  skipped {slug}: {reason}"
        return text


def read_default_topics(path=None):
    """The default topics as dicts with the rule fields as Topic stores them; checks every rule parses."""
    path = Path(path or DEFAULT_TOPICS_FILE)
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["topics"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a topics file ({error})") from None
    topics = []
    for row in rows:
        slug = row.get("slug", "")
        if not slug or not row.get("name"):
            raise ValueError(f"{path}: every topic needs a slug and a name ({row!r:.80})")
        values = {
            "name": row["name"],
            "description": row.get("description", ""),
            "rule_threshold": float(row.get("threshold", 3)),
        }
        for field_name, (key, default_weight, weighted) in RULE_KEYS.items():
            text = "\n".join(row.get(key, []))
            try:
                parse_rule(text, default_weight=default_weight, weighted=weighted)
            except ValueError as error:
                raise ValueError(f"{path}: topic {slug}, {key}: {error}") from None
            values[field_name] = text
        topics.append((slug, values))
    return topics


@transaction.atomic
def load_default_topics(*, reset=False, path=None):
    """Create or fill in the default topics; returns a ``TopicsSummary`` of slugs."""
    summary = TopicsSummary()
    defaults = read_default_topics(path)
    existing = {topic.slug: topic for topic in Topic.objects.filter(slug__in=[slug for slug, _ in defaults])}
    names_in_use = dict(Topic.objects.values_list("name", "slug"))

    for slug, values in defaults:
        topic = existing.get(slug)
        if topic is None:
            holder = names_in_use.get(values["name"])
            if holder is not None:
                summary.skipped.append((slug, f"the name “{values['name']}” is used by topic {holder}"))
                continue
            Topic.objects.create(slug=slug, **values)
            names_in_use[values["name"]] = slug
            summary.created.append(slug)
            continue

        changed = False
        if not topic.description and values["description"]:
            topic.description = values["description"]
            changed = True
        fill_threshold = reset or not topic.rule_phrases.strip()
        if fill_threshold and topic.rule_threshold != values["rule_threshold"]:
            topic.rule_threshold = values["rule_threshold"]
            changed = True
        for field_name in RULE_KEYS:
            current = getattr(topic, field_name)
            wanted = values[field_name]
            if (reset or not current.strip()) and current != wanted:
                setattr(topic, field_name, wanted)
                changed = True
        if changed:
            topic.save()
            summary.updated.append(slug)
        else:
            summary.unchanged.append(slug)
    return summary
