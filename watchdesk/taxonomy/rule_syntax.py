"""The topic rule language: one phrase a line, a weight, and optional context clauses.

    outbreak = 2; not after: tornado, severe weather
    shelter in place = 1; near 8: chemical, plume, leak
    jihadist = 3

A line is ``phrase [= weight] [; clause]...``; a clause is ``[not] near|after|before [N]: word, word``
or ``[not] with: word, word``. The reasons and examples are in docs/wire.md ("Topics").
"""

import math
import re
import unicodedata
from dataclasses import dataclass

NEAR, AFTER, BEFORE, WITH = "near", "after", "before", "with"
# Words either side for "near"; "after"/"before" mean right next to the phrase unless a number is given.
DEFAULT_WINDOW = {NEAR: 5, AFTER: 1, BEFORE: 1}
MAX_WINDOW = 50

# Letters and digits stay; everything else (spaces, hyphens, punctuation, underscores) is a word break.
_WORD_BREAKS = re.compile(r"[\W_]+")
_CLAUSE = re.compile(
    r"(?P<negate>not\s+)?(?P<where>near|after|before|with)(?:\s+(?P<window>\S+?))?\s*:(?P<words>.*)",
    re.IGNORECASE,
)
CLAUSE_EXAMPLE = "“not after: tornado” or “near 8: chemical, leak”"


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


@dataclass(frozen=True)
class Clause:
    """One context condition on a phrase: some of ``words`` (as written) near it, or none when ``negate``."""

    negate: bool
    where: str  # NEAR, AFTER, BEFORE or WITH (anywhere in the same item)
    window: int  # in words; 0 for WITH
    words: tuple

    def __str__(self):
        window = "" if self.window in (0, DEFAULT_WINDOW.get(self.where)) else f" {self.window}"
        return f"{'not ' if self.negate else ''}{self.where}{window}: {', '.join(self.words)}"


@dataclass(frozen=True)
class RuleLine:
    """One parsed line: the phrase as written, its weight and its context clauses (all must hold)."""

    phrase: str
    weight: float
    context: tuple = ()


def _parse_weight(weight_text, number):
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
    return weight


def _parse_clause(text, number):
    found = _CLAUSE.fullmatch(text.strip())
    if not found:
        raise ValueError(
            f"line {number}: after “;” write a context such as {CLAUSE_EXAMPLE}, not “{text.strip()}”"
        )
    where = found["where"].lower()
    window = DEFAULT_WINDOW.get(where, 0)
    if found["window"] is not None:
        if where == WITH:
            raise ValueError(f"line {number}: “with” means anywhere in the item and takes no number")
        if not found["window"].isdigit() or not 1 <= int(found["window"]) <= MAX_WINDOW:
            raise ValueError(
                f"line {number}: the number after “{where}” is a count of words from 1 to {MAX_WINDOW}, "
                f"not “{found['window']}”"
            )
        window = int(found["window"])
    words = []
    for word in found["words"].split(","):
        word = " ".join(word.split())
        if not normalize(word):
            raise ValueError(f"line {number}: “{where}:” needs words separated by commas")
        words.append(word)
    return Clause(negate=bool(found["negate"]), where=where, window=window, words=tuple(words))


def parse_rule(text, *, default_weight, weighted=True):
    """Parse one rule field into a list of ``RuleLine``, in the order written.

    One phrase per line, "phrase = weight" or just "phrase" (``default_weight``), then any context
    clauses after ";"; blank lines and lines starting with "#" are ignored. With ``weighted=False`` (the
    "must also mention" group) a weight is an error. Raises ``ValueError`` with a line-numbered message
    ("line 3: weight must be a number") for the first bad line, so an editor can find it.
    """
    parsed = []
    seen = {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head, *clause_texts = line.split(";")
        phrase, equals, weight_text = head.rpartition("=")
        if not equals:
            phrase, weight = head, float(default_weight)
        elif not weighted:
            remove = f"={weight_text.rstrip()}"
            raise ValueError(f"line {number}: these phrases take no weight (remove “{remove}”)")
        else:
            weight = _parse_weight(weight_text, number)
        phrase = " ".join(phrase.split())
        key = normalize(phrase)
        if not key:
            raise ValueError(f"line {number}: a phrase needs at least one letter or digit")
        if key in seen:
            raise ValueError(f"line {number}: “{phrase}” repeats line {seen[key]}")
        seen[key] = number
        context = tuple(_parse_clause(clause, number) for clause in clause_texts)
        parsed.append(RuleLine(phrase, weight, context))
    return parsed
