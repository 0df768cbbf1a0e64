"""Property-based: random bytes and random feeds never crash parsing or ingestion.

The only error allowed is ``FeedError``; whatever is stored has an aware date, a canonical http(s) link,
a title, sanitised HTML and no characters a database refuses, and the counts add up to the entries seen.
"""

import json
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from watchdesk.wire import enrich
from watchdesk.wire.canonical import canonical_url
from watchdesk.wire.entries import FeedError
from watchdesk.wire.ingest import ingest_feed
from watchdesk.wire.models import Item
from watchdesk.wire.parsing import parse_feed
from watchdesk.wire.tests.test_sanitize import HOSTILE, assert_safe

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NOW = datetime(2025, 1, 16, 12, 0, tzinfo=UTC)
# A hundred generated feeds per test, each parsed and stored: seconds apiece.
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def no_enrichment(monkeypatch):
    """Storing is what is fuzzed here; enrichment has its own tests."""
    monkeypatch.setattr(enrich, "enrich", lambda items, *, now=None: None)


awkward_text = st.lists(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(
            ["\x00", "\x1b", "&", "<", ">", '"', "]]>", "&amp;", "&#0;", "\ud800", "\u2028", " "]
        ),
    ),
    max_size=30,
).map("".join)
links = st.one_of(
    st.sampled_from(
        [
            "https://news.example.org/story/1",
            "HTTPS://News.Example.org:443/story/2?utm_source=rss&id=4#top",
            "/relative/story",
            "story-3",
            "//cdn.example.com/story",
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "mailto:desk@example.org",
            "http://[::1]:99999/",
            "https://news.example.org/" + "long/" * 500,
            "",
        ]
    ),
    awkward_text,
)
moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9998, 12, 30)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
dates = st.one_of(
    st.none(),
    st.builds(
        lambda moment, zone: moment.astimezone(zone).isoformat(),
        moments.filter(lambda m: m.year > 1),
        offsets,
    ),
    st.builds(lambda moment: format_datetime(moment), moments.filter(lambda m: m.year > 1900)),
    st.sampled_from(
        ["not a date", "2099-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "0000-00-00", "Mon, 32 Foo 2025"]
    ),
    awkward_text,
)
html = st.lists(st.one_of(awkward_text, st.sampled_from(HOSTILE)), max_size=6).map("".join)
entries = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.one_of(st.none(), st.sampled_from(["same-id", "urn:x:1"]), awkward_text),
            "title": st.one_of(st.none(), awkward_text, html),
            "link": st.one_of(st.none(), links),
            "date": dates,
            "summary": st.one_of(st.none(), html),
            "content": st.one_of(st.none(), html),
            "author": st.one_of(st.none(), awkward_text),
        }
    ),
    max_size=8,
)


def _xml_text(value, raw):
    """Escaped as XML should be, or pasted raw (often making the document not well-formed)."""
    return value if raw else escape(value)


def build_rss(items, raw):
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Fuzz</title>',
        "<link>https://news.example.org/</link>",
    ]
    for item in items:
        parts.append("<item>")
        for tag, key in (
            ("title", "title"),
            ("link", "link"),
            ("guid", "id"),
            ("pubDate", "date"),
            ("author", "author"),
            ("description", "summary"),
        ):
            if item[key] is not None:
                parts.append(f"<{tag}>{_xml_text(item[key], raw)}</{tag}>")
        if item["content"] is not None:
            parts.append(
                f"<content:encoded xmlns:content='http://purl.org/rss/1.0/modules/content/'>"
                f"{_xml_text(item['content'], raw)}</content:encoded>"
            )
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts)


def build_atom(items, raw):
    parts = [
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://news.example.org/a/"><title>Fuzz</title>'
    ]
    for item in items:
        parts.append("<entry>")
        if item["id"] is not None:
            parts.append(f"<id>{_xml_text(item['id'], raw)}</id>")
        if item["title"] is not None:
            parts.append(f'<title type="html">{_xml_text(item["title"], raw)}</title>')
        if item["link"] is not None:
            parts.append(f'<link href="{escape(item["link"], {chr(34): "&quot;"})}"/>')
        if item["date"] is not None:
            parts.append(f"<updated>{_xml_text(item['date'], raw)}</updated>")
        if item["author"] is not None:
            parts.append(f"<author><name>{_xml_text(item['author'], raw)}</name></author>")
        if item["summary"] is not None:
            parts.append(f'<summary type="html">{_xml_text(item["summary"], raw)}</summary>')
        if item["content"] is not None:
            parts.append(f'<content type="html">{_xml_text(item["content"], raw)}</content>')
        parts.append("</entry>")
    parts.append("</feed>")
    return "".join(parts)


def build_json(items, raw):
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "Fuzz", "items": []}
    for item in items:
        document["items"].append(
            {
                key: value
                for key, value in {
                    "id": item["id"],
                    "title": item["title"],
                    "url": item["link"],
                    "date_published": item["date"],
                    "authors": [{"name": item["author"]}] if item["author"] is not None else None,
                    "summary": item["summary"],
                    "content_html": item["content"],
                }.items()
                if value is not None or raw
            }
        )
    return json.dumps(document)


def assert_stored_items_are_sound(source):
    for item in Item.objects.filter(source=source):
        assert item.published_at.tzinfo is not None
        assert item.url.startswith(("http://", "https://")) and canonical_url(item.url) == item.url
        assert item.title.strip() and len(item.title) <= 500
        assert_safe(item.summary)
        assert_safe(item.content)
        for value in (item.guid, item.title, item.author, item.summary, item.content, item.text):
            assert "\x00" not in value


def ingest_and_check(source, content, content_type=""):
    try:
        parsed = parse_feed(content, url=source.url, content_type=content_type)
    except FeedError:
        event("not a feed")
        with pytest.raises(FeedError):
            ingest_feed(source, content, content_type=content_type, now=NOW)
        return
    summary = ingest_feed(source, content, content_type=content_type, now=NOW)
    event("stored items" if summary.created else "stored nothing")
    offered = len(parsed.entries) + len(parsed.skipped)
    assert summary.created + summary.updated + summary.unchanged + summary.skipped == offered
    assert_stored_items_are_sound(source)


@FUZZ
@given(content=st.binary(max_size=2000), content_type=st.sampled_from(["", "text/xml", "application/json"]))
def test_random_bytes_never_crash(source, content, content_type):
    ingest_and_check(source(), content, content_type)


@FUZZ
@given(
    content=st.one_of(
        st.binary(max_size=200).map(
            lambda noise: b'<?xml version="1.0"?><rss version="2.0"><channel>' + noise
        ),
        st.binary(max_size=200).map(
            lambda noise: b'{"version": "https://jsonfeed.org/version/1", "items": [' + noise
        ),
        st.binary(max_size=200).map(
            lambda noise: b'<feed xmlns="http://www.w3.org/2005/Atom"><entry>' + noise
        ),
    )
)
def test_feed_shaped_noise_never_crashes(source, content):
    ingest_and_check(source(), content)


@FUZZ
@given(
    build=st.sampled_from([build_rss, build_atom, build_json]),
    items=entries,
    raw=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-16", "windows-1252"]),
)
def test_random_feeds_never_crash_and_store_only_sound_items(source, build, items, raw, encoding):
    content = build(items, raw).encode(encoding, errors="replace" if encoding != "utf-8" else "surrogatepass")
    ingest_and_check(source(), content)
