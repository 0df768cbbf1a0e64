"""``watchdesk sources``: add, list, import, export, enable, disable and poll."""

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from lxml import etree

from watchdesk.testing.webserver import Reply
from watchdesk.wire.models import Item, Source

pytestmark = pytest.mark.django_db

OPML = Path(__file__).parent / "opml"


def sources(*args):
    out = StringIO()
    call_command("sources", *args, stdout=out)
    return out.getvalue()


def test_add_checks_the_url_and_does_not_fetch(web_server, regions):
    out = sources(
        "add",
        web_server.url("/feed.xml"),
        "--name",
        "Sierra Valley Courier",
        "--language",
        "en",
        "--region",
        "us-ca",
        "--trust",
        "80",
        "--every",
        "30",
    )

    source = Source.objects.get()
    assert (source.name, source.language, source.home_region, source.trust, source.poll_minutes) == (
        "Sierra Valley Courier",
        "en",
        regions["california"],
        80,
        30,
    )
    assert source.enabled and source.next_poll_at is None  # due at the next poll
    assert out.startswith(f"Added source {source.pk}: Sierra Valley Courier <{web_server.url('/feed.xml')}>")
    assert "home region California" in out
    assert web_server.requests == []


def test_add_names_the_source_after_its_host_by_default():
    sources("add", "https://www.valleycourier.example/feed.xml")

    assert Source.objects.get().name == "valleycourier.example"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://example.org/feed"], "Not a valid http"),
        (["not a url"], "Not a valid http"),
        (["http://10.0.0.1/feed.xml"], "Cannot add http://10.0.0.1/feed.xml: refused: 10.0.0.1"),
        (["https://example.org:8443/feed.xml"], "refused: port 8443"),
        (["https://example.org/feed.xml", "--region", "XX-NOPE"], "No region has the code"),
        (["https://example.org/feed.xml", "--every", "1"], "at least 5 minutes"),
        (["https://example.org/feed.xml", "--trust", "101"], "between 0 and 100"),
    ],
)
def test_add_refuses_bad_input_with_a_reason(args, message):
    with pytest.raises(CommandError, match=message):
        sources("add", *args)
    assert Source.objects.count() == 0


def test_add_refuses_a_duplicate(source):
    existing = source(url="https://example.org/feed.xml", name="Example News")

    with pytest.raises(CommandError, match=rf"already a source: Example News \(id {existing.pk}\)"):
        sources("add", "https://example.org/feed.xml", "--name", "Again")
    assert Source.objects.count() == 1


def test_list_shows_health_in_a_table_and_as_json(source):
    now = timezone.now()
    source(name="Courier", last_status="ok", last_fetched_at=now, items_per_day=3.5)
    source(name="Gazette [/]", enabled=False, last_status="http 503", consecutive_errors=4)

    table = sources("list")
    assert "2 sources" in table
    for text in ("Courier", "Gazette [/]", "http 503", "3.5", "never", "no"):
        assert text in table

    rows = json.loads(sources("list", "--json"))
    assert [row["name"] for row in rows] == ["Courier", "Gazette [/]"]
    gazette = rows[1]
    assert (gazette["enabled"], gazette["last_status"], gazette["consecutive_errors"]) == (
        False,
        "http 503",
        4,
    )
    assert rows[0]["last_fetched_at"] == now.isoformat()
    assert rows[0]["items_per_day"] == 3.5


def test_import_prints_what_became_of_every_feed():
    out = sources("import", str(OPML / "subscriptions.opml"), "--no-fetch")

    lines = out.splitlines()
    counts = "created 4, present 0, refused 1, invalid 3, could not fetch 0"
    assert lines[0] == f"Imported {OPML / 'subscriptions.opml'}: {counts}"
    assert "  created https://valleycourier.example/feed.xml" in lines
    assert "  invalid gopher://old.example/1/news: not a valid http(s) URL" in lines
    assert any(line.startswith("  refused http://10.0.0.1/feed.xml: refused") for line in lines)
    assert Source.objects.count() == 4

    report = json.loads(sources("import", str(OPML / "subscriptions.opml"), "--json", "--no-fetch"))
    assert (report["created"], report["present"]) == (0, 4)


def test_import_fetches_the_new_feeds_and_says_which_it_could_not_fetch(web_server, tmp_path):
    rss = b"""<rss version="2.0"><channel><title>Good</title><item><guid>g-1</guid><title>Levee holds</title>
      <link>https://good.example.org/levee</link></item></channel></rss>"""
    web_server.routes["/good.xml"] = Reply(200, {"Content-Type": "application/rss+xml"}, rss)
    web_server.routes["/gone.xml"] = Reply(404, {"Content-Type": "text/plain"}, b"no")
    opml = f"""<?xml version="1.0"?><opml version="2.0"><head/><body><outline text="Wire">
      <outline type="rss" text="Good" xmlUrl="{web_server.url("/good.xml")}"/>
      <outline type="rss" text="Gone" xmlUrl="{web_server.url("/gone.xml")}"/>
    </outline></body></opml>"""
    (tmp_path / "wire.opml").write_text(opml)

    report = json.loads(sources("import", str(tmp_path / "wire.opml"), "--json"))

    good, gone = report["feeds"]
    assert (good["outcome"], good["fetch"], good["group"]) == ("created", "fetched", "Wire")
    assert (gone["outcome"], gone["fetch"], gone["fetch_detail"]) == (
        "created",
        "could not fetch",
        "http 404",
    )
    assert report["could_not_fetch"] == 1
    assert Item.objects.filter(source__name="Good").count() == 1


def test_import_of_a_broken_file_is_refused_whole():
    with pytest.raises(CommandError, match="not usable OPML, nothing was imported: not well-formed XML"):
        sources("import", str(OPML / "truncated.opml"))
    with pytest.raises(CommandError, match="DOCTYPE"):
        sources("import", str(OPML / "entities.opml"))
    with pytest.raises(CommandError, match="Cannot read"):
        sources("import", str(OPML / "missing.opml"))
    assert Source.objects.count() == 0


def test_export_writes_opml_to_stdout_or_a_file(source, tmp_path):
    source(url="https://example.org/a.xml", name="A & B News", language="en")

    printed = sources("export")
    assert etree.fromstring(printed.encode()).find("body/outline").get("title") == "A & B News"

    target = tmp_path / "sources.opml"
    assert sources("export", "-o", str(target)) == f"Wrote 1 sources to {target}\n"
    Source.objects.all().delete()
    sources("import", str(target), "--no-fetch")
    assert Source.objects.get().name == "A & B News"


def test_enable_and_disable_by_name_or_id(source):
    feed = source(name="Courier", next_poll_at=timezone.now() + timedelta(hours=3))

    assert sources("disable", "courier") == f"Disabled Courier (id {feed.pk}).\n"
    feed.refresh_from_db()
    assert not feed.enabled

    sources("enable", str(feed.pk))
    feed.refresh_from_db()
    assert feed.enabled and feed.next_poll_at is None

    with pytest.raises(CommandError, match="No source is called"):
        sources("enable", "Nobody")


def test_a_name_shared_by_two_sources_asks_for_the_id(source):
    source(name="Courier")
    source(name="courier")

    with pytest.raises(CommandError, match="give the id instead"):
        sources("disable", "Courier")


def test_poll_one_source_now_in_the_foreground(web_server, source):
    web_server.routes["/feed.xml"] = Reply(
        200,
        {"Content-Type": "application/rss+xml"},
        b"<rss version='2.0'><channel><title>Courier</title><item><guid>a</guid><title>Road closed</title>"
        b"<link>https://courier.example/a</link></item></channel></rss>",
    )
    feed = source(
        url=web_server.url("/feed.xml"), name="Courier", next_poll_at=timezone.now() + timedelta(hours=1)
    )

    out = sources("poll", "Courier")

    assert out.startswith("Courier: ok; polled 1 sources")
    assert Item.objects.get().source == feed

    web_server.routes["/feed.xml"] = Reply(500, {}, b"")
    out = sources("poll", str(feed.pk))
    assert out.startswith("Courier: http 500;")


def test_poll_without_a_name_polls_what_is_due(web_server, source):
    web_server.routes["/feed.xml"] = Reply(404, {}, b"")
    source(url=web_server.url("/feed.xml"))

    assert sources("poll").startswith("polled 1 sources (0 not modified, 1 failed")
