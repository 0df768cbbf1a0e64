"""A provider's API (django-anymail) as the transport: what it is handed, and how its refusals come back.

anymail's test backend stands in for the provider: it records what a real backend would send.
"""

import pytest
from anymail.exceptions import AnymailAPIError
from anymail.message import AnymailRecipientStatus
from anymail.signals import pre_send
from django.core import mail

from watchdesk.delivery.messages import Outgoing, list_headers
from watchdesk.delivery.transport import BackendTransport, PermanentError, TransientError, open_transport


@pytest.fixture(autouse=True)
def provider(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "Watchdesk <noreply@watchdesk.example>"


@pytest.fixture
def zoe(subscriber):
    return subscriber("zoe.nunez@example.net", name="Zoë Núñez-Ortiz")


@pytest.fixture
def provider_replies():
    """Make the provider answer the next send with ``reply`` (a recipient status or an API error)."""
    replies = []

    def answer(sender, message, **kwargs):
        if replies:
            message.anymail_test_response = replies.pop(0)

    pre_send.connect(answer)
    yield replies
    pre_send.disconnect(answer)


def message_for(reader):
    return Outgoing(
        to=reader.email,
        to_name=reader.name,
        subject="Évacuation : levée rompue",
        text="Levee breach.\n",
        html="<p>Levee breach.</p>",
        headers=list_headers(reader),
    )


def send(outgoing):
    transport = open_transport()
    assert isinstance(transport, BackendTransport)
    try:
        transport.send(outgoing)
    finally:
        transport.close()


def test_the_provider_gets_the_message_with_its_html_and_unsubscribe_headers(zoe):
    outgoing = message_for(zoe)
    send(outgoing)
    (sent,) = mail.outbox
    params = sent.anymail_test_params
    assert params["subject"] == "Évacuation : levée rompue"
    assert params["text_body"] == "Levee breach.\n"
    assert params["html_body"] == "<p>Levee breach.</p>"
    assert params["from"].addr_spec == "noreply@watchdesk.example"
    (to,) = params["to"]
    # The provider gets the name itself, not an RFC 2047 encoding of it to show as is.
    assert (to.display_name, to.addr_spec) == ("Zoë Núñez-Ortiz", "zoe.nunez@example.net")
    headers = params["extra_headers"]
    assert headers["Message-ID"] == outgoing.message_id
    assert headers["List-Unsubscribe"] == f"<{zoe.unsubscribe_url()}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "List-Id" in headers


def test_a_provider_refusing_the_recipient_is_a_permanent_failure(zoe, provider_replies):
    provider_replies.append({"recipient_status": {zoe.email: AnymailRecipientStatus(None, "rejected")}})
    with pytest.raises(PermanentError) as failure:
        send(message_for(zoe))
    assert failure.value.suppress


def test_a_provider_outage_is_worth_a_retry(zoe, provider_replies):
    provider_replies.append(AnymailAPIError("503 Service Unavailable"))
    with pytest.raises(TransientError, match="503 Service Unavailable"):
        send(message_for(zoe))
