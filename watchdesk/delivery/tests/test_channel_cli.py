"""``watchdesk channels add | list | test | remove``: URLs checked on the way in, masked on the way out."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from watchdesk.delivery.models import Channel, ChannelDelivery

pytestmark = pytest.mark.django_db


def channels(*args):
    out = io.StringIO()
    call_command("channels", *args, stdout=out)
    return out.getvalue()


def test_add_list_test_and_remove_a_channel(receiver, topics, regions):
    url = f"json://ops:hunter22@127.0.0.1:{receiver.port}/hook?token=T0k3n"
    added = channels(
        "add", "County ops", url, "--topic", "wildfire", "--region", "US-CA", "--cadence", "instant"
    )
    assert "Added channel County ops" in added and "hunter22" not in added and "T0k3n" not in added
    channel = Channel.objects.get()
    assert channel.url == url and not channel.everything
    assert [t.slug for t in channel.topics.all()] == ["wildfire"]
    assert [r.code for r in channel.regions.all()] == ["US-CA"]

    listed = channels("list")
    assert "County ops" in listed and "wildfire in US-CA" in listed and "hunter22" not in listed

    assert channels("test", "county ops") == "Test message delivered to County ops.\n"
    (request,) = receiver.hits("/hook")
    assert json.loads(request.body)["title"] == "Test alert from Watchdesk"

    (row,) = json.loads(channels("list", "--json"))
    assert row["url"] == f"json://ops:****@127.0.0.1:{receiver.port}/hook?token=****"
    assert (row["last_status"], row["scope"], row["purpose"]) == ("sent", "wildfire in US-CA", "readers")

    assert channels("remove", "County ops") == "Removed channel County ops.\n"
    assert not Channel.objects.exists() and not ChannelDelivery.objects.exists()


def test_a_signed_webhook_prints_its_secret_once(receiver):
    added = channels(
        "add", "EOC", f"watchdesk+http://127.0.0.1:{receiver.port}/agency", "--purpose", "editors"
    )
    channel = Channel.objects.get()
    assert (channel.kind, channel.purpose, channel.url) == ("webhook", "editors", receiver.url("/agency"))
    assert len(channel.secret) >= 40 and channel.secret in added
    assert channel.secret not in channels("list") + channels("list", "--json")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("json://127.0.0.1:8080/hook", "port 8080 is not allowed"),
        ("json://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("form://169.254.169.254/latest", "is a cloud metadata address"),
        ("watchdesk+http://169.254.169.254/x", "is a cloud metadata address"),
    ],
)
def test_a_refused_url_is_not_added(url, reason):
    with pytest.raises(CommandError, match=reason):
        channels("add", "Sneaky", url)
    assert not Channel.objects.exists()


def test_mistakes_are_named(receiver, make_channel):
    make_channel("Ops")
    with pytest.raises(CommandError, match="already called"):
        channels("add", "ops", f"json://127.0.0.1:{receiver.port}/hook")
    with pytest.raises(CommandError, match="No topic or region is called nowhere"):
        channels("add", "New", f"json://127.0.0.1:{receiver.port}/hook", "--topic", "nowhere")
    with pytest.raises(CommandError, match="No channel is called 'Missing'"):
        channels("test", "Missing")


def test_a_failed_test_says_why_without_the_secret(receiver, make_channel):
    receiver.routes["/hooks/S3cret"] = receiver.routes["/hook"].__class__(404)
    make_channel("Broken", f"json://127.0.0.1:{receiver.port}/hooks/S3cret")
    with pytest.raises(CommandError, match="The test was not delivered") as raised:
        channels("test", "Broken")
    assert "S3cret" not in str(raised.value)
