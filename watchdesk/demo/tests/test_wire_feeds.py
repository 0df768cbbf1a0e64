"""The demo outlets' feeds: every format parses, with the right entries and fresh dates."""

import io
import json
from calendar import timegm
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import feedparser
import pytest

from watchdesk.demo.wire import FORMATS, UnknownOutlet, demo_clock, feed_etag, load_wire, render_feed
from watchdesk.wire.parsing import parse_feed

NOW = datetime(2026, 3, 10, 14, 7, 30, tzinfo=UTC)
WIRE = load_wire()
XML_VERSIONS = {
    "rss20": "rss20",
    "rss091": "rss091u",
    "rss092": "rss092",
    "rss10": "rss10",
    "atom10": "atom10",
    "atom03": "atom03",
}


def test_the_outlets_cover_every_format_and_the_stories_every_outlet():
    assert 13 <= len(WIRE.outlets) <= 15
    assert {outlet.format for outlet in WIRE.outlets.values()} == set(FORMATS)
    assert 75 <= len(WIRE.stories) <= 90
    for slug in WIRE.outlets:
        assert len(WIRE.stories_of(slug)) >= 4, slug


def test_at_least_eight_stories_are_told_by_several_outlets_in_their_own_words():
    multi = WIRE.multi_outlet_stories()
    assert len(multi) >= 8
    for key, outlets in multi.items():
        versions = [story for story in WIRE.stories if story.story == key]
        assert 2 <= len(outlets) <= 4, key
        assert len({story.title for story in versions}) == len(versions), key
        assert len({story.summary for story in versions}) == len(versions), key


def test_syndicated_copies_repeat_their_original_word_for_word():
    copies = [story for story in WIRE.stories if story.copy_of]
    assert len(copies) >= 2
    for copy in copies:
        outlet, story_id = copy.copy_of.split("/")
        original = next(s for s in WIRE.stories if s.outlet.slug == outlet and s.id == story_id)
        assert copy.outlet.slug != outlet
        assert (copy.title, copy.summary, copy.author) == (original.title, original.summary, original.author)


def test_a_surge_of_wildfire_stories_in_the_last_hour_and_the_chad_trap():
    # The demo clock lags the real time by up to one step; these stay inside the hour regardless.
    latest = [story for story in WIRE.stories if story.hours_ago <= 0.75]
    assert len(latest) >= 6
    assert all("fire" in (story.title + story.summary).lower() for story in latest)
    assert any("Chad Miller, the fire chief, said" in story.summary for story in WIRE.stories)


def test_every_link_points_at_an_example_domain():
    reserved = ("example.org", "example.com", "example.net")
    for story in WIRE.stories:
        host = urlsplit(story.link).hostname
        assert host.endswith(reserved), story.link
    for outlet in WIRE.outlets.values():
        assert urlsplit(outlet.site_url).hostname.endswith(reserved)


def entry_time(entry):
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime.fromtimestamp(timegm(parsed), tz=UTC)


@pytest.mark.parametrize("slug", [s for s, o in WIRE.outlets.items() if o.format in XML_VERSIONS])
def test_xml_feeds_parse_with_feedparser_with_all_entries_and_dates_relative_to_now(slug):
    outlet = WIRE.outlets[slug]
    content, content_type = render_feed(slug, NOW)
    parsed = feedparser.parse(io.BytesIO(content), response_headers={"content-type": content_type})

    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == XML_VERSIONS[outlet.format]
    assert parsed.feed.title == outlet.name
    stories = WIRE.stories_of(slug)
    assert [entry.title for entry in parsed.entries] == [story.title for story in stories]
    clock = demo_clock(NOW)
    for entry, story in zip(parsed.entries, stories, strict=True):
        assert entry_time(entry) == clock - timedelta(hours=story.hours_ago)
        assert NOW - timedelta(days=7) < entry_time(entry) <= NOW


@pytest.mark.parametrize("slug", list(WIRE.outlets))
def test_every_feed_parses_with_the_wire_parser(slug):
    outlet = WIRE.outlets[slug]
    content, content_type = render_feed(slug, NOW)
    parsed = parse_feed(content, url=outlet.feed_url, content_type=content_type)

    assert parsed.format.startswith(outlet.format[:4])
    assert not parsed.skipped
    stories = WIRE.stories_of(slug)
    assert len(parsed.entries) == len(stories)
    clock = demo_clock(NOW)
    for entry, story in zip(parsed.entries, stories, strict=True):
        assert entry.title == story.title
        assert entry.published_at == clock - timedelta(hours=story.hours_ago)
        assert story.summary[:40] in entry.text
        assert entry.guid
        if outlet.format not in {"rss091", "rss092"}:
            assert story.author == entry.author


def test_json_feeds_follow_their_version():
    for slug, outlet in WIRE.outlets.items():
        if not outlet.format.startswith("json"):
            continue
        content, content_type = render_feed(slug, NOW)
        feed = json.loads(content)
        assert content_type == "application/feed+json; charset=utf-8"
        assert feed["version"] == {"json10": "https://jsonfeed.org/version/1"}.get(
            outlet.format, "https://jsonfeed.org/version/1.1"
        )
        assert len(feed["items"]) == len(WIRE.stories_of(slug))
        author_key = "author" if outlet.format == "json10" else "authors"
        assert all(author_key in item for item in feed["items"])


def test_text_is_escaped_and_a_latin1_feed_keeps_its_accents():
    content, content_type = render_feed("la-frontera-alerta", NOW)
    assert content_type == "application/rss+xml; charset=iso-8859-1"
    assert content.startswith(b'<?xml version="1.0" encoding="iso-8859-1"?>')
    parsed = parse_feed(content, content_type=content_type)
    assert "Quiñones" in parsed.entries[0].author or any("Quiñones" in e.author for e in parsed.entries)
    assert any("Juárez" in e.title for e in parsed.entries)

    content, _ = render_feed("harris-county-scanner", NOW)
    # HTML inside XML is escaped text, never raw markup: the scanner's share script is data.
    assert b"<script" not in content and b"&lt;script" in content


def test_the_feed_stays_the_same_within_a_clock_step_and_moves_after():
    first, _ = render_feed("sierra-fire-wire", NOW)
    same, _ = render_feed("sierra-fire-wire", NOW + timedelta(minutes=5))
    later, _ = render_feed("sierra-fire-wire", NOW + timedelta(minutes=20))
    assert feed_etag(first) == feed_etag(same)
    assert feed_etag(first) != feed_etag(later)


def test_an_unknown_outlet_is_refused_with_its_name():
    with pytest.raises(UnknownOutlet, match="no-such-outlet"):
        render_feed("no-such-outlet", NOW)
