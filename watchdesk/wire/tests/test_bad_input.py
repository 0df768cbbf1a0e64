"""Bad input: feeds with more entries than we read per fetch, and feeds with bytes their encoding cannot
decode. Nothing is silent: what was cut or mended shows in the source's health and in ``ingest --json``."""

import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from watchdesk.testing.webserver import Reply
from watchdesk.wire import parsing
from watchdesk.wire.ingest import ingest_feed
from watchdesk.wire.models import FetchLog, Item, SkippedEntry
from watchdesk.wire.parsing import parse_feed
from watchdesk.wire.polling import poll_source

FEEDS = Path(__file__).parent / "feeds"
REPLACED = "replaced with \ufffd"
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def read(name):
    return (FEEDS / name).read_bytes()


def rss(count):
    items = "".join(
        f"<item><guid>call-{n}</guid><title>Call {n}</title><link>https://calls.example.org/{n}</link></item>\n"
        for n in range(count)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Calls</title>\n{items}</channel></rss>'


def atom(count):
    entries = "".join(
        f'<entry><id>urn:call:{n}</id><title>Call {n}</title><link href="https://calls.example.org/{n}"/>'
        "<updated>2025-01-15T08:00:00Z</updated></entry>\n"
        for n in range(count)
    )
    return (
        f'<feed xmlns="http://www.w3.org/2005/Atom"><title>Calls</title><id>urn:calls</id>\n{entries}</feed>'
    )


def rdf(count):
    items = "".join(
        f'<item rdf:about="https://calls.example.org/{n}"><title>Call {n}</title>'
        f"<link>https://calls.example.org/{n}</link></item>\n"
        for n in range(count)
    )
    return (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
        '<channel rdf:about="https://calls.example.org/"><title>Calls</title><link>https://calls.example.org/</link>'
        "<items><rdf:Seq/></items></channel>\n"
        f"{items}</rdf:RDF>"
    )


def json_feed(count):
    items = [
        {"id": f"call-{n}", "title": f"Call {n}", "url": f"https://calls.example.org/{n}"}
        for n in range(count)
    ]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Calls", "items": items})


# The limit of entries per fetch ---------------------------------------------------------------------


@pytest.mark.parametrize("document", [rss, atom, rdf, json_feed])
def test_only_the_first_entries_up_to_the_limit_are_read(document):
    feed = parse_feed(document(12).encode(), max_entries=5)

    assert [entry.title for entry in feed.entries] == [f"Call {n}" for n in range(5)]
    assert feed.not_read == 7
    assert feed.problems == ["12 entries in the feed: 7 past the first 5 were not read"]
    assert feed.skipped == []


def test_the_cut_document_is_still_a_well_formed_feed():
    content, _headers, note = parsing.feedparser_input(rss(12).encode(), max_entries=5)

    assert content.count(b"<item>") == 5 and content.endswith(b"</channel></rss>")
    assert note == ""
    assert parse_feed(rss(12).encode(), max_entries=12).not_read == 0  # at the limit, nothing is cut


def test_entries_with_a_namespace_prefix_are_cut_too():
    document = atom(6).replace("<entry>", "<a:entry>").replace("</entry>", "</a:entry>")
    document = document.replace(
        '<feed xmlns="http://www.w3.org/2005/Atom">', '<a:feed xmlns:a="http://www.w3.org/2005/Atom">'
    )
    document = document.replace("<title>Calls</title>", "<a:title>Calls</a:title>").replace(
        "</feed>", "</a:feed>"
    )

    content, _headers, _note = parsing.feedparser_input(document.encode(), max_entries=2)

    assert content.count(b"<a:entry>") == 2 and content.endswith(b"</a:feed>")
    assert parse_feed(document.encode(), max_entries=2).not_read == 4


@pytest.mark.django_db
def test_entries_past_the_limit_count_as_skipped_in_the_sources_health(source, settings):
    settings.WIRE_MAX_ENTRIES = 4
    calls = source()

    summary = ingest_feed(calls, rss(10).encode(), now=NOW)

    assert (summary.created, summary.skipped) == (4, 6)
    assert Item.objects.filter(source=calls).count() == 4
    skipped = SkippedEntry.objects.get(source=calls)
    assert skipped.reason == "10 entries in the feed: 6 past the first 4 were not read"
    assert summary.problems == [skipped.reason]


@pytest.mark.django_db
def test_a_source_can_read_more_or_fewer_than_the_site_wide_limit(source, settings):
    settings.WIRE_MAX_ENTRIES = 4
    generous, strict = source(max_entries=10), source(max_entries=2)

    assert ingest_feed(generous, rss(10).encode(), now=NOW).created == 10
    assert ingest_feed(strict, rss(10).encode(), now=NOW).created == 2


@pytest.mark.django_db
def test_polling_a_flooding_feed_records_the_skips_and_the_reason(source, web_server, settings):
    settings.WIRE_MAX_ENTRIES = 3
    web_server.routes["/calls.xml"] = Reply(200, {"Content-Type": "application/rss+xml"}, rss(8).encode())
    calls = source(url=web_server.url("/calls.xml"))

    poll_source(calls)

    calls.refresh_from_db()
    log = FetchLog.objects.get(source=calls)
    assert (log.status, log.created, log.skipped) == ("ok", 3, 5)
    assert log.detail == "8 entries in the feed: 5 past the first 3 were not read"
    assert (calls.last_status, calls.consecutive_errors) == ("ok", 0)
    assert calls.last_error == log.detail


# Bytes the encoding cannot decode ---------------------------------------------------------------------


def test_a_utf8_feed_with_broken_bytes_is_mended_entry_by_entry():
    feed = parse_feed(read("utf8_invalid_bytes.xml"))

    fire, evacuation, owner, crews = feed.entries
    # The good entries keep their UTF-8, rather than the whole feed being reread as another encoding.
    assert feed.title == "Courrier de la Vall\u00e9e"
    assert fire.title == "Caf\u00e9 fire: \u201cwe lost everything\u201d"
    assert crews.title == "Pompiers \u00e0 l\u2019\u0153uvre"
    # A UTF-8 entry with broken bytes: only those bytes are replaced.
    assert evacuation.title == "\u00c9vacuation \u00e0 Montr\u00e9al \ufffd"
    assert evacuation.text == "Residents of \u00cele-des-S\u0153urs moved \ufffd("
    # An entry with no UTF-8 at all was pasted in from windows-1252, and is read so.
    assert owner.title == "Caf\u00e9 owner: \u201cwe will rebuild\u201d"
    assert owner.text == "Insurance covers \u20ac 1.2 million"
    assert feed.problems == [
        "1 entry had bytes that are not UTF-8, replaced with \ufffd: mixed-2",
        "1 entry had bytes that are not UTF-8, read as windows-1252: mixed-3",
    ]


def test_bytes_a_declared_single_byte_encoding_does_not_have_are_replaced():
    feed = parse_feed(read("cp1252_undefined_bytes.xml"))

    assert [entry.title for entry in feed.entries] == [
        "Caf\u00e9 \u201cfire\u201d",
        "Bad \ufffdbyte and \ufffd another",
    ]
    assert feed.title == "Caf\u00e9 news"
    assert feed.problems == ["1 entry had bytes that are not cp1252, replaced with \ufffd: cp-2"]


def test_broken_bytes_outside_the_entries_are_reported_too():
    content = rss(2).replace("<title>Calls</title>", "<title>Calls \u00e9t\u00e9</title>").encode()
    content = content.replace(b"Calls", b"Calls \xff", 1)

    feed = parse_feed(content)

    assert feed.title == "Calls \ufffd \u00e9t\u00e9"
    assert feed.problems == ["the feed's own title or description had bytes that are not UTF-8, replaced"]


def test_many_broken_entries_are_counted_and_a_few_named():
    content = rss(9).replace("</title><link>", " \u00e9t\u00e9 \udcff</title><link>")
    content = content.encode("utf-8", "surrogateescape")

    feed = parse_feed(content)

    assert len(feed.entries) == 9
    assert feed.problems == [
        "9 entries had bytes that are not UTF-8, replaced with \ufffd: "
        "call-0, call-1, call-2, call-3, call-4 and 4 more"
    ]


@pytest.mark.django_db
def test_mended_bytes_show_in_the_sources_health(source, web_server):
    web_server.routes["/mixed.xml"] = Reply(
        200, {"Content-Type": "application/rss+xml"}, read("utf8_invalid_bytes.xml")
    )
    mixed = source(url=web_server.url("/mixed.xml"))

    poll_source(mixed)

    mixed.refresh_from_db()
    assert (mixed.last_status, mixed.consecutive_errors) == ("ok", 0)
    assert "replaced with \ufffd: mixed-2" in mixed.last_error
    assert "read as windows-1252: mixed-3" in FetchLog.objects.get(source=mixed).detail
    assert Item.objects.get(guid="mixed-3").title == "Caf\u00e9 owner: \u201cwe will rebuild\u201d"


@pytest.mark.django_db
def test_ingest_json_lists_what_it_mended_and_cut_as_errors_that_are_not_fatal(tmp_path, settings):
    settings.WIRE_MAX_ENTRIES = 2
    (tmp_path / "mixed.xml").write_bytes(read("utf8_invalid_bytes.xml"))
    out = StringIO()

    call_command("ingest", "--json", str(tmp_path / "mixed.xml"), stdout=out)

    result = json.loads(out.getvalue())
    path = str(tmp_path / "mixed.xml")
    assert (result["created"], result["skipped"]) == (2, 2)
    assert result["errors"] == [
        {
            "path": path,
            "error": "1 entry had bytes that are not UTF-8, replaced with \ufffd: mixed-2",
            "fatal": False,
        },
        {"path": path, "error": "4 entries in the feed: 2 past the first 2 were not read", "fatal": False},
    ]
    assert result["files"][0]["problems"] == [error["error"] for error in result["errors"]]


@pytest.mark.django_db
def test_ingest_prints_what_it_mended(tmp_path):
    (tmp_path / "mixed.xml").write_bytes(read("utf8_invalid_bytes.xml"))
    out = StringIO()

    call_command("ingest", str(tmp_path / "mixed.xml"), stdout=out, stderr=StringIO())

    lines = out.getvalue().splitlines()
    assert lines[0] == "created 4, updated 0, unchanged 0, skipped 0, errors 0"
    mended = f"1 entry had bytes that are not UTF-8, {REPLACED}: mixed-2"
    assert f"  {tmp_path / 'mixed.xml'}: read, but {mended}" in lines
