"""HTML from outside, made safe to store and show: one allow-list, applied by nh3 (Ammonia).

Everything a feed or an article page gives us goes through ``clean_html`` before it is stored, whatever
the feed parser did before: only the text tags below survive, links keep only http, https and mailto
targets and get ``rel="noopener noreferrer nofollow"``, and there are no scripts, styles, frames, forms,
event handlers or style attributes.

Images (and their ``alt`` text) are dropped on purpose: hot-linked outside images would tell the outlet who
reads the wire; docs/wire.md has the reasons.
"""

import html
import re
from functools import lru_cache
from urllib.parse import urlsplit

import nh3

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "dd",
        "del",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "samp",
        "small",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "u",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

# Elements removed together with everything inside them (the text of a script or of an SVG drawing is
# not part of the story). Everything else that is not allowed loses its tag and keeps its text.
REMOVED_WITH_CONTENT = frozenset(
    {
        "applet",
        "button",
        "embed",
        "frame",
        "frameset",
        "iframe",
        "math",
        "noembed",
        "noframes",
        "noscript",
        "object",
        "script",
        "select",
        "style",
        "svg",
        "template",
        "textarea",
        "title",
        "xmp",
    }
)

# Tags after which text belongs to a new paragraph or cell: html_to_text puts a space there so that
# "<p>Flood</p><p>Warning</p>" reads "Flood Warning", not "FloodWarning".
_BLOCK_TAG = re.compile(
    r"<(?=/?(?:address|article|aside|blockquote|br|caption|dd|div|dl|dt|figcaption|figure|footer|h[1-6]|"
    r"header|hr|li|main|nav|ol|p|pre|section|table|tbody|td|tfoot|th|thead|tr|ul)\b)",
    re.IGNORECASE,
)
_WHITESPACE = re.compile(r"\s+")
# NUL and other control characters (PostgreSQL refuses NUL in text) and lone surrogates (not UTF-8).
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def storable(text):
    """``text`` without characters that no database column should hold (NUL, control characters)."""
    return _UNSTORABLE.sub("", text or "")


@lru_cache(maxsize=256)
def _cleaner(base):
    """One nh3 cleaner per base URL: relative links are resolved against the page they came from, and
    dropped when we do not know it (they would otherwise point into our own site)."""
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(REMOVED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        url_relative=("rewrite_with_base", base) if base else "deny",
    )


def _usable_base(base):
    if not base or not isinstance(base, str):
        return ""
    try:
        parts = urlsplit(base.strip())
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return base.strip()


def clean_html(html_text, *, base=""):
    """Sanitised HTML: the allow-list above, links resolved against ``base`` (an http(s) URL) or dropped."""
    html_text = storable(html_text)
    if not html_text.strip():
        return ""
    base = _usable_base(base)
    try:
        cleaner = _cleaner(base)
    except ValueError:  # nh3 could not use the base after all
        cleaner = _cleaner("")
    return storable(cleaner.clean(html_text)).strip()


@lru_cache(maxsize=1)
def _text_cleaner():
    """The cleaner that keeps no tags at all, built once (building one costs more than most cleans)."""
    return nh3.Cleaner(tags=set(), clean_content_tags=set(REMOVED_WITH_CONTENT), strip_comments=True)


def html_to_text(html_text):
    """Plain text of an HTML fragment: tags and scripts gone, entities decoded, whitespace collapsed."""
    html_text = storable(html_text)
    if not html_text.strip():
        return ""
    if "<" not in html_text and "&" not in html_text:  # no markup and no entities: already plain text
        return _WHITESPACE.sub(" ", html_text).strip()
    text = _text_cleaner().clean(_BLOCK_TAG.sub(" <", html_text))
    return storable(_WHITESPACE.sub(" ", html.unescape(text))).strip()
