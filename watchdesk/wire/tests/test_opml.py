"""OPML import and export: nested folders, reasons for what is skipped, and files that must change nothing."""

import time
from pathlib import Path

import pytest
from lxml import etree

from watchdesk.wire.models import Source
from watchdesk.wire.opml import OPMLError, export_opml, import_opml, parse_opml

FILES = Path(__file__).parent / "opml"


def opml_file(name):
    return (FILES / name).read_bytes()


def test_parse_reads_feeds_inside_nested_folders():
    outlines = parse_opml(opml_file("subscriptions.opml"))

    courier = outlines[0]
    assert courier.url == "https://valleycourier.example/feed.xml"
    assert courier.name == "Sierra Valley Courier"
    assert courier.site_url == "https://valleycourier.example/"
    assert courier.language == "en"
    assert courier.folder == "Local / Fire & Rescue"
    # title wins over text; folders hold no feed themselves
    assert [o.name for o in outlines][:4] == [
        "Sierra Valley Courier",
        "County OES alerts",
        "The Harbor Gazette",
        "Diario del Sur",
    ]
    assert "Local" not in [o.name for o in outlines]


@pytest.mark.django_db
def test_import_creates_sources_and_says_why_it_skipped_the_rest():
    summary = import_opml(opml_file("subscriptions.opml"))

    assert summary.created == 4
    assert summary.updated == 0
    reasons = dict(summary.skipped)
    assert reasons["http://10.0.0.1/feed.xml"].startswith("refused")
    assert reasons["gopher://old.example/1/news"] == "not a valid http(s) URL"
    assert reasons["https://valleycourier.example/feed.xml"] == "listed twice in the file"
    assert reasons["No address"] == "no feed URL"
    assert str(summary) == "created 4, updated 0, skipped 4"

    diario = Source.objects.get(url="https://diariodelsur.example/feed/")
    assert (diario.name, diario.language, diario.host, diario.enabled) == (
        "Diario del Sur",
        "es",
        "diariodelsur.example",
        True,
    )
    assert Source.objects.get(url="https://oes.county.example/alerts.atom").site_url == ""
    assert not Source.objects.filter(url__startswith="http://10.").exists()


@pytest.mark.django_db
def test_import_again_updates_by_feed_url_and_never_duplicates(source):
    source(url="https://harborgazette.example/rss", name="Harbor Gazette (old name)", language="en-US")

    summary = import_opml(opml_file("subscriptions.opml"))

    assert (summary.created, summary.updated) == (3, 1)
    assert Source.objects.get(url="https://harborgazette.example/rss").name == "The Harbor Gazette"

    again = import_opml(opml_file("subscriptions.opml"))
    assert (again.created, again.updated) == (0, 0)
    assert "already present, unchanged" in dict(again.skipped).values()
    assert Source.objects.count() == 4


@pytest.mark.django_db
def test_a_truncated_file_imports_nothing_at_all():
    with pytest.raises(OPMLError, match="not well-formed XML"):
        import_opml(opml_file("truncated.opml"))

    assert Source.objects.count() == 0


@pytest.mark.django_db
def test_entity_tricks_are_refused_quickly_and_read_no_file():
    started = time.monotonic()
    with pytest.raises(OPMLError, match="DOCTYPE is not allowed"):
        import_opml(opml_file("entities.opml"))

    assert time.monotonic() - started < 5  # a generous bound: expanding the entities would take ages
    assert Source.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not well-formed XML"),
        (b"<rss version='2.0'><channel/></rss>", "root element is <rss>"),
        (b"<opml version='2.0'><head/></opml>", "no <body>"),
    ],
)
def test_what_is_not_opml_gets_a_clear_error(content, message):
    with pytest.raises(OPMLError, match=message):
        parse_opml(content)


@pytest.mark.django_db
def test_export_is_opml_2_with_names_escaped(source):
    source(
        url="https://example.org/a.xml",
        name='Fish & Chips <Daily> "News"',
        site_url="https://example.org/",
        language="en",
    )
    source(url="https://example.net/b.xml", name="Plain")

    document = export_opml()

    root = etree.fromstring(document)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Watchdesk sources"
    first, second = root.findall("body/outline")
    assert first.attrib == {
        "type": "rss",
        "text": 'Fish & Chips <Daily> "News"',
        "title": 'Fish & Chips <Daily> "News"',
        "xmlUrl": "https://example.org/a.xml",
        "htmlUrl": "https://example.org/",
        "language": "en",
    }
    assert "htmlUrl" not in second.attrib and "language" not in second.attrib
    assert b"&amp; Chips &lt;Daily&gt;" in document


@pytest.mark.django_db
def test_export_then_import_round_trips(source):
    source(url="https://example.org/a.xml", name="Alpha & Co", site_url="https://example.org/", language="fr")
    source(url="https://example.net/b.xml", name="Beta")
    before = list(Source.objects.values_list("url", "name", "site_url", "language").order_by("url"))
    document = export_opml()
    Source.objects.all().delete()

    summary = import_opml(document)

    assert summary.created == 2 and not summary.skipped
    assert list(Source.objects.values_list("url", "name", "site_url", "language").order_by("url")) == before
