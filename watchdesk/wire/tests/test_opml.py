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


def outcomes(summary):
    return {feed.url or feed.name: (feed.outcome, feed.reason) for feed in summary.feeds}


@pytest.mark.django_db
def test_import_creates_sources_in_their_folders_and_reports_every_feed():
    summary = import_opml(opml_file("subscriptions.opml"))

    assert (summary.created, summary.present) == (4, 0)
    report = outcomes(summary)
    assert report["http://10.0.0.1/feed.xml"][0] == "refused"
    assert report["http://10.0.0.1/feed.xml"][1].startswith("refused: 10.0.0.1")
    assert report["gopher://old.example/1/news"] == ("invalid", "not a valid http(s) URL")
    assert report["No address"] == ("invalid", "no feed URL")
    assert [
        feed.outcome for feed in summary.feeds if feed.url == "https://valleycourier.example/feed.xml"
    ] == [
        "created",
        "invalid",  # listed twice in the file
    ]
    assert str(summary) == "created 4, present 0, refused 1, invalid 3"
    assert summary.not_imported[0][0] == "http://10.0.0.1/feed.xml"

    diario = Source.objects.get(url="https://diariodelsur.example/feed/")
    assert (diario.name, diario.language, diario.host, diario.enabled, diario.group) == (
        "Diario del Sur",
        "es",
        "diariodelsur.example",
        True,
        "International",
    )
    assert Source.objects.get(url="https://valleycourier.example/feed.xml").group == "Local / Fire & Rescue"
    assert Source.objects.get(url="https://harborgazette.example/rss").group == "Local"
    assert Source.objects.get(url="https://oes.county.example/alerts.atom").site_url == ""
    assert not Source.objects.filter(url__startswith="http://10.").exists()


@pytest.mark.django_db
def test_import_never_renames_or_moves_a_source_it_already_has(source):
    gazette = source(
        url="https://harborgazette.example/rss", name="Harbor Gazette (our name)", language="", group="Ports"
    )

    summary = import_opml(opml_file("subscriptions.opml"))

    assert (summary.created, summary.present) == (3, 1)
    present = next(feed for feed in summary.feeds if feed.outcome == "present")
    assert (present.source_id, present.name) == (gazette.pk, "Harbor Gazette (our name)")
    assert present.reason == "filled in its empty website, language"
    gazette.refresh_from_db()
    assert (gazette.name, gazette.group, gazette.language, gazette.site_url) == (
        "Harbor Gazette (our name)",
        "Ports",
        "en-US",
        "https://harborgazette.example",
    )

    again = import_opml(opml_file("subscriptions.opml"))
    assert (again.created, again.present) == (0, 4)
    assert {feed.reason for feed in again.feeds if feed.outcome == "present"} == {""}
    assert Source.objects.count() == 4


@pytest.mark.django_db
def test_a_file_listing_too_many_feeds_is_refused_whole(settings):
    outlines = "".join(f'<outline type="rss" xmlUrl="https://f{n}.example.org/"/>' for n in range(5001))
    document = f'<opml version="2.0"><head/><body>{outlines}</body></opml>'.encode()

    with pytest.raises(OPMLError, match="lists 5,001 feeds; at most 5,000"):
        import_opml(document)
    assert Source.objects.count() == 0


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

    assert summary.created == 2 and not summary.not_imported
    assert list(Source.objects.values_list("url", "name", "site_url", "language").order_by("url")) == before


@pytest.mark.django_db
def test_groups_are_exported_as_nested_folders_and_come_back(source):
    source(url="https://a.example.org/feed", name="Courier", group="Local / Fire & Rescue")
    source(url="https://b.example.org/feed", name="Gazette", group="Local")
    source(url="https://c.example.org/feed", name="OES", group="Local / Fire & Rescue")
    source(url="https://d.example.org/feed", name="Loose")
    before = sorted(Source.objects.values_list("url", "name", "group"))

    document = export_opml()

    body = etree.fromstring(document).find("body")
    loose, local = body.findall("outline")  # no group first, then the folders
    assert (loose.get("xmlUrl"), local.get("text"), local.get("xmlUrl")) == (
        "https://d.example.org/feed",
        "Local",
        None,
    )
    gazette, fire = local.findall("outline")
    assert fire.get("title") == "Fire & Rescue" and gazette.get("text") == "Gazette"
    assert [outline.get("text") for outline in fire.findall("outline")] == ["Courier", "OES"]

    Source.objects.all().delete()
    import_opml(document)
    assert sorted(Source.objects.values_list("url", "name", "group")) == before
