"""The e-mail screens of the Wagtail admin: what became of each post's e-mail and of each digest, the
suppressed addresses, the events providers reported, and the post editor's "e-mail me a test".

Reports need the view permission on broadcasts or digests; subscribers' addresses appear in them only
for users who may see addresses (``subscriptions.view_subscriber_addresses``), others see a number.
"""

import re
from collections import defaultdict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.text import Truncator
from django.views.generic import View
from wagtail.admin import messages
from wagtail.admin.action_menu import ActionMenuItem
from wagtail.admin.forms.models import WagtailAdminModelForm
from wagtail.admin.ui.tables import Column, NumberColumn
from wagtail.admin.views import generic
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin

from watchdesk.delivery.messages import PostFrame
from watchdesk.delivery.models import Broadcast, Delivery
from watchdesk.delivery.tasks import wake_sender
from watchdesk.delivery.transport import PermanentError, TransientError, open_transport
from watchdesk.posts.models import StoryPost
from watchdesk.subscriptions.models import Subscriber, Suppression, mask_email, normalise_email

ADDRESSES = "subscriptions.view_subscriber_addresses"
SHOWN_PROBLEMS = 200


# Reports -------------------------------------------------------------------------------------------
def attach_counts(items, field):
    """Give each broadcast or digest in ``items`` a ``counts`` dict of its deliveries by status, in one
    query for them all."""
    found = defaultdict(dict)
    rows = (
        Delivery.objects.filter(**{f"{field}__in": items})
        .values_list(field, "status")
        .annotate(n=Count("pk"))
    )
    for source_id, status, number in rows:
        found[source_id][status] = number
    for item in items:
        item.counts = {status: found[item.pk].get(status, 0) for status in Delivery.Status.values}


def broadcast_kind_column():
    return Column(
        "kind",
        label="What",
        accessor=lambda broadcast: f"Update: {broadcast.text}" if broadcast.is_update else "The post",
    )


def count_columns():
    def count(*statuses):
        return lambda item: sum(item.counts[status] for status in statuses)

    return [
        NumberColumn("sent", label="Sent", accessor=count("sent")),
        NumberColumn("waiting", label="Waiting", accessor=count("pending", "sending")),
        NumberColumn("failed", label="Failed", accessor=count("failed")),
        NumberColumn("bounced", label="Bounced", accessor=count("bounced")),
        NumberColumn("skipped", label="Skipped", accessor=count("skipped")),
    ]


class LedgerIndexView(generic.IndexView):
    """Broadcasts or digests, each with its deliveries counted by status (only the rows on the page)."""

    source_field = None

    def paginate_queryset(self, queryset, page_size):
        paginator, page, object_list, is_paginated = super().paginate_queryset(queryset, page_size)
        object_list = list(object_list)
        attach_counts(object_list, self.source_field)
        return paginator, page, object_list, is_paginated


class BroadcastIndexView(LedgerIndexView):
    source_field = "broadcast"
    page_title = "Post e-mails"

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("post")


class DigestIndexView(LedgerIndexView):
    source_field = "digest"


class LedgerReportView(generic.InspectView):
    """One broadcast's or digest's deliveries: counts, why rows were skipped, and the rows that failed,
    bounced or are waiting to be tried again, with their errors."""

    template_name = "delivery/admin/report.html"
    source_field = None
    retry_url_name = None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        deliveries = Delivery.objects.filter(**{self.source_field: self.object})
        counts = deliveries.report()
        problems = deliveries.filter(
            Q(status__in=[Delivery.Status.FAILED, Delivery.Status.BOUNCED])
            | Q(status=Delivery.Status.PENDING, attempts__gt=0)
        ).order_by("status", "-pk")
        user = self.request.user
        context.update(
            source=self.object,
            counts=[(label, counts[value], value) for value, label in Delivery.Status.choices],
            total=sum(counts.values()),
            skipped_reasons=deliveries.filter(status=Delivery.Status.SKIPPED)
            .values_list("error")
            .annotate(n=Count("pk"))
            .order_by("-n"),
            problems=problems.select_related("subscriber")[:SHOWN_PROBLEMS],
            problem_count=problems.count(),
            show_addresses=user.has_perm(ADDRESSES),
            retry_url=reverse(self.retry_url_name, args=[self.object.pk])
            if counts["failed"] and user.has_perm("delivery.change_delivery")
            else None,
        )
        return context


class BroadcastReportView(LedgerReportView):
    source_field = "broadcast"
    retry_url_name = "email_posts:retry"

    def get_object(self, queryset=None):
        return get_object_or_404(Broadcast.objects.select_related("post"), pk=self.pk)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["post"] = self.object.post
        context["post_edit_url"] = reverse("wagtailadmin_pages:edit", args=[self.object.post_id])
        return context


class DigestReportView(LedgerReportView):
    source_field = "digest"
    retry_url_name = "email_digests:retry"


class PostReportView(PermissionCheckedMixin, View):
    """The e-mail report of a post, from the post's menus: its broadcast's report, if it was e-mailed."""

    model = Broadcast
    permission_required = "view"

    def get(self, request, page_id):
        post = get_object_or_404(StoryPost, pk=page_id)
        broadcast = Broadcast.objects.filter(post=post, kind=Broadcast.Kind.POST).first()
        if broadcast is None:
            why = (
                "it is not published"
                if not post.live
                else "“E-mail subscribers” was off when it was published"
            )
            messages.warning(request, f"“{post.title}” has not been e-mailed: {why}.")
            return redirect("email_posts:index")
        return redirect("email_posts:inspect", broadcast.pk)


class RetryFailedView(PermissionCheckedMixin, View):
    """Give the failed deliveries of a broadcast or digest another round of attempts (after the mail
    server has been fixed, say). Bounced ones stay bounced: the address refused."""

    model = Delivery
    permission_required = "change"
    http_method_names = ["post"]
    source_model = None

    def post(self, request, pk):
        source = get_object_or_404(self.source_model, pk=pk)
        field = "broadcast" if self.source_model is Broadcast else "digest"
        retried = Delivery.objects.filter(**{field: source}, status=Delivery.Status.FAILED).update(
            status=Delivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        if retried:
            transaction.on_commit(wake_sender)
        messages.success(
            request, f"{retried} failed e-mail{'s' if retried != 1 else ''} queued to be tried again."
        )
        return redirect(f"email_{'posts' if field == 'broadcast' else 'digests'}:inspect", source.pk)


# Suppressions and events ---------------------------------------------------------------------------
_address = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def mask_addresses(text):
    """``text`` (a bounce's detail, say) with every address in it masked."""
    return _address.sub(lambda found: mask_email(found.group()), text or "")


class AddressesMasked:
    """For an index of addresses (suppressions, provider events): users who may not see addresses get them
    masked, in the address and the detail columns alike, cannot search by address (that would tell
    them whether it is listed), and get no link to a single row."""

    @cached_property
    def sees_addresses(self):
        return self.request.user.has_perm(ADDRESSES)

    @cached_property
    def is_searchable(self):
        return self.sees_addresses and super().is_searchable

    @cached_property
    def columns(self):
        columns = super().columns
        if self.sees_addresses:
            return columns
        masked = {
            "email": lambda row: mask_email(row.email),
            "detail": lambda row: Truncator(mask_addresses(row.detail)).chars(90),
        }
        return [
            Column(column.name, label=column.label, accessor=masked[column.name])
            if column.name in masked
            else column
            for column in columns
        ]


class NeedsAddresses:
    """A view of one address (inspect, lift, history): only for users who may see addresses."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(ADDRESSES):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class AddressInspectView(NeedsAddresses, generic.InspectView):
    pass


class AddressHistoryView(NeedsAddresses, generic.HistoryView):
    pass


class MailEventIndexView(AddressesMasked, generic.IndexView):
    pass


class SuppressionForm(WagtailAdminModelForm):
    class Meta:
        model = Suppression
        fields = ["email", "detail"]
        labels = {"email": "E-mail address", "detail": "Why"}
        help_texts = {
            "email": "Nothing is sent to this address, whatever its subscription says, until lifted."
        }

    def clean_email(self):
        email = normalise_email(self.cleaned_data["email"])
        if Suppression.objects.filter(email=email).exists():
            raise ValidationError("This address is already suppressed.")
        return email


class SuppressionIndexView(AddressesMasked, generic.IndexView):
    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        for button in buttons:
            if button.icon_name == "bin":
                button.label = "Lift"
        return buttons


class SuppressionCreateView(generic.CreateView):
    page_title = "Suppress an address"
    success_message = "Suppressed %(object)s: nothing more is sent to it."

    def get_success_buttons(self):
        return []  # there is no edit view to offer

    def save_instance(self):
        self.form.instance.reason = Suppression.Reason.MANUAL
        return super().save_instance()


class LiftSuppressionView(NeedsAddresses, generic.DeleteView):
    page_title = "Lift suppression"
    template_name = "delivery/admin/lift_suppression.html"
    success_message = "Lifted the suppression of %(object)s: it gets what its subscription says again."

    @property
    def confirmation_message(self):
        return (
            f"Lift the suppression of {self.object} ({self.object.get_reason_display().lower()})? "
            "If it belongs to a confirmed subscriber, e-mail to it resumes."
        )


def detail_column():
    return Column("detail", label="Detail", accessor=lambda row: Truncator(row.detail).chars(90))


# "E-mail me a test" --------------------------------------------------------------------------------
class SendTestEmailMenuItem(ActionMenuItem):
    """In the post editor's action menu: save the draft, then e-mail the post as subscribers would get
    it to the editor's own address (see ``send_test_email``)."""

    name = "action-send-test-email"
    label = "Save draft and e-mail me a test"
    icon_name = "mail"
    template_name = "delivery/admin/send_test_menu_item.html"

    def is_shown(self, context):
        return (
            context["view"] == "edit"
            and not context["locked_for_user"]
            and isinstance(context.get("page"), StoryPost)
        )

    def get_context_data(self, parent_context):
        context = super().get_context_data(parent_context)
        context["user_email"] = parent_context["request"].user.email
        return context


def send_test_email(request, page):
    """Send the latest revision of ``page`` to the requesting user, now, and say how it went."""
    address = request.user.email
    if not address:
        messages.error(request, "No test was sent: your account has no e-mail address (Account → Profile).")
        return False
    post = page.get_latest_revision_as_object()
    # An unsaved reader: the links in a test lead nowhere, and nobody is added to the list.
    outgoing = PostFrame(post).for_subscriber(Subscriber(email=address, name=request.user.get_full_name()))
    outgoing.subject = f"[Test] {outgoing.subject}"
    transport = open_transport()
    try:
        transport.send(outgoing)
    except (TransientError, PermanentError) as exc:
        messages.error(request, f"The test e-mail to {address} could not be sent: {exc}")
        return False
    finally:
        transport.close()
    messages.success(request, f"A test e-mail of “{post.title}” was sent to {address}.")
    return True
