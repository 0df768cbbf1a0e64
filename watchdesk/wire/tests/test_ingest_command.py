"""``watchdesk ingest``: files and URLs by hand, with a summary, reasons for failures, and JSON."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from watchdesk.testing.webserver import Reply
from watchdesk.wire.models import Item

pytestmark = pytest.mark.django_db

PAGES = Path(__file__).parent / "pages"

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Harbor Gazette</title><link>https://harborgazette.example/</link>
<item><guid>hg-1</guid><title>Port road reopens after chemical leak</title>
<link>https://harborgazette.example/local/port-road</link><description>Crews capped the valve.</description>
<pubDate>Sat, 02 Mar 2024 18:00:00 GMT</pubDate></item>
<item><guid>hg-2</guid><title>Ferry fares rise again</title>
<link>https://harborgazette.example/local/ferry</link><description>Up 5 percent.</description></item>
<item><guid>hg-2</guid><title>Ferry fares rise again (copy)</title>
<link>https://harborgazette.example/local/ferry-copy</link><description>Same id twice.</description></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>County OES alerts</title><id>urn:oes</id>
<updated>2024-11-05T14:20:00Z</updated>
<entry><id>urn:oes:boil-water</id><title>Boil-water notice for Millbrook</title>
<link href="https://oes.county.example/alerts/boil-water"/><updated>2024-11-05T14:20:00Z</updated>
<summary>Boil tap water north of Route 9.</summary></entry>
</feed>"""


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("ingest", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path):
    (tmp_path / "harbor.xml").write_bytes(RSS)
    (tmp_path / "oes.atom").write_bytes(ATOM)
    (tmp_path / "page.html").write_bytes(b"<!DOCTYPE html><html><body><p>Just a page</p></body></html>")
    return tmp_path


def test_files_are_ingested_with_a_progress_bar_and_a_summary(files):
    out, err = run(str(files / "harbor.xml"), str(files / "oes.atom"))

    assert out.splitlines()[0] == "created 3, updated 0, unchanged 0, skipped 1, errors 0"
    assert "2/2" in err  # the progress bar, one step per file, on standard error
    harbor = Item.objects.get(guid="hg-1")
    assert (harbor.source, harbor.outlet, harbor.origin) == (None, "Harbor Gazette", "file")
    assert Item.objects.get(guid="urn:oes:boil-water").outlet == "County OES alerts"


def test_ingesting_again_duplicates_nothing(files):
    run(str(files / "harbor.xml"))

    out, _ = run(str(files / "harbor.xml"))

    assert out.startswith("created 0, updated 0,")
    assert Item.objects.count() == 2


def test_items_can_be_filed_under_a_source(files, source):
    courier = source(name="Harbor Gazette online")

    run(str(files / "harbor.xml"), "--source", "harbor gazette online")

    assert set(Item.objects.values_list("source", "outlet")) == {(courier.pk, "Harbor Gazette online")}


def test_an_unknown_source_is_an_error(files):
    with pytest.raises(CommandError, match="No source is called"):
        run(str(files / "harbor.xml"), "--source", "Nobody")


def test_urls_are_fetched_through_the_guarded_fetcher(web_server):
    web_server.routes["/oes.atom"] = Reply(200, {"Content-Type": "application/atom+xml"}, ATOM)

    out, _ = run(web_server.url("/oes.atom"))

    assert out.startswith("created 1,")
    assert Item.objects.get().origin == "feed"
    assert web_server.requests[0].headers["user-agent"].startswith("Watchdesk/")


def test_bad_inputs_are_listed_with_reasons_and_the_rest_goes_in(files, web_server, settings):
    web_server.routes["/gone.xml"] = Reply(404, {"Content-Type": "text/plain"}, b"no")

    out, _ = run(
        str(files / "harbor.xml"),
        str(files / "missing.xml"),
        str(files / "page.html"),
        web_server.url("/gone.xml"),
        "http://10.0.0.1/feed.xml",
    )

    lines = out.splitlines()
    assert lines[0] == "created 2, updated 0, unchanged 0, skipped 1, errors 4"
    assert f"  {files / 'missing.xml'}: no such file or directory" in lines
    assert any(line.startswith(f"  {files / 'page.html'}: ") for line in lines)
    assert f"  {web_server.url('/gone.xml')}: HTTP 404" in lines
    assert any(line.startswith("  http://10.0.0.1/feed.xml: refused") for line in lines)
    assert Item.objects.count() == 2


def test_json_output_has_totals_errors_and_one_entry_per_input(files):
    out, err = run("--json", str(files / "harbor.xml"), str(files / "missing.xml"))

    result = json.loads(out)
    assert (result["created"], result["updated"], result["skipped"]) == (2, 0, 1)
    assert result["errors"] == [
        {"path": str(files / "missing.xml"), "error": "no such file or directory", "fatal": True}
    ]
    harbor, missing = result["files"]
    assert harbor["path"] == str(files / "harbor.xml")
    assert (harbor["created"], harbor["skipped"], harbor["error"], harbor["format"]) == (2, 1, None, "rss20")
    assert missing["error"] == "no such file or directory"
    assert err == ""  # no progress bar


def test_when_every_input_fails_the_command_fails(files):
    out = StringIO()
    with pytest.raises(CommandError, match="Every input failed"):
        call_command("ingest", "--json", str(files / "page.html"), str(files / "nope.xml"), stdout=out)

    assert len(json.loads(out.getvalue())["errors"]) == 2


def test_nothing_to_ingest_is_an_error():
    with pytest.raises(CommandError, match="at least one"):
        run()


def test_article_pages_become_items(web_server):
    page = (PAGES / "harbor-gazette-chemical.html").read_bytes()
    web_server.routes["/story.html"] = Reply(200, {"Content-Type": "text/html"}, page)
    web_server.routes["/login"] = Reply(
        200, {"Content-Type": "text/html"}, (PAGES / "not-an-article.html").read_bytes()
    )

    out, _ = run("--json", "--article", web_server.url("/story.html"), web_server.url("/login"))

    result = json.loads(out)
    assert result["created"] == 1
    assert result["errors"] == [
        {"path": web_server.url("/login"), "error": "no article text found", "fatal": True}
    ]
    item = Item.objects.get()
    assert (item.origin, item.outlet) == ("article", "The Harbor Gazette")
    assert result["files"][0]["item"] == item.pk
