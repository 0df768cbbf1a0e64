"""The Channels screens: Audience managers list, add, edit, pause and test channels; URLs stay masked."""

import json

import pytest
from django.urls import reverse

from watchdesk.delivery.models import Channel, ChannelDelivery
from watchdesk.testing.webserver import Reply

pytestmark = pytest.mark.django_db


def form(**overrides):
    data = {
        "name": "County ops",
        "kind": "apprise",
        "url": "",
        "purpose": "readers",
        "cadence": "instant",
        "everything": "on",
        "regions": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_an_audience_manager_adds_a_channel_and_never_sees_its_secret_again(
    client, audience_manager, receiver, topics, regions
):
    client.force_login(audience_manager)
    url = f"json://ops:hunter22@127.0.0.1:{receiver.port}/hooks/Xk9fQ2?token=T0k3n"
    response = client.post(
        reverse("channels:add"),
        form(url=url, everything=None, topics=[topics["wildfire"].pk], regions="US-CA"),
    )
    assert response.status_code == 302, response.context["form"].errors
    channel = Channel.objects.get()
    assert (channel.url, channel.everything) == (url, False)
    assert [region.code for region in channel.regions.all()] == ["US-CA"]
    listing = client.get(reverse("channels:index")).content.decode()
    assert "County ops" in listing and f"127.0.0.1:{receiver.port}/hooks/****?token=****" in listing
    for page in (listing, client.get(reverse("channels:edit", args=[channel.pk])).content.decode()):
        assert "hunter22" not in page and "Xk9fQ2" not in page and "T0k3n" not in page


def test_leaving_the_url_blank_keeps_the_saved_one(client, audience_manager, make_channel):
    channel = make_channel("Ops", "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/")
    client.force_login(audience_manager)
    edit = client.get(reverse("channels:edit", args=[channel.pk])).content.decode()
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in edit and "slack://****/****/****/" in edit
    response = client.post(reverse("channels:edit", args=[channel.pk]), form(name="Ops room", url=""))
    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.url) == (
        "Ops room",
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/",
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("json://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("form://169.254.169.254/latest", "is a cloud metadata address"),
        ("nonsense://x", "Apprise does not recognise this URL"),
    ],
)
def test_a_refused_url_is_a_form_error(client, audience_manager, url, reason):
    client.force_login(audience_manager)
    response = client.post(reverse("channels:add"), form(url=url))
    assert response.status_code == 200
    assert reason in " ".join(response.context["form"].errors["url"])
    assert not Channel.objects.exists()


def test_a_signed_webhook_secret_is_shown_once(client, audience_manager, receiver):
    client.force_login(audience_manager)
    response = client.post(
        reverse("channels:add"), form(name="EOC", kind="webhook", url=receiver.url("/agency")), follow=True
    )
    channel = Channel.objects.get()
    assert channel.kind == "webhook" and channel.secret
    assert channel.secret in response.content.decode()
    assert channel.secret not in client.get(reverse("channels:inspect", args=[channel.pk])).content.decode()
    assert channel.secret not in client.get(reverse("channels:index")).content.decode()


def test_send_a_test_pause_and_see_the_last_deliveries(client, audience_manager, receiver, make_channel):
    channel = make_channel("Ops", f"json://127.0.0.1:{receiver.port}/hook")
    client.force_login(audience_manager)
    page = client.post(reverse("channels:test", args=[channel.pk]), follow=True).content.decode()
    assert "Test message delivered to “Ops”." in page
    assert json.loads(receiver.hits("/hook")[0].body)["title"] == "Test alert from Watchdesk"
    assert 'data-status="sent"' in page

    receiver.routes["/hook"] = Reply(500)
    page = client.post(reverse("channels:test", args=[channel.pk]), follow=True).content.decode()
    assert "was not delivered" in page and 'data-status="pending"' in page

    client.post(reverse("channels:pause", args=[channel.pk]))
    channel.refresh_from_db()
    assert channel.paused
    assert "Resume" in client.get(reverse("channels:inspect", args=[channel.pk])).content.decode()
    client.post(reverse("channels:pause", args=[channel.pk]))
    channel.refresh_from_db()
    assert not channel.paused
    assert ChannelDelivery.objects.filter(channel=channel).count() == 2


def test_only_audience_managers_manage_channels(client, editor, outsider, make_channel):
    channel = make_channel("Ops")
    for person in (editor, outsider):
        client.force_login(person)
        for name in ("index", "add"):
            response = client.get(reverse(f"channels:{name}"))
            assert response.status_code in (302, 403), (person, name)
        assert client.post(reverse("channels:test", args=[channel.pk])).status_code in (302, 403)
        assert client.post(reverse("channels:pause", args=[channel.pk])).status_code in (302, 403)
    assert not ChannelDelivery.objects.exists()
    assert not Channel.objects.get().paused
