"""The "Channels" screens of the Wagtail admin (Audience managers): list, add, edit, pause or resume, send a
test, and each channel's last deliveries with their errors. URLs are shown masked once saved; editing
with the URL left blank keeps the saved one; a signed webhook's secret is shown once, when it is made."""

from django import forms
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import View
from wagtail.admin import messages
from wagtail.admin.forms.models import WagtailAdminModelForm
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin

from watchdesk.delivery import channel_sender, channels
from watchdesk.delivery.models import Channel, ChannelDelivery
from watchdesk.subscriptions.admin_views import RegionsField
from watchdesk.subscriptions.scope import scope_words

RECENT = 25

URL_HELP = (
    "An Apprise URL for a service: Slack (slack://…), Microsoft Teams (workflows://…), ntfy (ntfys://…), "
    "Gotify, Discord, Telegram, Pushover, SMS gateways, or a generic json:// / form:// webhook. For a signed "
    "webhook, an https:// address of the agency's system. Addresses on private networks are refused unless "
    "the operator opened them (WATCHDESK_FETCH_ALLOWED_NETWORKS). Credentials in it are never shown again."
)


def scope_of(channel):
    if channel.everything:
        return "Everything"
    return scope_words(list(channel.topics.all()), list(channel.regions.all()))


class ChannelForm(WagtailAdminModelForm):
    url = forms.CharField(label="URL", max_length=2000, required=False, help_text=URL_HELP)
    regions = RegionsField()

    class Meta:
        model = Channel
        fields = ["name", "kind", "url", "purpose", "cadence", "everything", "topics", "regions", "paused"]
        widgets = {"topics": forms.CheckboxSelectMultiple}
        labels = {"everything": "All topics and places", "purpose": "Sends", "paused": "Paused"}
        help_texts = {
            "kind": "A signed webhook gets a JSON body with an HMAC signature (docs/agencies.md); "
            "its signing secret is shown once, after saving.",
            "purpose": "Published posts (scoped by topic and place below), or the wire's editor alerts.",
            "cadence": "A daily digest lists the day's posts in one message each morning.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The saved URL never goes back to the browser: only its masked form, as a reminder.
            self.initial["url"] = ""
            self.fields[
                "url"
            ].help_text = f"Saved: {channels.mask_url(self.instance.url)}. Leave blank to keep it. {URL_HELP}"
            self.fields["kind"].disabled = True

    def clean(self):
        data = super().clean()
        kind = data.get("kind") or self.instance.kind
        url = (data.get("url") or "").strip()
        if not url and self.instance.pk:
            data["url"] = self.instance.url
        else:
            kind, url = channels.split_kind(url) if kind == Channel.Kind.APPRISE else (kind, url)
            problem = channels.url_problem(kind, url)
            if problem:
                self.add_error("url", problem)
            data["kind"], data["url"] = kind, url
        if self.instance.owner_id and data.get("purpose") != Channel.Purpose.EDITORS:
            self.add_error("purpose", f"This is {self.instance.owner}'s own channel: it sends editor alerts.")
        chosen = data.get("topics") or data.get("regions")
        if data.get("everything") and chosen:
            self.add_error("everything", "Untick this to send only the chosen topics and places.")
        elif not data.get("everything") and not chosen and data.get("purpose") == Channel.Purpose.READERS:
            self.add_error("topics", "Choose at least one topic or place, or tick “All topics and places”.")
        return data

    def save(self, commit=True):
        channel = super().save(commit=False)
        channel.url = self.cleaned_data["url"]
        channel.kind = self.cleaned_data["kind"]
        if channel.kind == Channel.Kind.WEBHOOK and not channel.secret:
            channel.secret = channels.new_secret()
        if commit:
            channel.save()
            self.save_m2m()
        return channel


class ChannelIndexView(generic.IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("owner").prefetch_related("topics", "regions")


def columns():
    def last(channel):
        row = channel.deliveries.order_by("-created_at").first()
        if row is None:
            return "none yet"
        return f"{row.get_status_display()}, {row.created_at:%d %b %H:%M}"

    return [
        Column("url", label="URL", accessor=lambda channel: channels.mask_url(channel.url)),
        Column("purpose", label="Sends", accessor="get_purpose_display"),
        Column("scope", label="Scope", accessor=scope_of),
        Column("owner", label="Owner", accessor=lambda channel: channel.owner or "—"),
        Column("cadence", label="When", accessor="get_cadence_display"),
        Column("paused", label="State", accessor=lambda channel: "Paused" if channel.paused else "Active"),
        Column("last", label="Last delivery", accessor=last),
    ]


class ChannelCreateView(generic.CreateView):
    def save_instance(self):
        channel = super().save_instance()
        if channel.secret:
            messages.warning(
                self.request,
                f"Signing secret for “{channel.name}”, shown only now; put it in the receiving system: "
                f"{channel.secret}",
            )
        return channel


class ChannelInspectView(generic.InspectView):
    template_name = "delivery/admin/channel.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        channel = self.object
        can_change = self.request.user.has_perm("delivery.change_channel")
        context.update(
            channel=channel,
            masked_url=channels.mask_url(channel.url),
            scope=scope_of(channel),
            deliveries=channel.deliveries.select_related("broadcast__post").order_by("-created_at")[:RECENT],
            can_change=can_change,
        )
        return context


class ChannelActionView(PermissionCheckedMixin, View):
    model = Channel
    permission_required = "change"
    http_method_names = ["post"]

    def post(self, request, pk):
        channel = get_object_or_404(Channel, pk=pk)
        self.act(request, channel)
        return redirect("channels:inspect", channel.pk)


class SendTestView(ChannelActionView):
    """One click: a test message through the ledger, the policy check and the real service; the outcome
    is shown at once."""

    def act(self, request, channel):
        row = channel_sender.send_test(channel)
        if row.status == ChannelDelivery.Status.SENT:
            messages.success(request, f"Test message delivered to “{channel.name}”.")
        else:
            messages.error(request, f"The test to “{channel.name}” was not delivered: {row.error}")


class PauseView(ChannelActionView):
    def act(self, request, channel):
        channel.paused = not channel.paused
        channel.save(update_fields=["paused"])
        state = "paused: nothing is sent to it" if channel.paused else "resumed"
        messages.success(request, f"“{channel.name}” is {state}.")
