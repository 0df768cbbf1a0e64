"""The normalised model of a parsed feed: ``ParsedFeed`` and its ``Entry`` items, the column limits they
respect, ``FeedError``, and ``make_entry``, which turns one entry of any feed format into an ``Entry``.

``parsing`` (RSS and Atom, through feedparser) and ``jsonfeed`` (JSON Feed) both build on it.
"""

import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from watchdesk.core.sanitize import clean_html, html_to_text, storable
from watchdesk.posts.bylines import byline_from
from watchdesk.wire.canonical import canonical_url

MAX_TITLE = 500
MAX_AUTHOR = 255
MAX_GUID = 1000
MAX_URL = 2000
MAX_TEXT = 20_000
MAX_HTML = 200_000  # characters of one summary or content kept before sanitising
MAX_LANGUAGE = 16
UNTITLED_LENGTH = 100  # a title made from the text of an entry that has none


class FeedError(Exception):
    """The document is not a feed we can read; ``str(error)`` is the reason, for the source's health."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Entry:
    guid: str
    url: str
    title: str
    author: str = ""
    summary: str = ""  # sanitised HTML
    content: str = ""  # sanitised HTML, when the feed has more than the summary
    text: str = ""  # plain text of the content or summary
    published_at: datetime | None = None  # aware UTC, None when missing or unparseable
    language: str = ""
    # What an official alert feed says beyond a news item (CAP event, severity, geocodes; a quake's
    # magnitude; GeoRSS points): see official.py. Empty for ordinary news.
    official: dict = field(default_factory=dict, compare=False)
    # True when summary and content went through clean_html already (parse_feed, articles): storing then
    # does not clean them a second time. An Entry made anywhere else is cleaned when stored.
    sanitised: bool = field(default=False, compare=False, repr=False)


@dataclass
class ParsedFeed:
    title: str = ""
    link: str = ""
    language: str = ""
    format: str = ""
    entries: list[Entry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (guid or link, reason)
    problems: list[str] = field(default_factory=list)  # what was wrong with a feed we could still read
    not_read: int = 0  # entries past the limit per fetch: neither parsed nor stored
    not_read_reason: str = ""
    hubs: list[str] = field(default_factory=list)  # WebSub hubs the feed names (rel="hub")
    self_url: str = ""  # the feed's own URL as it names it (rel="self"): the WebSub topic

    def not_read_pair(self):
        """(count, reason) of the entries past the limit, as ``ingest.store_entries`` takes them."""
        return (self.not_read, self.not_read_reason)

    @property
    def problem(self):
        return "; ".join(self.problems)

    def note(self, problem):
        if problem:
            self.problems.append(problem)

    def limit_entries(self, limit, cut):
        """Record that ``cut`` entries past the first ``limit`` were not read."""
        if cut:
            self.not_read = cut
            self.not_read_reason = (
                f"{limit + cut:,} entries in the feed: {cut:,} past the first {limit:,} were not read"
            )
            self.note(self.not_read_reason)


def make_entry(
    *,
    entry_id,
    link,
    title,
    author="",  # one author field or a list of them, as the feed wrote them; cleaned here
    summary_html="",
    content_html="",
    published_at=None,
    language="",
    base="",
    html_base="",
    official=None,
):
    """Normalise one entry: an ``Entry`` ready to store, or (guid, reason) when it cannot be stored."""
    entry_id = storable(str(entry_id)).strip() if entry_id else ""
    raw_link = storable(link if isinstance(link, str) else "").strip()
    url = canonical_url(raw_link, base=base)
    raw_title = title if isinstance(title, str) else ""
    if not raw_title.strip() and not raw_link:
        return (entry_id[:MAX_GUID], "no title and no link")
    if not url:
        shown = raw_link[:120] or "none"
        return (entry_id[:MAX_GUID] or raw_link[:MAX_GUID], f"no usable link (only http and https): {shown}")
    if len(url) > MAX_URL:
        return (entry_id[:MAX_GUID], f"link longer than {MAX_URL} characters")

    html_base = _html_base(html_base, base)
    summary = clean_html(summary_html[:MAX_HTML], base=html_base)
    content = clean_html(content_html[:MAX_HTML], base=html_base)
    if content == summary:
        content = ""
    text = html_to_text(content or summary)[:MAX_TEXT]
    title = plain_text(raw_title, MAX_TITLE) or _shorten(text, UNTITLED_LENGTH)
    if not title:
        return (entry_id[:MAX_GUID] or url[:MAX_GUID], "no title and no text")

    # The GUID: the entry's own id, else its canonical link. There is no third fallback (a hash of title
    # and date): an entry without a usable link was skipped above, as every item must link to its story.
    # An id longer than the column is replaced by its hash, which is just as stable.
    guid = entry_id or url
    if len(guid) > MAX_GUID:
        guid = "sha256:" + hashlib.sha256(guid.encode()).hexdigest()
    return Entry(
        guid=guid,
        url=url,
        title=title,
        author=byline_from([author] if isinstance(author, str) else author or [], MAX_AUTHOR),
        summary=summary,
        content=content,
        text=text,
        published_at=published_at,
        language=language,
        official=official or {},
        sanitised=True,
    )


@functools.lru_cache(maxsize=64)
def _html_base(html_base, base):
    """The base for links inside an entry's HTML: nearly always the feed's own, so worked out once."""
    return canonical_url(html_base, base=base) or base


def plain_text(value, limit):
    return _shorten(html_to_text(value) if value else "", limit)


def _shorten(text, limit):
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def link_as_given(href, base=""):
    """An http(s) link resolved against ``base`` but otherwise as written, or "". WebSub hubs and topics
    are compared character for character, so they are not canonicalised like article links."""
    href = storable(href if isinstance(href, str) else "").strip()
    try:
        absolute = urljoin(base, href) if base else href
    except ValueError:
        return ""
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(absolute) > MAX_URL:
        return ""
    return absolute


_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")


def language_tag(value):
    """A language tag such as "en" or "en-us", or "" for anything that is not one."""
    if not isinstance(value, str):
        return ""
    value = value.strip().lower().replace("_", "-")
    return value if len(value) <= MAX_LANGUAGE and _LANGUAGE.fullmatch(value) else ""
