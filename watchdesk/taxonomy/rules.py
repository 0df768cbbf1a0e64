"""Topic rules: weighted phrases that say which texts belong under a topic, parsed, checked and matched.

Text and phrases are normalised the same way (``normalize``) and match as whole words; each phrase
counts once per item and twice in the title; every topic's phrases are keys of one Aho-Corasick
automaton, padded with spaces so a hit is a whole-word hit. The rule language and its reasons are in
docs/wire.md ("Topics").
"""

import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

import ahocorasick

from watchdesk.taxonomy.models import Topic

DEFAULT_PHRASE_WEIGHT = 1.0
DEFAULT_NEGATIVE_WEIGHT = 5.0
TITLE_FACTOR = 2.0

PHRASE = "phrase"
NEGATIVE = "negative"
REQUIRED = "required"

# Letters and digits stay; everything else (spaces, hyphens, punctuation, underscores) is a word break.
_WORD_BREAKS = re.compile(r"[\W_]+")
# Between the title and the text in the haystack: never part of a key, so no phrase spans the two.
_TITLE_END = "|"


class _CombiningMarks(dict):
    """A ``str.translate`` table that drops combining marks, filled in as characters are first seen.

    Scanning all of Unicode up front would cost a noticeable start-up time; the characters that news text
    actually uses are few, and after the first sight each one is a plain dict hit in C.
    """

    def __missing__(self, codepoint):
        self[codepoint] = None if unicodedata.combining(chr(codepoint)) else codepoint
        return self[codepoint]


_DROP_MARKS = _CombiningMarks()


def normalize(text):
    """Lower-case, accent-free words between single spaces: "Évacuation—ordered!" -> "evacuation ordered"."""
    if not text:
        return ""
    if text.isascii():
        folded = text.lower()
    else:
        folded = unicodedata.normalize("NFKD", text).translate(_DROP_MARKS).casefold()
    return _WORD_BREAKS.sub(" ", folded).strip()


def parse_rule(text, *, default_weight, weighted=True):
    """Parse one rule field into ``[(phrase as written, weight), ...]``, in the order written.

    One phrase per line, "phrase = weight" or just "phrase" (``default_weight``); blank lines and lines
    starting with "#" are ignored. With ``weighted=False`` (the "must also mention" group) a weight is an
    error. Raises ``ValueError`` with a line-numbered message ("line 3: weight must be a number") for the
    first bad line, so an editor can find it.
    """
    parsed = []
    seen = {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        phrase, equals, weight_text = line.rpartition("=")
        if not equals:
            phrase, weight = line, float(default_weight)
        elif not weighted:
            raise ValueError(f"line {number}: these phrases take no weight (remove “={weight_text}”)")
        else:
            phrase = phrase.strip()
            weight_text = weight_text.strip()
            try:
                weight = float(weight_text)
            except ValueError:
                weight = math.nan
            if not math.isfinite(weight):
                after = f"not “{weight_text}”" if weight_text else "after “=”"
                raise ValueError(f"line {number}: weight must be a number, {after}")
            if weight <= 0:
                raise ValueError(f"line {number}: weight must be more than 0")
        phrase = " ".join(phrase.split())
        key = normalize(phrase)
        if not key:
            raise ValueError(f"line {number}: a phrase needs at least one letter or digit")
        if key in seen:
            raise ValueError(f"line {number}: “{phrase}” repeats line {seen[key]}")
        seen[key] = number
        parsed.append((phrase, weight))
    return parsed


@dataclass(frozen=True)
class CompiledRule:
    """One topic's rule, parsed. ``ValueError`` from :func:`compile_rule` names the field at fault."""

    topic_id: object
    phrases: tuple
    negative: tuple
    required: tuple
    threshold: float


RULE_FIELDS = (
    ("rule_phrases", PHRASE, DEFAULT_PHRASE_WEIGHT, True),
    ("rule_negative", NEGATIVE, DEFAULT_NEGATIVE_WEIGHT, True),
    ("rule_required", REQUIRED, DEFAULT_PHRASE_WEIGHT, False),
)


def compile_rule(topic):
    """Parse a topic's three rule fields; a ``ValueError`` says which field and line is wrong."""
    parts = {}
    for field_name, kind, default_weight, weighted in RULE_FIELDS:
        try:
            parts[kind] = tuple(
                parse_rule(getattr(topic, field_name), default_weight=default_weight, weighted=weighted)
            )
        except ValueError as error:
            label = topic._meta.get_field(field_name).verbose_name if hasattr(topic, "_meta") else field_name
            raise ValueError(f"{label}, {error}") from None
    return CompiledRule(
        topic_id=topic.pk,
        phrases=parts[PHRASE],
        negative=parts[NEGATIVE],
        required=parts[REQUIRED],
        threshold=float(topic.rule_threshold),
    )


@dataclass(frozen=True)
class PhraseUse:
    """One topic's use of one phrase: the value side of the automaton's keys."""

    topic_id: object
    kind: str
    weight: float
    phrase: str  # as the editor wrote it
    order: int  # position in the topic's rule, to list matched phrases in the order written


@dataclass
class TopicMatch:
    """How one item scored on one topic. ``phrases`` are the positive and required phrases that matched,
    as written in the rule; ``negative_phrases`` the negative ones."""

    topic_id: object
    score: float
    phrases: list
    passed: bool
    negative_phrases: list = field(default_factory=list)


class TopicMatcher:
    """Every topic's rule compiled into one Aho-Corasick automaton.

    Build it once per batch (the wire keeps one per process). Topics whose rule does not
    parse are left out and listed in ``problems`` as (topic id, message): the admin form refuses bad
    rules, so this only happens to rules written some other way.
    """

    def __init__(self, topics):
        self.rules = {}
        self.problems = []
        for topic in topics:
            try:
                rule = compile_rule(topic)
            except ValueError as error:
                self.problems.append((topic.pk, str(error)))
                continue
            self.rules[rule.topic_id] = rule

        uses_by_key = defaultdict(list)
        for rule in self.rules.values():
            entries = [
                *((PHRASE, phrase, weight) for phrase, weight in rule.phrases),
                *((NEGATIVE, phrase, weight) for phrase, weight in rule.negative),
                *((REQUIRED, phrase, weight) for phrase, weight in rule.required),
            ]
            for order, (kind, phrase, weight) in enumerate(entries):
                use = PhraseUse(rule.topic_id, kind, weight, phrase, order)
                uses_by_key[normalize(phrase)].append(use)

        self.uses = []
        self.automaton = ahocorasick.Automaton()
        for key, uses in uses_by_key.items():
            self.automaton.add_word(f" {key} ", len(self.uses))
            self.uses.append(tuple(uses))
        if self.uses:
            self.automaton.make_automaton()

    @classmethod
    def from_db(cls):
        return cls(
            Topic.objects.only("pk", "rule_phrases", "rule_negative", "rule_required", "rule_threshold")
        )

    @property
    def topic_count(self):
        return len(self.rules)

    def hits(self, title, text):
        """``{index into self.uses: found in the title}`` for every phrase in title or text."""
        if not self.uses:
            return {}
        title_words = normalize(title)
        haystack = f" {title_words} {_TITLE_END} {normalize(text)} "
        title_end = len(title_words) + 2  # the index of _TITLE_END
        found = {}
        for end, index in self.automaton.iter(haystack):
            if end < title_end:
                found[index] = True
            else:
                found.setdefault(index, False)
        return found

    def match(self, title, text=""):
        """A ``TopicMatch`` for every topic with any phrase in the item, best score first."""
        scores = defaultdict(float)
        matched = defaultdict(list)
        has_required = set()
        for index, in_title in self.hits(title, text).items():
            factor = TITLE_FACTOR if in_title else 1.0
            for use in self.uses[index]:
                matched[use.topic_id].append(use)
                if use.kind == PHRASE:
                    scores[use.topic_id] += use.weight * factor
                elif use.kind == NEGATIVE:
                    scores[use.topic_id] -= use.weight * factor
                else:
                    has_required.add(use.topic_id)

        results = []
        for topic_id, uses in matched.items():
            rule = self.rules[topic_id]
            score = round(scores[topic_id], 3)
            uses.sort(key=lambda use: use.order)
            phrases = []
            for use in uses:
                if use.kind != NEGATIVE and use.phrase not in phrases:
                    phrases.append(use.phrase)
            passed = score >= rule.threshold and (not rule.required or topic_id in has_required)
            negative = [use.phrase for use in uses if use.kind == NEGATIVE]
            results.append(TopicMatch(topic_id, score, phrases, passed, negative))
        results.sort(key=lambda result: (-result.score, str(result.topic_id)))
        return results
