"""Feed documents (bytes we fetched or were given) turned into normalised, sanitised entries.

RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 are read by feedparser, JSON Feed 1.0/1.1 by ``jsonfeed`` (the
installed feedparser 6.0 has no JSON support). feedparser only ever sees an in-memory stream: given a
string it would treat it as a URL or a file name and fetch or open it.

XML attacks are defused before feedparser sees the document: every DOCTYPE (with its internal subset) and
every ENTITY declaration is cut out, so there is nothing to expand (billion laughs, quadratic blow-up),
nothing external to load (file:// or http:// entities, external DTDs), and feedparser's own
``replace_doctype`` finds no "safe" entities to re-declare. A reference to an entity that is no longer
declared makes the strict parser give up; the loose parser then leaves ``&name;`` as literal text.

What counts as a feed (see docs/wire.md):
* a document feedparser recognises as RSS or Atom, or with entries, is a feed even when it is "bozo"
  (wrong declared encoding, served as text/html, not well-formed): its good entries are kept, and
  ``ParsedFeed.problem`` says what was wrong;
* a feed cut off in the middle (not well-formed, fewer closing ``</item>``/``</entry>`` tags than
  entries) loses only the unfinished entries at its end, which are skipped with a reason;
* anything else (empty, an HTML page, another XML document, garbage, JSON that is not a JSON Feed) raises
  ``FeedError`` with the reason, and nothing is stored.
"""

import codecs
import io
import re
import xml.sax
from datetime import UTC, datetime
from html import escape

import feedparser

from watchdesk.core.sanitize import storable
from watchdesk.wire import jsonfeed
from watchdesk.wire.canonical import canonical_url
from watchdesk.wire.entries import (
    MAX_GUID,
    MAX_TITLE,
    Entry,
    FeedError,
    ParsedFeed,
    language_tag,
    link_as_given,
    make_entry,
    plain_text,
)

MAX_FEED_BYTES = 20 * 1024 * 1024  # more than the fetcher's limit, for feeds ingested from files

FORMATS = {
    "rss090": "rss090",
    "rss091n": "rss091",
    "rss091u": "rss091",
    "rss092": "rss092",
    "rss093": "rss093",
    "rss094": "rss094",
    "rss20": "rss20",
    "rss10": "rss10",
    "rss": "rss",
    "atom01": "atom01",
    "atom02": "atom02",
    "atom03": "atom03",
    "atom10": "atom10",
    "atom": "atom",
    "cdf": "cdf",
}


def parse_feed(content, *, url="", content_type=""):
    """Parse a feed document (bytes) into a ``ParsedFeed``; raise ``FeedError`` when it is not a feed."""
    if not isinstance(content, bytes | bytearray | memoryview):
        raise TypeError("parse_feed takes the bytes of a document, not a URL or a file name")
    content = bytes(content)
    if len(content) > MAX_FEED_BYTES:
        raise FeedError(f"the document is larger than {MAX_FEED_BYTES // (1024 * 1024)} MB")
    if not content.strip(b" \t\r\n\x00\xef\xbb\xbf\xfe\xff"):
        raise FeedError("the document is empty")
    if _looks_like_json(content, content_type):
        return jsonfeed.parse_json_feed(content, url=url)
    return _parse_xml_feed(content, url=url, content_type=content_type)


def _looks_like_json(content, content_type):
    start = content.lstrip(b" \t\r\n\xef\xbb\xbf")[:1]
    if start in (b"{", b"["):
        return True
    return "json" in content_type.lower() and start != b"<"


# --- XML -----------------------------------------------------------------------------------------------

_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# Inside a declaration: quoted strings and comments may hold ">" or "]" that do not end anything.
_DECLARATION_TOKEN = re.compile(rb"\"[^\"]*\"|'[^']*'|<!--.*?-->|[\[\]<>]", re.DOTALL)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_ENTRY_CLOSE = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>")
_FEED_CLOSE = re.compile(rb"</(?:[\w.-]+:)?(?:rss|feed|RDF|channel)\s*>")
_HTML_PAGE = re.compile(rb"<html[\s>]|<!doctype\s+html", re.IGNORECASE)

# Byte-order marks and the first bytes of "<?xml" in encodings that are not ASCII-compatible: such
# documents are turned into UTF-8 first, so the declaration scan below can see them.
_WIDE_ENCODINGS = [
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),
]
# Declared encodings that real feeds often send while their bytes are UTF-8.
_SINGLE_BYTE_LABELS = {
    "ascii",
    "us-ascii",
    "latin-1",
    "latin1",
    "iso-8859-1",
    "iso8859-1",
    "iso-8859-15",
    "windows-1252",
    "cp1252",
}


# Our own nh3 pass is what we trust, and it resolves relative links itself: feedparser's slower
# sanitiser and URI resolver would only do the same work twice.
FEEDPARSER_OPTIONS = {"sanitize_html": False, "resolve_relative_uris": False}


def feedparser_input(content, content_type=""):
    """(bytes, response headers, a note on what was wrong or "") as ``parse_feed`` hands an XML feed to
    feedparser, with ``FEEDPARSER_OPTIONS``."""
    content, charset, note = _normalise_encoding(content, _charset(content_type))
    content = _remove_declarations(content)
    # The declared charset wins over the document's own declaration, which wins over UTF-8. The media
    # type itself is not passed on: feedparser would apply RFC 3023's "text/* means US-ASCII" rule, which
    # real servers ignore. No content-location either: feedparser would resolve RSS GUIDs against it.
    headers = {"content-type": f"application/xml; charset={charset}" if charset else "application/xml"}
    return content, headers, note


def _parse_xml_feed(content, *, url, content_type):
    content, headers, note = feedparser_input(content, content_type)
    result = feedparser.parse(io.BytesIO(content), response_headers=headers, **FEEDPARSER_OPTIONS)
    version = result.get("version") or ""
    entries = result.get("entries") or []
    if not version and not entries:
        raise FeedError(_not_a_feed_reason(content, content_type, result))

    feed = result.get("feed") or {}
    base = canonical_url(feed.get("link", ""), base=url) or canonical_url(url)
    language = language_tag(feed.get("language") or (feed.get("title_detail") or {}).get("language"))
    parsed = ParsedFeed(
        title=plain_text(feed.get("title", ""), MAX_TITLE),
        link=base,
        language=language,
        format=FORMATS.get(version, version or "unknown"),
        problem=note,
    )
    _websub_links(parsed, feed.get("links") or [], url)
    if result.get("bozo"):
        problem = _describe(result.get("bozo_exception"))
        parsed.problem = parsed.problem or problem
        entries = _drop_unfinished(entries, content, parsed)
        if not entries and not parsed.skipped and not _FEED_CLOSE.search(content):
            # Cut off before its first entry: a broken feed, not an empty one.
            raise FeedError(f"not a feed: the document ends before the feed does ({problem})")
    for raw in entries:
        entry_or_reason = _xml_entry(raw, base=base, feed_language=language, atom=version.startswith("atom"))
        if isinstance(entry_or_reason, Entry):
            parsed.entries.append(entry_or_reason)
        else:
            parsed.skipped.append(entry_or_reason)
    return parsed


def _websub_links(parsed, links, url):
    """The hubs and self link of an Atom feed, or of an RSS feed through ``<atom:link>``."""
    for link in links:
        href = link_as_given(link.get("href"), url) if isinstance(link, dict) else ""
        if not href:
            continue
        if link.get("rel") == "hub" and href not in parsed.hubs:
            parsed.hubs.append(href)
        elif link.get("rel") == "self" and not parsed.self_url:
            parsed.self_url = href


def _normalise_encoding(content, charset):
    """Make the bytes ASCII-compatible, and trust valid UTF-8 over a single-byte label it contradicts.

    Returns (content, the charset feedparser should use or "", a note on what was wrong or "").
    """
    for marker, encoding in _WIDE_ENCODINGS:
        if content.startswith(marker):
            text = content.decode(encoding, errors="replace").lstrip("\ufeff")
            text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
            return ('<?xml version="1.0" encoding="utf-8"?>' + text).encode(), "utf-8", ""
    declared = charset or _xml_encoding(content)
    if declared.lower() in _SINGLE_BYTE_LABELS and not content.isascii():
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return content, "utf-8", f"the document says it is {declared} but it is UTF-8"
    return content, charset, ""


def _charset(content_type):
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'")
    return ""


def _xml_encoding(content):
    match = _XML_ENCODING.match(content[:500])
    return match.group(1).decode("ascii") if match else ""


def _remove_declarations(content):
    """Cut out every DOCTYPE and ENTITY declaration, wherever it is, with its internal subset.

    A declaration that never ends takes the rest of the document with it (the document is then not a
    feed). Scanning is done by one regular expression over quoted strings, comments and brackets, so a
    huge internal subset costs linear time.
    """
    pieces = []
    position = 0
    while True:
        match = _DECLARATION.search(content, position)
        if not match:
            break
        pieces.append(content[position : match.start()])
        position = _declaration_end(content, match.end())
    if not pieces:
        return content
    pieces.append(content[position:])
    return b"".join(pieces)


def _declaration_end(content, start):
    depth = 0
    for token in _DECLARATION_TOKEN.finditer(content, start):
        value = token.group()
        if value == b"[":
            depth += 1
        elif value == b"]":
            depth = max(depth - 1, 0)
        elif value == b">" and depth == 0:
            return token.end()
    return len(content)


def _not_a_feed_reason(content, content_type, result):
    if _HTML_PAGE.search(content[:4096]) or content_type.lower().startswith("text/html"):
        return "this is an HTML page, not a feed"
    problem = _describe(result.get("bozo_exception")) if result.get("bozo") else ""
    if problem:
        return f"not a feed: {problem}"
    return "not a feed: no RSS, Atom or JSON Feed document found"


def _describe(exception):
    if exception is None:
        return ""
    if isinstance(exception, xml.sax.SAXParseException):
        line, column = exception.getLineNumber(), exception.getColumnNumber()
        text = f"not well-formed XML at line {line}, column {column}: {exception.getMessage()}"
    else:
        text = str(exception).strip()
    return storable(text)[:300] or exception.__class__.__name__


def _drop_unfinished(entries, content, parsed):
    """A feed cut off mid-entry: the entries whose closing tag never came are skipped, not half-stored."""
    finished = len(_ENTRY_CLOSE.findall(content))
    if finished >= len(entries):
        return entries
    for raw in entries[finished:]:
        parsed.skipped.append((_raw_guid(raw), "the feed was cut off inside this entry"))
    return entries[:finished]


def _raw_guid(raw):
    return storable(str(raw.get("id") or raw.get("link") or ""))[:MAX_GUID]


def _xml_entry(raw, *, base, feed_language, atom=False):
    """An ``Entry``, or (guid, reason) when the entry cannot be stored."""
    link = raw.get("link") or ""
    if not link:
        for candidate in raw.get("links") or []:
            if candidate.get("href") and candidate.get("rel", "alternate") == "alternate":
                link = candidate["href"]
                break
    title_detail = raw.get("title_detail") or {}
    summary_detail = raw.get("summary_detail") or {}
    content_html = ""
    for part in raw.get("content") or []:
        value = part.get("value") or ""
        if value.strip():
            content_html = _as_html(value, part.get("type", ""))
            break
    summary_html = _as_html(raw.get("summary") or "", summary_detail.get("type", ""))
    author = _authors(raw, atom=atom)
    language = language_tag(title_detail.get("language") or summary_detail.get("language")) or feed_language
    return make_entry(
        entry_id=raw.get("id") or "",
        link=link,
        title=raw.get("title") or "",
        author=author,
        summary_html=summary_html,
        content_html=content_html,
        # dict.get: feedparser's own get() maps missing keys to others, with a deprecation warning.
        published_at=_struct_time(dict.get(raw, "published_parsed"))
        or _struct_time(dict.get(raw, "updated_parsed"))
        or _struct_time(dict.get(raw, "created_parsed")),
        language=language,
        base=base,
        html_base=summary_detail.get("base") or base,
    )


def _authors(raw, *, atom):
    """The entry's author fields as the feed wrote them, for ``make_entry`` to clean.

    Atom's come from ``<name>`` elements, so feedparser's names are exact. RSS's ``author`` and
    ``dc:creator`` are free text that feedparser splits with an address pattern that cuts long domains
    ("news@x.example (Marie)" -> name "ple (Marie"), so the text as written is read instead; only
    several of them (it keeps the last one's text) need the split names, taken from the bracket.
    """
    details = [detail for detail in raw.get("authors") or [] if detail]
    if atom:
        return [detail.get("name") or detail.get("email") or "" for detail in details]
    if len(details) <= 1:
        return [raw.get("author") or ""]
    return [
        detail.get("name", "").rsplit("(", 1)[-1] if detail.get("email") else detail.get("name", "")
        for detail in details
    ]


def _as_html(value, content_type):
    """Text marked as plain is escaped, so "5 < 6" stays text instead of becoming a tag."""
    if content_type == "text/plain":
        return escape(value)
    return value


def _struct_time(value):
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None
