"""An editor's own alert channel: added, tested and removed by the editor under Account > Notifications;
it gets the editor alerts that editor gets, only while they are on duty, and nothing else."""

import json
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from watchdesk.delivery import broadcasts, channel_sender, channels
from watchdesk.delivery.models import Broadcast, Channel, ChannelDelivery
from watchdesk.delivery.own_channels import OwnChannelForm
from watchdesk.delivery.tests.test_channel_admin import form
from watchdesk.delivery.tests.test_channel_sending import bodies, stand_in_alert
from watchdesk.wire.models import DeskAlertPreference

pytestmark = pytest.mark.django_db


def on_duty(user, duty=True):
    DeskAlertPreference.objects.update_or_create(user=user, defaults={"on_duty": duty})


def own(user, receiver, path="/hook", name=None):
    return Channel.objects.create(
        name=name or f"{user.username}: phone",
        url=f"json://127.0.0.1:{receiver.port}{path}",
        purpose=Channel.Purpose.EDITORS,
        owner=user,
    )


def test_an_own_channel_gets_its_editors_alerts_only_while_they_are_on_duty(
    receiver, make_channel, editor, moderator
):
    make_channel("Desk", f"json://127.0.0.1:{receiver.port}/other", purpose="editors")
    erin, morgan = own(editor, receiver), own(moderator, receiver, "/agency")
    on_duty(editor)
    on_duty(moderator, False)

    channels.record_story_alert(stand_in_alert(41))
    assert set(ChannelDelivery.objects.values_list("channel__name", flat=True)) == {"Desk", erin.name}
    assert channel_sender.send_pending() == {"sent": 2}
    assert [body["title"] for body in bodies(receiver)] == ["Breaking: Gunfire reported at the mall"]
    assert receiver.hits("/agency") == []

    on_duty(editor, False)
    on_duty(moderator)
    channels.record_story_alert(stand_in_alert(42))
    assert set(ChannelDelivery.objects.filter(key="alert:42").values_list("channel", flat=True)) == {
        Channel.objects.get(name="Desk").pk,
        morgan.pk,
    }


def test_an_editor_who_goes_off_duty_before_the_send_is_skipped(receiver, editor):
    channel = own(editor, receiver)
    on_duty(editor)
    channels.record_story_alert(stand_in_alert())
    on_duty(editor, False)
    assert channel_sender.send_pending() == {"skipped": 1}
    assert receiver.requests == []
    assert ChannelDelivery.objects.get(channel=channel).status == "skipped"


def test_an_editor_who_can_no_longer_use_the_inbox_gets_nothing(receiver, editor):
    own(editor, receiver)
    on_duty(editor)
    editor.groups.clear()
    assert channels.record_story_alert(stand_in_alert()) == 0


def test_an_own_channel_never_gets_posts_for_readers(receiver, editor, make_post):
    own(editor, receiver)
    on_duty(editor)
    make_post("Boil-water notice")
    broadcasts.fan_out_broadcast(Broadcast.objects.get())
    assert not ChannelDelivery.objects.exists()


def test_the_form_applies_the_network_policy_and_never_repeats_the_url(editor, settings):
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = []
    form = OwnChannelForm({"url": "json://127.0.0.1/hooks/s3cr3t-path"}, user=editor)
    assert not form.is_valid()
    assert "loopback" in form.errors["url"][0]
    assert "s3cr3t" not in str(form.errors)

    form = OwnChannelForm({"url": "watchdesk+https://hooks.example.org/x"}, user=editor)
    assert not form.is_valid()
    assert "Audience manager" in form.errors["url"][0]

    assert OwnChannelForm({"url": ""}, user=editor).is_valid()  # saving other settings adds nothing
    assert not Channel.objects.exists()


def test_the_form_adds_an_editors_channel_with_a_name_of_its_own(receiver, editor):
    Channel.objects.create(name="erin: Slack", url="json://hooks.example.org/x")
    form = OwnChannelForm(
        {"label": "Slack", "url": f"json://127.0.0.1:{receiver.port}/hook/tok3n"}, user=editor
    )
    assert form.is_valid(), form.errors
    channel = form.save()
    assert (channel.name, channel.owner, channel.purpose, channel.kind) == (
        "erin: Slack (2)",
        editor,
        "editors",
        "apprise",
    )


def test_the_settings_screen_lists_own_channels_masked(client, editor, receiver):
    channel = own(editor, receiver, "/hook/tok3n-secret")
    client.force_login(editor)
    page = client.get(reverse("wagtailadmin_account")).content.decode()
    assert "My alert channels" in page
    assert channels.mask_url(channel.url) in page
    assert "tok3n-secret" not in page
    assert reverse("own_channel_test", args=[channel.pk]) in page


def test_only_its_editor_may_test_or_remove_an_own_channel(client, editor, moderator, receiver):
    channel = own(editor, receiver)
    client.force_login(moderator)
    for name in ("own_channel_test", "own_channel_remove"):
        assert client.post(reverse(name, args=[channel.pk])).status_code == 404
    assert receiver.requests == [] and Channel.objects.filter(pk=channel.pk).exists()

    client.force_login(editor)
    answer = client.post(reverse("own_channel_test", args=[channel.pk]), follow=True)
    assert "Test message delivered" in answer.content.decode()
    assert bodies(receiver)[0]["title"] == "Test alert from Watchdesk"
    assert client.get(reverse("own_channel_remove", args=[channel.pk])).status_code == 405
    answer = client.post(reverse("own_channel_remove", args=[channel.pk]), follow=True)
    assert "removed" in answer.content.decode()
    assert not Channel.objects.filter(pk=channel.pk).exists()


def test_channels_list_shows_owners(receiver, editor, make_channel):
    own(editor, receiver)
    make_channel("Desk", "json://hooks.example.org/hook", purpose="editors")
    out = StringIO()
    call_command("channels", "list", "--json", stdout=out)
    assert {row["name"]: row["owner"] for row in json.loads(out.getvalue())} == {
        "Desk": None,
        "erin: phone": "erin",
    }
    out = StringIO()
    call_command("channels", "list", stdout=out)
    assert "the desk" in out.getvalue() and "erin" in out.getvalue()


@pytest.mark.parametrize("editors", [1, 4])
def test_alerting_own_channels_costs_a_fixed_number_of_queries(
    receiver, django_user_model, django_assert_num_queries, editors
):
    for n in range(editors):
        user = django_user_model.objects.create_user(f"editor{n}", f"e{n}@example.org", "x")
        user.groups.add(Group.objects.get(name="Editors"))
        own(user, receiver)
        on_duty(user)
    # One to find the channels (on-duty editors who may use the inbox, in a subquery), one INSERT.
    with django_assert_num_queries(2):
        assert channels.record_story_alert(stand_in_alert()) == editors
    # 3 to claim; 1 to check their editors are still on duty; 1 per message marked sent; 1 to find no more.
    with django_assert_num_queries(3 + 1 + editors + 1):
        assert channel_sender.send_pending() == {"sent": editors}


def test_audience_managers_see_the_owner_and_cannot_turn_it_into_a_readers_channel(
    client, audience_manager, editor, receiver
):
    channel = own(editor, receiver)
    client.force_login(audience_manager)
    listing = client.get(reverse("channels:index")).content.decode()
    assert "Owner" in listing and "erin" in listing
    answer = client.post(reverse("channels:edit", args=[channel.pk]), form(name=channel.name))
    assert "erin&#x27;s own channel: it sends editor alerts" in answer.content.decode()
    channel.refresh_from_db()
    assert channel.purpose == "editors"
