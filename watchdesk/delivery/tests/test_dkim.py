"""What a receiving mail server sees: a well-formed message, DKIM-signed over its unsubscribe headers."""

import base64
import email
import email.policy
import shutil
import subprocess
from datetime import timedelta
from email.utils import parsedate_to_datetime

import dkim
import pytest
from django.utils import timezone

from watchdesk.delivery.messages import Outgoing, list_headers
from watchdesk.delivery.transport import open_transport

SELECTOR = "wd2026"
DOMAIN = "watchdesk.example"
LONG_SUBJECT = "Évacuation : incendie près de Marseille — pompiers mobilisés, routes fermées jusqu’à mardi"

needs_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="generating a test key needs openssl"
)


@pytest.fixture(scope="module")
def key_pair():
    """A fresh 2048-bit RSA key: (private key PEM, the TXT record publishing its public half)."""
    private = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        capture_output=True,
        check=True,
    ).stdout
    public = subprocess.run(
        ["openssl", "pkey", "-pubout", "-outform", "DER"], input=private, capture_output=True, check=True
    ).stdout
    return private.decode(), b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


@pytest.fixture
def signing(settings, key_pair):
    settings.DKIM_PRIVATE_KEY = key_pair[0]
    settings.DKIM_SELECTOR = SELECTOR
    settings.DKIM_DOMAIN = DOMAIN
    return key_pair[1]


@pytest.fixture
def zoe(subscriber):
    return subscriber("zoe.nunez@example.net", name="Zoë Núñez-Ortiz")


def make_message(reader, subject="Levee breach on the Sacramento River"):
    return Outgoing(
        to=reader.email,
        to_name=reader.name,
        subject=subject,
        text="Levee breach.\n\nRead it: https://watchdesk.example/levee/\n",
        html="<p>Levee breach. <a href='https://watchdesk.example/levee/'>Read it</a></p>",
        headers=list_headers(reader),
    )


def send(outgoing, server):
    transport = open_transport()
    try:
        transport.send(outgoing)
    finally:
        transport.close()
    _, _, raw = server.envelopes[-1]
    return raw


def dns(record):
    """A resolver that knows one DKIM key record, as the receiving server's DNS would."""

    def lookup(name, timeout=5):
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    return lookup


def signature_tags(raw):
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    value = "".join(message["DKIM-Signature"].split())
    return dict(tag.split("=", 1) for tag in value.split(";") if tag)


@needs_openssl
def test_the_received_message_verifies_against_the_published_key(zoe, mail_server, signing):
    raw = send(make_message(zoe), mail_server)
    assert raw.startswith(b"DKIM-Signature:")
    assert dkim.verify(raw, dnsfunc=dns(signing))
    tags = signature_tags(raw)
    assert (tags["d"], tags["s"], tags["a"]) == (DOMAIN, SELECTOR, "rsa-sha256")
    signed = tags["h"].lower().split(":")
    for header in (
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ):
        assert header in signed


@needs_openssl
def test_a_long_non_ascii_subject_stays_signed(zoe, mail_server, signing):
    raw = send(make_message(zoe, subject=LONG_SUBJECT), mail_server)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\n" not in head.replace(b"\r\n", b""), "a header is folded with a bare LF"
    assert dkim.verify(raw, dnsfunc=dns(signing))


@needs_openssl
def test_changing_the_unsubscribe_link_breaks_the_signature(zoe, mail_server, signing):
    raw = send(make_message(zoe), mail_server)
    url = zoe.unsubscribe_url().encode()
    assert url in raw
    tampered = raw.replace(url, b"https://attacker.example/unsubscribe/")
    assert not dkim.verify(tampered, dnsfunc=dns(signing))
    dropped = raw.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", b"")
    assert not dkim.verify(dropped, dnsfunc=dns(signing))


def test_without_a_key_nothing_is_signed(zoe, mail_server, settings):
    settings.DKIM_PRIVATE_KEY = None
    raw = send(make_message(zoe), mail_server)
    assert b"DKIM-Signature" not in raw
    assert mail_server.messages[0]["DKIM-Signature"] is None


def test_the_message_is_well_formed_for_receiving_servers(zoe, mail_server, settings):
    settings.SITE_HOST = DOMAIN
    settings.DKIM_DOMAIN = ""
    send(make_message(zoe, subject=LONG_SUBJECT), mail_server)
    message = mail_server.messages[0]
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert "https://watchdesk.example/levee/" in message.get_body(("plain",)).get_content()
    assert "<a href='https://watchdesk.example/levee/'>" in message.get_body(("html",)).get_content()
    assert message["Message-ID"].startswith("<")
    assert message["Message-ID"].endswith(f"@{DOMAIN}>")
    sent_at = parsedate_to_datetime(message["Date"])
    assert abs(timezone.now() - sent_at) < timedelta(minutes=1)
    assert str(message["Subject"]) == LONG_SUBJECT
    (address,) = message["To"].addresses
    assert (address.display_name, address.addr_spec) == ("Zoë Núñez-Ortiz", "zoe.nunez@example.net")
    assert message["List-Unsubscribe"] == f"<{zoe.unsubscribe_url()}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Non-ASCII goes as RFC 2047 encoded words: the raw header bytes are plain ASCII.
    _, _, raw = mail_server.envelopes[0]
    assert raw.split(b"\r\n\r\n", 1)[0].isascii()
