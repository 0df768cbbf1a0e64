"""An editor's own alert channel: their Slack, Teams or ntfy, added, tested and removed by the editor
under Account > Notifications, beside "Editor alerts". It receives the editor alerts that editor gets,
only while they are on duty (``channels.editor_alert_channels``), never posts for readers. How editors
use it: docs/agencies.md ("An editor's own channel").
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views import View
from wagtail.admin.views.account import BaseSettingsPanel, notifications_tab

from watchdesk.delivery import channel_sender, channels
from watchdesk.delivery.models import Channel
from watchdesk.wire.alerts import INBOX_PERMISSION


def unique_name(user, label):
    """Channel names are unique site-wide: "erin: My Slack", then "erin: My Slack (2)"..."""
    base = f"{user.get_username()}: {label or 'my channel'}"[:90]
    name, number = base, 1
    while Channel.objects.filter(name=name).exists():
        number += 1
        name = f"{base} ({number})"
    return name


class OwnChannelForm(forms.Form):
    label = forms.CharField(
        label="Name", max_length=60, required=False, help_text="So you can tell your channels apart."
    )
    url = forms.CharField(
        label="Add a channel",
        max_length=2000,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="An Apprise URL: slack://…, workflows://… (Teams), ntfys://host/topic, json://… "
        "It is shown masked once saved.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        if not url:
            return ""
        kind, url = channels.split_kind(url)
        if kind != Channel.Kind.APPRISE:
            raise ValidationError(
                "Signed webhooks are for agency systems: ask an Audience manager to add one.", code="kind"
            )
        channels.validate_channel_url(kind, url)  # the network policy, as for every channel
        return url

    def save(self):
        url = self.cleaned_data.get("url")
        if not url:
            return None
        return Channel.objects.create(
            name=unique_name(self.user, self.cleaned_data.get("label", "").strip()),
            kind=Channel.Kind.APPRISE,
            url=url,
            purpose=Channel.Purpose.EDITORS,
            owner=self.user,
        )


class OwnChannelsPanel(BaseSettingsPanel):
    name = "own_channels"
    title = "My alert channels"
    help_text = "Editor alerts in your own Slack, Teams or push app, while you are on duty."
    tab = notifications_tab
    order = 210  # right after "Editor alerts"
    template_name = "delivery/account/own_channels.html"
    form_class = OwnChannelForm

    def is_active(self):
        return self.user.has_perm(INBOX_PERMISSION)

    def get_form(self):
        data = (self.request.POST,) if self.request.method == "POST" else ()
        return self.form_class(*data, user=self.user, prefix=self.name)

    def get_context_data(self):
        owned = list(self.user.alert_channels.order_by("created_at", "pk"))
        last = {}
        for row in channels.ChannelDelivery.objects.filter(channel__in=owned).order_by("created_at", "pk"):
            last[row.channel_id] = row
        return {
            "form": self.get_form(),
            "channels": [
                {"channel": channel, "masked": channels.mask_url(channel.url), "last": last.get(channel.pk)}
                for channel in owned
            ],
        }


def back_to_settings():
    return redirect(reverse("wagtailadmin_account") + "#notifications")


class OwnChannelView(View):
    """POST only, and only the channel's own editor: anyone else gets a 404."""

    http_method_names = ["post"]

    def post(self, request, pk):
        channel = get_object_or_404(Channel, pk=pk, owner=request.user)
        self.act(request, channel)
        return back_to_settings()


class SendOwnTestView(OwnChannelView):
    def act(self, request, channel):
        row = channel_sender.send_test(channel)
        if row.status == row.Status.SENT:
            messages.success(request, f"Test message delivered to “{channel.name}”.")
        else:
            messages.error(request, f"The test to “{channel.name}” was not delivered: {row.error}")


class RemoveOwnView(OwnChannelView):
    def act(self, request, channel):
        channel.delete()
        messages.success(request, f"“{channel.name}” removed: it gets no more alerts.")


urlpatterns = [
    path("my-channels/<int:pk>/test/", SendOwnTestView.as_view(), name="own_channel_test"),
    path("my-channels/<int:pk>/remove/", RemoveOwnView.as_view(), name="own_channel_remove"),
]
