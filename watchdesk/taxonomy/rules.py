"""Topic rules: weighted phrases that say which texts belong under a topic, parsed, checked and matched.

Text and phrases are normalised the same way (``normalize``) and match as whole words; each phrase
counts once per item and twice in the title; every topic's phrases are keys of one Aho-Corasick
automaton, padded with spaces so a hit is a whole-word hit. A phrase may carry context clauses
("outbreak = 2; not after: tornado"), checked only where it is found. The rule language (parsed in
``rule_syntax``) and its reasons are in docs/wire.md ("Topics").
"""

from collections import defaultdict
from dataclasses import dataclass, field

import ahocorasick

from watchdesk.taxonomy.models import Topic
from watchdesk.taxonomy.rule_syntax import AFTER, BEFORE, WITH, normalize, parse_rule

__all__ = ["normalize", "parse_rule", "TopicMatcher", "TopicMatch", "Cancelled", "compile_rule"]

DEFAULT_PHRASE_WEIGHT = 1.0
DEFAULT_NEGATIVE_WEIGHT = 5.0
TITLE_FACTOR = 2.0

PHRASE = "phrase"
NEGATIVE = "negative"
REQUIRED = "required"

# Between the title and the text in the haystack: never part of a key, so no phrase spans the two.
_TITLE_END = "|"
_NO_PLACES = {}  # what hits() returns when no key with a context clause was found: never written to


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
class Condition:
    """A context clause compiled: ``keys`` are the automaton values of its words, in the order written."""

    clause: object  # rule_syntax.Clause
    keys: tuple


@dataclass(frozen=True)
class PhraseUse:
    """One topic's use of one phrase: the value side of the automaton's keys."""

    topic_id: object
    kind: str
    weight: float
    phrase: str  # as the editor wrote it
    order: int  # position in the topic's rule, to list matched phrases in the order written
    context: tuple = ()  # Conditions, all of which must hold at one occurrence of the phrase


@dataclass(frozen=True)
class Cancelled:
    """A phrase found in the item that did not count, because of its context: "outbreak" after "tornado"."""

    phrase: str
    kind: str  # PHRASE, NEGATIVE or REQUIRED
    reason: str
    order: int = field(default=0, compare=False, repr=False)

    def __str__(self):
        return f"{self.phrase} ({self.reason})"


@dataclass
class TopicMatch:
    """How one item scored on one topic. ``phrases`` are the positive and required phrases that counted,
    as written in the rule; ``negative_phrases`` the negative ones; ``cancelled`` those found but not
    counted because of their context clauses."""

    topic_id: object
    score: float
    phrases: list
    passed: bool
    negative_phrases: list = field(default_factory=list)
    cancelled: list = field(default_factory=list)


def _quoted(words, joiner=" or "):
    return joiner.join(f"“{word}”" for word in words)


def _why_not(clause, word):
    """Why a phrase did not count: its clause found ``word`` (a "not" clause) or found none (word None)."""
    if word is not None:
        if clause.where == WITH:
            return f"“{word}” in the item"
        if clause.where in (AFTER, BEFORE):
            span = "" if clause.window == 1 else f" within {clause.window} words"
            return f"{clause.where} “{word}”{span}"
        return f"“{word}” within {clause.window} words"
    if clause.where == WITH:
        return f"no {_quoted(clause.words)} in the item"
    if clause.where in (AFTER, BEFORE):
        span = "" if clause.window == 1 else f" within {clause.window} words"
        return f"not {clause.where} {_quoted(clause.words)}{span}"
    return f"no {_quoted(clause.words)} within {clause.window} words"


class TopicMatcher:
    """Every topic's rule compiled into one Aho-Corasick automaton.

    Build it once per batch (the wire keeps one per process). Topics whose rule does not
    parse are left out and listed in ``problems`` as (topic id, message): the admin form refuses bad
    rules, so this only happens to rules written some other way.

    Context words are keys of the same automaton. A key whose position matters (a phrase with a near,
    after or before clause, or a word such a clause looks for) is stored as ``~index``, so the scan notes
    where it occurs and every other hit costs what it did before; context is checked only for hits.
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

        key_index = {}

        def index_of(text):
            return key_index.setdefault(normalize(text), len(key_index))

        uses_by_index = defaultdict(list)
        positional = set()
        for rule in self.rules.values():
            entries = [
                *((PHRASE, line) for line in rule.phrases),
                *((NEGATIVE, line) for line in rule.negative),
                *((REQUIRED, line) for line in rule.required),
            ]
            for order, (kind, line) in enumerate(entries):
                index = index_of(line.phrase)
                context = []
                for clause in line.context:
                    keys = tuple(index_of(word) for word in clause.words)
                    context.append(Condition(clause, keys))
                    if clause.where != WITH:
                        positional.update((index, *keys))
                use = PhraseUse(rule.topic_id, kind, line.weight, line.phrase, order, tuple(context))
                uses_by_index[index].append(use)

        self.uses = [tuple(uses_by_index[index]) for index in range(len(key_index))]
        self._conditional = frozenset(
            index
            for index, uses in enumerate(self.uses)
            if any(c.clause.where != WITH for use in uses for c in use.context)
        )
        self._words_in_key = [0] * len(key_index)
        self.automaton = ahocorasick.Automaton()
        for key, index in key_index.items():
            self._words_in_key[index] = key.count(" ") + 1
            self.automaton.add_word(f" {key} ", ~index if index in positional else index)
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
        """``({index into self.uses: found in the title}, {index: [(first word, last word, in title)]})``.

        The first dict holds every phrase and context word in title or text; the second, the occurrences
        of the keys whose position a context clause needs (word numbers count from the title's start).
        """
        if not self.uses:
            return {}, _NO_PLACES
        title_words = normalize(title)
        haystack = f" {title_words} {_TITLE_END} {normalize(text)} "
        title_end = len(title_words) + 2  # the index of _TITLE_END
        found = {}
        spots = []
        for end, value in self.automaton.iter(haystack):
            if value < 0:
                value = ~value
                spots.append((end, value))
            if end < title_end:
                found[value] = True
            else:
                found.setdefault(value, False)
        if not spots or self._conditional.isdisjoint(found):
            return found, _NO_PLACES  # no phrase with a near/after/before clause was found
        places = defaultdict(list)
        spaces, counted_to = 0, 0
        for end, index in spots:  # in the order of their ends, so the spaces are counted once
            spaces += haystack.count(" ", counted_to, end)
            counted_to = end
            last = spaces - 1  # the key's last word: every word has one space before it
            places[index].append((last - self._words_in_key[index] + 1, last, end < title_end))
        return found, places

    def _context_word(self, condition, first, last, in_title, found, places):
        """The first of the condition's words present where its clause looks, or None."""
        clause = condition.clause
        for key, word in zip(condition.keys, clause.words, strict=True):
            if key not in found:
                continue
            if clause.where == WITH:
                return word
            for other_first, other_last, other_in_title in places.get(key, ()):
                if other_in_title != in_title:
                    continue
                if clause.where != BEFORE and other_last < first and first - other_last <= clause.window:
                    return word
                if clause.where != AFTER and other_first > last and other_first - last <= clause.window:
                    return word
        return None

    def _decide(self, use, index, found, places):
        """``(counts, in the title, why not)`` for a use with context: it counts where an occurrence of
        the phrase meets every clause, and double when such an occurrence is in the title."""
        occurrences = places.get(index) or [(0, 0, found[index])]  # "with" clauses need no position
        counted, in_title, why_not = False, False, None
        for first, last, occurrence_in_title in occurrences:
            for condition in use.context:
                word = self._context_word(condition, first, last, occurrence_in_title, found, places)
                if (word is not None) == condition.clause.negate:
                    why_not = why_not or _why_not(condition.clause, word)
                    break
            else:
                counted = True
                in_title = in_title or occurrence_in_title
        return counted, in_title, why_not

    def match(self, title, text=""):
        """A ``TopicMatch`` for every topic with any phrase in the item, best score first."""
        scores = defaultdict(float)
        matched = defaultdict(list)
        cancelled = defaultdict(list)
        has_required = set()
        found, places = self.hits(title, text)
        for index, in_title in found.items():
            factor = TITLE_FACTOR if in_title else 1.0
            for use in self.uses[index]:
                if use.context:
                    counts, in_title_here, why_not = self._decide(use, index, found, places)
                    if not counts:
                        cancelled[use.topic_id].append(Cancelled(use.phrase, use.kind, why_not, use.order))
                        continue
                    factor_here = TITLE_FACTOR if in_title_here else 1.0
                else:
                    factor_here = factor
                matched[use.topic_id].append(use)
                if use.kind == PHRASE:
                    scores[use.topic_id] += use.weight * factor_here
                elif use.kind == NEGATIVE:
                    scores[use.topic_id] -= use.weight * factor_here
                else:
                    has_required.add(use.topic_id)

        if cancelled:
            for topic_id in cancelled.keys() - matched.keys():  # only phrases that did not count
                matched[topic_id] = []
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
            result = TopicMatch(topic_id, score, phrases, passed, negative)
            if topic_id in cancelled:
                result.cancelled = sorted(cancelled[topic_id], key=lambda entry: entry.order)
            results.append(result)
        results.sort(key=lambda result: (-result.score, str(result.topic_id)))
        return results
