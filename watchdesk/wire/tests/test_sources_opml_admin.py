"""OPML in the admin's Sources screen: an import with a report per feed (created, already present, could
not fetch and why, invalid), hostile and oversized files refused whole, and an export that round-trips."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from watchdesk.wire.models import Source, SourceImport
from watchdesk.wire.opml import MAX_OPML_BYTES

pytestmark = pytest.mark.django_db

OPML = Path(__file__).parent / "opml"
IMPORT = reverse("sources:import_opml")


def upload(name, content):
    return {"file": SimpleUploadedFile(name, content, content_type="text/x-opml")}


@pytest.fixture
def editor_client(client, home, editor):
    client.force_login(editor)
    return client


def test_the_sources_list_offers_import_and_export(editor_client):
    html = editor_client.get(reverse("sources:index")).content.decode()
    assert IMPORT in html and reverse("sources:export_opml") in html


def test_an_import_reports_every_feed_and_keeps_folders_as_groups(editor_client, source):
    kept = source(url="https://harborgazette.example/rss", name="Gazette (our name)", group="Ports")

    response = editor_client.post(IMPORT, upload("newsroom.opml", (OPML / "subscriptions.opml").read_bytes()))

    record = SourceImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "sources:import_report", args=[record.pk]
    )
    assert record.file_name == "newsroom.opml"
    kept.refresh_from_db()
    assert (kept.name, kept.group) == ("Gazette (our name)", "Ports")  # never renamed nor moved
    assert Source.objects.get(url="https://valleycourier.example/feed.xml").group == "Local / Fire & Rescue"

    html = editor_client.get(response["Location"]).content.decode()
    rows = {row.get("data-outcome") for row in etree.HTML(html).iter("tr") if row.get("data-outcome")}
    assert rows == {"created", "present", "refused", "invalid"}
    assert "3 created, 1 already present, 0 could not be fetched (3 not fetched yet" in html
    assert "Gazette (our name)" in html and "waiting for the worker" in html
    assert "refused: 10.0.0.1 is a private address" in html
    assert "not a valid http(s) URL" in html and "listed twice in the file" in html


def test_the_report_shows_which_new_feeds_the_worker_could_not_fetch(editor_client):
    editor_client.post(IMPORT, upload("newsroom.opml", (OPML / "subscriptions.opml").read_bytes()))
    now = timezone.now()
    Source.objects.filter(url="https://diariodelsur.example/feed/").update(
        last_fetched_at=now,
        last_status="dns error",
        last_error="could not resolve diariodelsur.example",
        consecutive_errors=1,
    )
    Source.objects.filter(url="https://valleycourier.example/feed.xml").update(
        last_fetched_at=now, last_status="ok"
    )

    html = editor_client.get(
        reverse("sources:import_report", args=[SourceImport.objects.get().pk])
    ).content.decode()

    assert "1 could not be fetched (2 not fetched yet" in html
    failed = [row for row in etree.HTML(html).iter("tr") if row.get("data-fetch") == "could not fetch"]
    assert len(failed) == 1
    assert "could not resolve diariodelsur.example" in "".join(failed[0].itertext())
    assert [row.get("data-fetch") for row in etree.HTML(html).iter("tr") if row.get("data-fetch")].count(
        "fetched"
    ) == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("entities.opml", "Nothing was imported: a DOCTYPE is not allowed in OPML"),
        ("truncated.opml", "Nothing was imported: not well-formed XML"),
    ],
)
def test_hostile_or_broken_files_are_refused_whole(editor_client, name, message):
    response = editor_client.post(IMPORT, upload(name, (OPML / name).read_bytes()))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Source.objects.exists() and not SourceImport.objects.exists()


def test_a_file_over_the_limit_is_refused_without_being_kept(editor_client):
    huge = b'<opml version="2.0"><body>' + b" " * MAX_OPML_BYTES + b"</body></opml>"

    response = editor_client.post(IMPORT, upload("huge.opml", huge))

    assert response.status_code == 200
    assert "The file is 5.0 MB; at most 5 MB can be imported." in response.content.decode()
    assert not SourceImport.objects.exists()


def test_the_upload_still_needs_a_csrf_token(home, editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)

    response = client.post(IMPORT, upload("newsroom.opml", (OPML / "subscriptions.opml").read_bytes()))

    assert response.status_code == 403
    assert not Source.objects.exists()


def test_export_downloads_every_source_and_imports_back_the_same(editor_client, source):
    source(url="https://a.example.org/feed", name="Courier & Co", group="Local / Fire", language="en")
    source(url="https://b.example.org/feed", name="Loose", site_url="https://b.example.org/")
    before = sorted(Source.objects.values_list("url", "name", "group", "language", "site_url"))

    response = editor_client.get(reverse("sources:export_opml"))

    assert response["Content-Type"] == "text/x-opml; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="watchdesk-sources-')
    Source.objects.all().delete()
    editor_client.post(IMPORT, upload("back.opml", response.content))
    assert sorted(Source.objects.values_list("url", "name", "group", "language", "site_url")) == before


def test_outsiders_can_neither_import_nor_export(client, home, outsider, source):
    source(name="Private Feed")
    client.force_login(outsider)

    assert client.get(reverse("sources:export_opml")).status_code == 302
    client.post(IMPORT, upload("newsroom.opml", (OPML / "subscriptions.opml").read_bytes()))
    assert Source.objects.count() == 1
