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

import io
import re
import xml.sax
from datetime import UTC, datetime
from html import escape

import feedparser

from watchdesk.core.sanitize import storable
from watchdesk.wire import cap, jsonfeed, official
from watchdesk.wire.canonical import canonical_url
from watchdesk.wire.decoding import charset_of, decode_document
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
SHOWN_ENTRIES = 5  # entries named in a note about mended bytes

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


def parse_feed(content, *, url="", content_type="", max_entries=None):
    """Parse a feed document (bytes) into a ``ParsedFeed``; raise ``FeedError`` when it is not a feed.

    Only the first ``max_entries`` entries (None: all) are read; ``ParsedFeed.not_read`` counts the rest."""
    if not isinstance(content, bytes | bytearray | memoryview):
        raise TypeError("parse_feed takes the bytes of a document, not a URL or a file name")
    content = bytes(content)
    if len(content) > MAX_FEED_BYTES:
        raise FeedError(f"the document is larger than {MAX_FEED_BYTES // (1024 * 1024)} MB")
    if not content.strip(b" \t\r\n\x00\xef\xbb\xbf\xfe\xff"):
        raise FeedError("the document is empty")
    if _looks_like_json(content, content_type):
        return jsonfeed.parse_json_feed(content, url=url, max_entries=max_entries)
    return _parse_xml_feed(content, url=url, content_type=content_type, max_entries=max_entries)


def _looks_like_json(content, content_type):
    start = content.lstrip(b" \t\r\n\xef\xbb\xbf")[:1]
    if start in (b"{", b"["):
        return True
    return "json" in content_type.lower() and start != b"<"


# --- XML -----------------------------------------------------------------------------------------------

_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# Inside a declaration: quoted strings and comments may hold ">" or "]" that do not end anything.
_DECLARATION_TOKEN = re.compile(rb"\"[^\"]*\"|'[^']*'|<!--.*?-->|[\[\]<>]", re.DOTALL)
_ENTRY_OPEN = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s/>]")
_ENTRY_CLOSE = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>")
_FEED_CLOSE = re.compile(rb"</(?:[\w.-]+:)?(?:rss|feed|RDF|channel)\s*>")
_HTML_PAGE = re.compile(rb"<html[\s>]|<!doctype\s+html", re.IGNORECASE)

# Our own nh3 pass is what we trust, and it resolves relative links itself: feedparser's slower
# sanitiser and URI resolver would only do the same work twice.
FEEDPARSER_OPTIONS = {"sanitize_html": False, "resolve_relative_uris": False}


def feedparser_input(content, content_type="", *, max_entries=None):
    """(bytes, response headers, a note on what was wrong or "") as ``parse_feed`` hands an XML feed to
    feedparser, with ``FEEDPARSER_OPTIONS``."""
    content, headers, decoded, _ = _prepare(content, content_type, max_entries)
    return content, headers, decoded.note


def _prepare(content, content_type, max_entries):
    """The bytes for feedparser, its headers, the ``Decoded`` record, and how many entries were cut."""
    decoded = decode_document(content, charset_of(content_type))
    content = _remove_declarations(decoded.content)
    content, cut = _keep_entries(content, max_entries)
    # The declared charset wins over the document's own declaration, which wins over UTF-8. The media
    # type itself is not passed on: feedparser would apply RFC 3023's "text/* means US-ASCII" rule, which
    # real servers ignore. No content-location either: feedparser would resolve RSS GUIDs against it.
    charset = decoded.charset
    headers = {"content-type": f"application/xml; charset={charset}" if charset else "application/xml"}
    return content, headers, decoded, cut


def _keep_entries(content, limit):
    """The document with only its first ``limit`` entries, and how many were cut out.

    Everything from the first entry past the limit to the end of the last entry goes, so the closing tags
    after the entries stay and the rest parses as before; feedparser never builds the entries cut.
    """
    if limit is None:
        return content, 0
    total, cut_at = 0, None
    for match in _ENTRY_OPEN.finditer(content):
        if total == limit:
            cut_at = match.start()
        total += 1
    if cut_at is None:
        return content, 0
    last_close = None
    for last_close in _ENTRY_CLOSE.finditer(content, cut_at):  # noqa: B007 - the last one is wanted
        pass
    tail = content[last_close.end() :] if last_close else b""
    return content[:cut_at] + tail, total - limit


def _parse_xml_feed(content, *, url, content_type, max_entries):
    content, headers, decoded, cut = _prepare(content, content_type, max_entries)
    if cap.looks_like_cap(content):
        try:
            parsed = cap.parse_cap(content, url=url, charset=decoded.charset or "")
        except cap.NotWellFormed as error:
            cap_problem = error.reason  # read as plain Atom below: its entries, without CAP fields
        else:
            parsed.note(decoded.note)
            parsed.limit_entries(max_entries, cut)
            return parsed
    else:
        cap_problem = ""
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
    )
    parsed.note(decoded.note)
    parsed.note(cap_problem)
    for note in _mending_notes(decoded, entries):
        parsed.note(note)
    _websub_links(parsed, feed.get("links") or [], url)
    if result.get("bozo"):
        problem = _describe(result.get("bozo_exception"))
        if not parsed.problem:
            parsed.note(problem)
        entries = _drop_unfinished(entries, content, parsed)
        if not entries and not parsed.skipped and not _FEED_CLOSE.search(content):
            # Cut off before its first entry: a broken feed, not an empty one.
            raise FeedError(f"not a feed: the document ends before the feed does ({problem})")
    if max_entries is not None and len(entries) > max_entries:  # entries the byte scan did not see
        cut += len(entries) - max_entries
        entries = entries[:max_entries]
    parsed.limit_entries(max_entries, cut)
    for raw in entries:
        entry_or_reason = _xml_entry(raw, base=base, feed_language=language, atom=version.startswith("atom"))
        if isinstance(entry_or_reason, Entry):
            parsed.entries.append(entry_or_reason)
        else:
            parsed.skipped.append(entry_or_reason)
    return parsed


def _mending_notes(decoded, entries):
    """What ``decode_document`` mended, naming the entries (their id or link) so an editor can look."""
    notes = []
    label = "UTF-8" if decoded.encoding == "utf-8" else decoded.encoding
    for indexes, what in (
        (decoded.replaced, "replaced with \ufffd"),
        (decoded.reread, "read as windows-1252"),
    ):
        indexes = [index for index in indexes if index < len(entries)]  # not those past the limit
        if indexes:
            names = [_raw_guid(entries[index]) for index in indexes[:SHOWN_ENTRIES]]
            more = f" and {len(indexes) - SHOWN_ENTRIES} more" if len(indexes) > SHOWN_ENTRIES else ""
            count = f"{len(indexes)} entr{'y' if len(indexes) == 1 else 'ies'}"
            notes.append(f"{count} had bytes that are not {label}, {what}: {', '.join(names)}{more}")
    if decoded.outside:
        notes.append(f"the feed's own title or description had bytes that are not {label}, replaced")
    return notes


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
    points = _geo_points(raw)
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
        official={"kind": "point", "points": points} if points else None,
    )


def _geo_points(raw):
    """The entry's GeoRSS point ("lat lon", or a GML Point) or W3C geo:lat/geo:long, as [[lat, lon]].

    feedparser reads both (``where`` as GeoJSON, longitude first). A point that is not a valid position
    is ignored: the entry is still news, it is just placed by its text.
    """
    where = dict.get(raw, "where")
    if isinstance(where, dict) and where.get("type") == "Point":
        coordinates = where.get("coordinates") or ()
        if len(coordinates) >= 2 and official.valid_point(coordinates[1], coordinates[0]):
            return [[float(coordinates[1]), float(coordinates[0])]]
    try:
        lat, lon = float(dict.get(raw, "geo_lat", "")), float(dict.get(raw, "geo_long", ""))
    except (TypeError, ValueError):
        return []
    return [[lat, lon]] if official.valid_point(lat, lon) else []


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
