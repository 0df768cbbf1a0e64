"""Whatever file an audience manager uploads, the import page answers with a message for the file or for
each row it could not take, never a server error, and adds only the rows it could read."""

import codecs
import csv

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchdesk.subscriptions.models import Subscriber

pytestmark = pytest.mark.django_db

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489") + b"\x00" * 32


def post(client, content, **extra):
    file = SimpleUploadedFile("list.csv", content, content_type="text/csv")
    return client.post(reverse("subscribers:import"), {"file": file, **extra})


def page(response):
    assert response.status_code == 200
    return response.content.decode()


def emails():
    return sorted(Subscriber.objects.values_list("email", flat=True))


@pytest.fixture
def manager(client, audience_manager):
    client.force_login(audience_manager)
    return client


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["unix", "windows", "old-mac-cr-only"])
def test_every_line_ending_imports_the_same_rows(manager, ending):
    text = ending.join(["email,name", "a@example.net,Ann", '"b@example.net","Bo, Jr."', "c@example.net,"])
    html = page(post(manager, text.encode()))
    assert "3 added, 0 skipped, 0 with errors" in html
    assert emails() == ["a@example.net", "b@example.net", "c@example.net"]
    assert Subscriber.objects.get(email="b@example.net").name == "Bo, Jr."


def test_a_bom_and_utf16_files_import(manager):
    page(post(manager, codecs.BOM_UTF8 + "email,name\nzoe@example.net,Zoë\n".encode()))
    page(post(manager, "email,name\nyann@example.net,Yann Lê\n".encode("utf-16")))
    assert emails() == ["yann@example.net", "zoe@example.net"]
    assert Subscriber.objects.get(email="yann@example.net").name == "Yann Lê"
    assert Subscriber.objects.get(email="zoe@example.net").name == "Zoë"


@pytest.mark.parametrize(
    "content, message",
    [
        ("email,name\nrené@example.net,René\n".encode("latin-1"), "The file is not UTF-8 text (line 2"),
        (PNG, "The file is not UTF-8 text (line 1"),
        (b"email,name\na@example.net,A\x00nn\n", "The file holds a NUL character (line 2)"),
        (b"\x00\x00\x00\x00", "The file holds a NUL character (line 1)"),
        (b"\n\r\n  \n", "The file is empty."),
        (b"email,name,topics\n", "The file has only its header row"),
        (b"email,name\n,\n", "The file has only its header row"),
        (
            b"email,name\na@example.net," + b"x" * (csv.field_size_limit() + 1) + b"\n",
            "Line 2 has a cell longer than 128 KiB",
        ),
        (b"email," + b",".join(b"c%d" % n for n in range(5000)) + b"\n", "The first row has 5,001 columns"),
        (b"name,city\nDana,Austin\n", "No e-mail column"),
    ],
    ids=[
        "latin-1",
        "png",
        "nul-in-a-cell",
        "only-nuls",
        "blank",
        "header-only",
        "header-and-blank-rows",
        "huge-cell",
        "many-columns",
        "no-email-column",
    ],
)
def test_a_file_that_cannot_be_read_gets_one_message_and_adds_nobody(manager, content, message):
    html = page(post(manager, content))
    assert message in html
    assert "The file could not be imported." in html
    assert emails() == []


def test_an_empty_upload_is_refused_by_the_form(manager):
    assert "The submitted file is empty." in page(post(manager, b""))


def test_ragged_rows_get_a_message_each_and_the_rest_are_added(manager):
    text = (
        "email,name,cadence\n"
        "short@example.net\n"  # fewer cells: the rest are empty
        "long@example.net,Ortiz, Dana,daily\n"  # an unquoted comma: one cell too many
        "trailing@example.net,Tee,weekly,,\n"  # empty extra cells are harmless
        f"{'x' * 250}@example.net,Too long\n"
    )
    html = page(post(manager, text.encode()))
    assert "2 added, 0 skipped, 2 with errors" in html
    assert "4 cells but the header names 3 columns" in html
    assert "the address is longer than 254 characters" in html
    assert emails() == ["short@example.net", "trailing@example.net"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.one_of(
        st.binary(max_size=300),
        st.lists(
            st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=12), max_size=6), max_size=6
        ).map(lambda rows: "\r".join(",".join(row) for row in rows).encode()),
        st.text(alphabet="email,@x.\r\n\"';\t\x00é", max_size=200).map(str.encode),
    )
)
def test_no_file_gets_a_server_error(manager, content):
    response = post(manager, content, dry_run="on")
    assert response.status_code == 200
    assert not Subscriber.objects.exists()
