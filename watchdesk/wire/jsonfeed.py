"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org), read into the same entries as RSS and Atom.

The installed feedparser (6.0) reads only XML, so JSON Feed is read here with the json module and
checked field by field: a field of the wrong type counts as missing, an item that is not an object is
skipped with a reason, and a document that is not a JSON Feed at all raises ``FeedError``.
"""

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html import escape

from watchdesk.core.sanitize import storable
from watchdesk.wire import geojson
from watchdesk.wire.canonical import canonical_url
from watchdesk.wire.entries import (
    MAX_TITLE,
    Entry,
    FeedError,
    ParsedFeed,
    language_tag,
    link_as_given,
    make_entry,
    plain_text,
)

VERSIONS = {"https://jsonfeed.org/version/1": "json10", "https://jsonfeed.org/version/1.1": "json11"}


def parse_json_feed(content, *, url="", max_entries=None):
    try:
        document = json.loads(content)
    except RecursionError:
        raise FeedError("not a feed: the JSON is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise FeedError(f"not a feed: the JSON is not valid ({_short(error)})") from None
    if not isinstance(document, dict):
        raise FeedError("not a JSON Feed: the document is not a JSON object")
    if geojson.is_feature_collection(document):
        return geojson.parse_feature_collection(document, url=url, max_entries=max_entries)
    version = _string(document.get("version")).strip().rstrip("/")
    if not version.startswith(("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")):
        raise FeedError("not a JSON Feed: no jsonfeed.org version")
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedError("not a JSON Feed: items is not a list")

    base = canonical_url(_string(document.get("home_page_url")), base=url) or canonical_url(url)
    language = language_tag(document.get("language"))
    parsed = ParsedFeed(
        title=plain_text(storable(_string(document.get("title"))), MAX_TITLE),
        link=base,
        language=language,
        format=VERSIONS.get(version.replace("http://", "https://"), "json"),
    )
    _websub_links(parsed, document, url)
    feed_author = _author(document)
    if max_entries is not None and len(items) > max_entries:
        parsed.limit_entries(max_entries, len(items) - max_entries)
        items = items[:max_entries]
    for item in items:
        if not isinstance(item, dict):
            parsed.skipped.append(("", "the item is not a JSON object"))
            continue
        entry_or_reason = _entry(item, base=base, feed_language=language, feed_author=feed_author)
        if isinstance(entry_or_reason, Entry):
            parsed.entries.append(entry_or_reason)
        else:
            parsed.skipped.append(entry_or_reason)
    return parsed


def _websub_links(parsed, document, url):
    """JSON Feed names its WebSub hubs in ``hubs`` and itself in ``feed_url``."""
    hubs = document.get("hubs")
    for hub in hubs if isinstance(hubs, list) else []:
        if isinstance(hub, dict) and _string(hub.get("type")).lower() == "websub":
            href = link_as_given(hub.get("url"), url)
            if href and href not in parsed.hubs:
                parsed.hubs.append(href)
    parsed.self_url = link_as_given(document.get("feed_url"), url)


def _entry(item, *, base, feed_language, feed_author):
    entry_id = item.get("id")
    if isinstance(entry_id, bool) or not isinstance(entry_id, str | int | float):
        entry_id = ""  # the spec says string; numbers are common enough to accept
    summary_text = _string(item.get("summary"))
    content_html = _string(item.get("content_html")) or _text_to_html(_string(item.get("content_text")))
    return make_entry(
        entry_id=str(entry_id),
        link=_string(item.get("url")) or _string(item.get("external_url")),
        title=storable(_string(item.get("title"))),
        author=_author(item) or feed_author,
        summary_html=_text_to_html(summary_text),  # JSON Feed summaries are plain text
        content_html=storable(content_html),
        published_at=_date(item.get("date_published")) or _date(item.get("date_modified")),
        language=language_tag(item.get("language")) or feed_language,
        base=base,
        html_base=base,
    )


def _author(container):
    """JSON Feed 1.1 ``authors`` (a list), else 1.0 ``author`` (an object): every name, in order."""
    authors = container.get("authors")
    candidates = authors if isinstance(authors, list) else [container.get("author")]
    return [
        storable(author["name"])
        for author in candidates
        if isinstance(author, dict) and _string(author.get("name")).strip()
    ]


def _date(value):
    """RFC 3339 as the spec says, RFC 822 as some publishers write; aware UTC, or None."""
    value = _string(value).strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _text_to_html(text):
    text = storable(text).strip()
    if not text:
        return ""
    paragraphs = [part.strip() for part in text.replace("\r\n", "\n").split("\n\n") if part.strip()]
    return "".join("<p>" + escape(part).replace("\n", "<br>") + "</p>" for part in paragraphs)


def _string(value):
    return value if isinstance(value, str) else ""


def _short(error):
    return str(error)[:120]
