"""Feeds in every format, in wrong encodings, cut off, huge or hostile, read from saved files."""

import codecs
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watchdesk.core.sanitize import LINK_REL, html_to_text
from watchdesk.wire import parsing
from watchdesk.wire.entries import FeedError
from watchdesk.wire.parsing import parse_feed
from watchdesk.wire.tests.test_sanitize import assert_safe

FEEDS = Path(__file__).parent / "feeds"


def read(name):
    return (FEEDS / name).read_bytes()


def parse(name, **kwargs):
    return parse_feed(read(name), **kwargs)


@pytest.mark.parametrize(
    ("name", "feed_format", "count", "title", "url"),
    [
        ("rss090.xml", "rss090", 2, "Structure fire reported on Elm Street",
         "https://dispatch.example.org/log/2025-01-10-elm-street"),
        ("rss091.xml", "rss091", 2, "Boil water advisory for Lakeside & Northport",
         "https://oem.example.org/advisories/boil-water-2025-01"),
        ("rss092.xml", "rss092", 2, "Two-alarm fire damages warehouse on Dock Street",
         "https://fire.example.com/incidents/2025-0112-dock-street"),
        ("rss20.xml", "rss20", 3, "Evacuation orders lifted as crews contain Ridge Fire",
         "https://news.example.org/public-safety/2025/01/14/ridge-fire-evacuations-lifted"),
        ("rss10.xml", "rss10", 2, "Measles cluster confirmed in Marin County schools",
         "https://health.example.org/outbreaks/2025/measles-cluster"),
        ("atom03.xml", "atom03", 2, "Search suspended for missing fishing vessel",
         "https://coast.example.com/bulletins/2025/vessel-search"),
        ("atom10.xml", "atom10", 2, "Officers injured during arrest at Central Station",
         "https://metro.example.com/news/2025/01/central-station-arrest"),
        ("json10.json", "json10", 2, "Canyon Fire grows to 3,400 acres",
         "https://wildfire.example.org/incidents/canyon-fire"),
        ("json11.json", "json11", 2, "Tropical Storm Ana expected to strengthen",
         "https://hurricane.example.com/2025/tropical-storm-ana"),
    ],
)  # fmt: skip
def test_every_format_is_read(name, feed_format, count, title, url):
    feed = parse(name)
    assert feed.format == feed_format
    assert len(feed.entries) == count
    assert feed.entries[0].title == title
    assert feed.entries[0].url == url
    for entry in feed.entries:
        assert entry.guid and entry.url.startswith("https://")
        assert entry.published_at is None or entry.published_at.tzinfo == UTC
        assert_safe(entry.summary)
        assert_safe(entry.content)


def test_rss20_entry_fields():
    feed = parse("rss20.xml", url="https://news.example.org/public-safety/feed.xml")
    assert feed.title == "Sierra Valley Courier \u2014 Public Safety"
    assert feed.link == "https://news.example.org/public-safety/"
    assert feed.language == "en-us"
    assert feed.problem == ""
    fire, tanker, boat = feed.entries
    assert fire.guid == "courier-2025-0114-ridge-fire"
    assert fire.author == "Maria Alvarez"  # dc:creator
    assert fire.published_at == datetime(2025, 1, 15, 1, 5, tzinfo=UTC)  # -0800 made UTC
    assert fire.summary.startswith("<p>Residents of Pine Hollow")
    assert "The Sierra County Sheriff's Office lifted" in fire.content
    assert (
        f'<a href="https://news.example.org/public-safety/ridge-fire-map" rel="{LINK_REL}">' in fire.content
    )
    assert fire.text.startswith("Residents of Pine Hollow may return home after firefighters reached 85%")
    assert "Sheriff's Office" in fire.text  # text comes from the fuller content
    assert tanker.guid == tanker.url  # a permalink GUID
    assert tanker.author == "Tom Becker"  # "email (Name)" keeps the name
    assert boat.summary == "<p>The swift-water rescue team will station the boat at Loyalton.</p>"


def test_atom10_resolves_xml_base_and_reads_text_and_html_constructs():
    arrest, closures = parse("atom10.xml").entries
    assert arrest.url == "https://metro.example.com/news/2025/01/central-station-arrest"  # fbclid dropped
    assert arrest.title == "Officers injured during arrest at Central Station"  # type="html" title as text
    assert arrest.published_at == datetime(2025, 1, 15, 8, 45, tzinfo=UTC)  # published beats updated
    assert arrest.language == "en-gb"
    assert "https://metro.example.com/news/appeals/central-station" in arrest.content
    assert closures.published_at == datetime(2025, 1, 14, 16, 0, tzinfo=UTC)  # updated when no published
    # A type="text" summary is text: "5 < 6" is not the start of a tag.
    assert (
        closures.summary
        == "Expect delays near the river &amp; the park from 6 a.m. until 2 p.m. Roads where 5 &lt; 6."
    )
    assert closures.text.endswith("Roads where 5 < 6.")


def test_rss091_with_a_netscape_doctype_and_html_entities():
    feed = parse("rss091.xml")
    assert feed.entries[1].text == "Three caf\u00e9s and the public library will stay open overnight."
    assert feed.entries[0].text.endswith("boil water before drinking it.")


def test_rss10_reads_dublin_core():
    measles = parse("rss10.xml").entries[0]
    assert measles.author == "Office of Communicable Disease"
    assert measles.published_at == datetime(2025, 1, 12, 16, 0, tzinfo=UTC)


def test_json_feed_10():
    fire, burn = parse("json10.json").entries
    assert fire.guid == "2025-01-15-canyon-fire"
    assert fire.author == "Northern Region Fire Information"  # the feed's author
    assert fire.summary == "<p>Red flag warnings remain in effect.</p>"
    assert "https://wildfire.example.org/incidents/canyon-fire/map" in fire.content
    assert fire.published_at == datetime(2025, 1, 15, 14, 30, tzinfo=UTC)
    assert burn.author == "Jamie Cole"
    assert burn.content == "<p>Smoke may be visible from Highway 20.</p><p>The burn covers 200 acres.</p>"


def test_json_feed_11():
    feed = parse("json11.json")
    storm, shelters = feed.entries
    assert storm.author == "Lena Ortiz and Sam Park"  # every author in "authors", not the first
    assert storm.language == "es" and shelters.language == "en-us"
    assert storm.published_at == datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    assert shelters.published_at == datetime(2025, 1, 15, 9, 0, tzinfo=UTC)  # date_modified
    assert shelters.title == "Shelters open at Mobile County schools from noon Thursday."  # made from text
    assert feed.skipped == [
        ("", "the item is not a JSON object"),
        ("no-link", "no usable link (only http and https): none"),
    ]


WANTED = "Caf\u00e9 fire: \u201cwe lost everything\u201d"


def test_windows_1252_declared_as_utf8():
    feed = parse("cp1252_declared_utf8.xml")
    assert feed.entries[0].title == WANTED
    assert feed.entries[0].text == "Damage estimated at \u20ac2 million \u2014 owner"
    assert "windows-1252" in feed.problem


def test_utf8_declared_as_windows_1252():
    feed = parse("utf8_declared_cp1252.xml")
    assert feed.entries[0].title == WANTED
    assert feed.title == "Courrier de la Vall\u00e9e"
    assert feed.problem == "the document says it is windows-1252 but it is UTF-8"


def test_utf8_with_a_wrong_http_charset():
    feed = parse("rss20.xml", content_type="application/rss+xml; charset=ISO-8859-1")
    assert feed.title == "Sierra Valley Courier \u2014 Public Safety"


def test_iso_8859_1_declared_correctly():
    feed = parse("latin1.xml", content_type="text/xml")
    assert feed.entries[0].title == "Incendie \u00e0 Montr\u00e9al: pompiers bless\u00e9s"
    assert feed.problem == ""


def test_text_xml_without_charset_is_not_read_as_ascii():
    feed = parse("rss20.xml", content_type="text/xml")
    assert feed.title == "Sierra Valley Courier \u2014 Public Safety" and feed.problem == ""


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_wide_encodings(encoding):
    text = read("latin1.xml").decode("latin-1").replace('encoding="ISO-8859-1"', f'encoding="{encoding}"')
    content = text.encode(encoding)
    if encoding == "utf-16-be":
        content = codecs.BOM_UTF16_BE + content
    feed = parse_feed(content)
    assert feed.entries[0].title == "Incendie \u00e0 Montr\u00e9al: pompiers bless\u00e9s"


def test_a_feed_cut_off_mid_entry_keeps_its_finished_entries():
    feed = parse("truncated.xml")
    assert [entry.guid for entry in feed.entries] == ["mra-mission-301", "mra-mission-302"]
    assert feed.skipped == [("mra-mission-303", "the feed was cut off inside this entry")]
    assert feed.problem.startswith("not well-formed XML")


def test_a_feed_cut_off_between_entries_loses_nothing():
    content = read("rss20.xml")
    cut = content[: content.rindex(b"</item>") + len(b"</item>")]
    feed = parse_feed(cut)
    assert len(feed.entries) == 3 and feed.skipped == []


def test_a_huge_feed():
    items = "".join(
        f"<item><title>Crews respond to call {n}</title>"
        f"<link>https://news.example.org/calls/{n}?utm_source=rss</link>"
        f"<guid>call-{n}</guid><pubDate>Wed, 15 Jan 2025 08:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;Call {n} &lt;a href='/calls/{n}/map'&gt;map&lt;/a&gt;&lt;/p&gt;</description>"
        "</item>"
        for n in range(2000)
    )
    content = f'<rss version="2.0"><channel><title>Big</title><link>https://news.example.org/</link>{items}</channel></rss>'
    feed = parse_feed(content.encode())
    assert len(feed.entries) == 2000
    assert feed.entries[-1].url == "https://news.example.org/calls/1999"
    assert f'href="https://news.example.org/calls/1999/map" rel="{LINK_REL}"' in feed.entries[-1].summary


def test_duplicate_guids_are_left_for_the_store_to_decide():
    feed = parse("duplicate_guids.xml")
    assert [entry.guid for entry in feed.entries] == ["incident-4410", "incident-4410", "incident-4411"]


def test_missing_and_unparseable_dates_are_none():
    feed = parse("missing_dates.xml")
    assert [entry.published_at for entry in feed.entries] == [None, None]
    assert feed.entries[0].guid == "https://ridgeline-vfc.example.org/news/swift-water-training"


def test_future_dates_are_passed_on_as_given():
    assert parse("future_dates.xml").entries[0].published_at == datetime(2099, 6, 1, 12, 0, tzinfo=UTC)


def test_hostile_html():
    feed = parse("hostile_html.xml")
    assert feed.title == "Hostile Outlet"
    (entry,) = feed.entries
    assert entry.title == "Chemical plant fire forces shelter in place"
    for html in (entry.summary, entry.content):
        assert_safe(html)
        lowered = html.lower()
        for needle in (
            "script",
            "javascript",
            "vbscript",
            "data:",
            "onerror",
            "onclick",
            "style=",
            "<style",
            "iframe",
            "svg",
            "evil.example.net",
            "tracker.example.net",
            "<img",
            "<form",
            "<input",
            'opener"',
        ):
            assert needle not in lowered, needle
    summary_text = html_to_text(entry.summary)
    assert "Residents within a mile must shelter in place." in summary_text
    assert "SVG payload text" not in summary_text and "alert" not in summary_text
    assert entry.text == "The plant's operator said the fire started in a solvent tank. vb styled"
    assert f'<a href="https://hostile.example.com/safe" rel="{LINK_REL}">safe link</a>' in entry.summary
    assert f'<a href="mailto:desk@hostile.example.com" rel="{LINK_REL}">mail us</a>' in entry.summary
    assert [reason for _, reason in feed.skipped] == [
        "no usable link (only http and https): javascript:alert('link')",
        "no usable link (only http and https): data:text/html,<script>alert(1)</script>",
        "no title and no link",
    ]


def test_relative_links_resolve_against_the_feed_link():
    radio, response = parse(
        "relative_links.xml", url="https://gazette.example.org/feeds/emergency.xml"
    ).entries
    assert radio.url == "https://gazette.example.org/emergency/2025/radio-upgrade"
    assert response.url == "https://gazette.example.org/emergency/2025/response-times"
    for href in (
        "https://gazette.example.org/emergency/radio-faq",
        "https://gazette.example.org/emergency/contact",
        "https://cdn.example.org/brochure.pdf",
    ):
        assert f'href="{href}"' in radio.summary


def test_relative_links_fall_back_to_the_feed_url():
    content = (
        b'<rss version="2.0"><channel><item><title>a</title><link>/story/1</link></item></channel></rss>'
    )
    assert parse_feed(content, url="https://news.example.org/feed.xml").entries[0].url == (
        "https://news.example.org/story/1"
    )
    assert parse_feed(content).skipped == [("/story/1", "no usable link (only http and https): /story/1")]


def test_tracking_parameters_leave_the_link():
    levee, insurance = parse("tracking_params.xml").entries
    assert levee.url == "https://herald.example.com/news/levee-inspection?id=77&page=2"
    assert insurance.url == "http://herald.example.com/news/flood-insurance?a=1&b=2"


def test_titles_are_plain_and_short():
    title = "<b>Big</b> " + "word " * 200
    content = f'<rss version="2.0"><channel><item><title>{title.replace("<", "&lt;")}</title><link>https://e.example.org/</link></item></channel></rss>'
    entry = parse_feed(content.encode()).entries[0]
    assert len(entry.title) <= 500 and entry.title.startswith("Big word") and entry.title.endswith("\u2026")


def test_long_guids_are_hashed():
    content = f'<rss version="2.0"><channel><item><title>t</title><guid>{"x" * 1500}</guid><link>https://e.example.org/</link></item></channel></rss>'
    guid = parse_feed(content.encode()).entries[0].guid
    assert guid.startswith("sha256:") and len(guid) == 71


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the document is empty"),
        (b"  \r\n\t ", "the document is empty"),
        (read("not_a_feed.html"), "this is an HTML page, not a feed"),
        (b"<p>Just a paragraph</p>", "not a feed: no RSS, Atom or JSON Feed document found"),
        (read("sitemap.xml"), "not a feed: no RSS, Atom or JSON Feed document found"),
        (b"\x00\x01\x02garbage\xff\xfe", "not a feed: "),
        (b"%PDF-1.7 not a feed", "not a feed"),
        (b'{"title": "no version"}', "not a JSON Feed: no jsonfeed.org version"),
        (b'["https://jsonfeed.org/version/1.1"]', "not a JSON Feed: the document is not a JSON object"),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}',
            "not a JSON Feed: items is not a list",
        ),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "not a feed: the JSON is not valid"),
        (b"[" * 100_000, "not a feed: the JSON is nested too deeply"),
    ],
)
def test_documents_that_are_not_feeds_raise_feed_error(content, reason):
    with pytest.raises(FeedError) as error:
        parse_feed(content)
    assert str(error.value).startswith(reason)


def test_an_empty_but_valid_feed_is_a_feed():
    feed = parse_feed(b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>')
    assert feed.format == "rss20" and feed.entries == [] and feed.title == "Quiet"


def test_a_document_over_the_size_limit(monkeypatch):
    monkeypatch.setattr(parsing, "MAX_FEED_BYTES", 1024 * 1024)
    with pytest.raises(FeedError, match="larger than 1 MB"):
        parse_feed(b" " * (1024 * 1024 + 1))


def test_strings_are_refused_so_feedparser_never_opens_a_path_or_url():
    with pytest.raises(TypeError):
        parse_feed(str(FEEDS / "rss20.xml"))


def test_bytes_that_look_like_a_path_or_url_are_not_opened(web_server):
    with pytest.raises(FeedError):
        parse_feed(str(FEEDS / "rss20.xml").encode())
    with pytest.raises(FeedError):
        parse_feed(web_server.url("/feed.xml").encode())
    assert web_server.hits() == []


def test_a_feed_cut_off_before_its_first_entry_is_an_error():
    content = read("rss20.xml")
    with pytest.raises(FeedError, match="the document ends before the feed does"):
        parse_feed(content[: content.index(b"<item>") - 10])


def test_a_complete_feed_with_unknown_entities_and_no_entries_is_empty_not_broken():
    feed = parse_feed(b'<rss version="0.91"><channel><title>Caf&eacute; &foo;</title></channel></rss>')
    assert feed.entries == [] and feed.title == "Caf\u00e9 &foo;"
