"""What stops a post drafted from the wire from going out in the outlet's words.

A wire draft holds an instruction line (``WIRE_DRAFT_MARKER``) and quotes the outlet's text, which is
also kept on the post (``StoryPost.outlet_text``). Publishing, scheduling or submitting for moderation
is refused while a field still holds the instruction, or while the summary or the body is the outlet's
text: compared word by word, ignoring case, punctuation, whitespace and markup (docs/architecture.md).
"""

import re
from difflib import SequenceMatcher

from watchdesk.core.sanitize import html_to_text

WIRE_DRAFT_MARKER = "Draft from the wire: rewrite this in your own words before publishing."

# Words of a field outside the runs it shares with the outlet's text ("The outlet's summary:" is three).
OWN_WORDS_NEEDED = 4
SHORTEST_RUN = 4  # shorter shared runs are common phrases ("in the county"), not copying

MARKER_MESSAGE = (
    "This still holds the wire draft's instruction. Replace it, and the outlet's quoted text, with the "
    "story in your own words before publishing or submitting it. Saving a draft still works."
)
COPY_MESSAGE = (
    "This is the outlet's text word for word. Say it in your own words (a short direct quote is fine) "
    "before publishing or submitting it. Saving a draft still works."
)


def words(html_or_text):
    return re.findall(r"\w+", html_to_text(html_or_text or "").casefold())


MARKER_WORDS = " ".join(words(WIRE_DRAFT_MARKER))


def holds_marker(value):
    return f" {MARKER_WORDS} " in f" {' '.join(words(value))} "


def is_copy(value, outlet_words):
    """True when nearly every word of ``value`` comes, in runs, from the outlet's text."""
    mine = words(value)
    if len(mine) < SHORTEST_RUN or not outlet_words:
        return False
    matcher = SequenceMatcher(None, mine, outlet_words, autojunk=False)
    shared = sum(block.size for block in matcher.get_matching_blocks() if block.size >= SHORTEST_RUN)
    return shared > 0 and len(mine) - shared < OWN_WORDS_NEEDED


def publishing_problems(*, title, summary, body, outlet_text):
    """``{field: message}`` for each field that may not be published as it is; empty when all is well."""
    problems = {}
    for name, value in (("title", title), ("summary", summary), ("body", body)):
        if holds_marker(value):
            problems[name] = MARKER_MESSAGE
    outlet_words = words(outlet_text)
    for name, value in (("summary", summary), ("body", body)):
        if name not in problems and is_copy(value, outlet_words):
            problems[name] = COPY_MESSAGE
    return problems
