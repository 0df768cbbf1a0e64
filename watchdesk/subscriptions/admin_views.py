"""The subscriber screens of the Wagtail admin: list, add, edit and inspect; the overview with its chart;
CSV export and import; resending a confirmation.

Addresses are personal data, so every screen goes through ``SubscriberPermissionPolicy``: besides the
usual add/change/delete/view permission, a user needs ``subscriptions.view_subscriber_addresses``.
Nobody can mark a reader confirmed from here: an address added by staff or by import is pending until
its owner clicks the link in the confirmation e-mail, exactly like one typed into the public form.
"""

import logging
from datetime import timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.generic import TemplateView, View
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.forms.models import WagtailAdminModelForm
from wagtail.admin.ui.tables import StatusTagColumn
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.widgets.button import Button
from wagtail.permission_policies import ModelPermissionPolicy

from watchdesk.subscriptions import csvio, growth
from watchdesk.subscriptions.models import (
    Cadence,
    Reply,
    Subscriber,
    SubscriptionSettings,
    Suppression,
    normalise_email,
    request_replies,
)
from watchdesk.subscriptions.schedule import zone_choices
from watchdesk.taxonomy.models import Region, Topic

logger = logging.getLogger(__name__)
ANY = ["add", "change", "delete", "view"]


class SubscriberPermissionPolicy(ModelPermissionPolicy):
    """Model permissions, each of which also requires permission to see subscribers' addresses."""

    ADDRESSES = "view_subscriber_addresses"

    def user_has_permission(self, user, action):
        return user.has_perm(f"subscriptions.{self.ADDRESSES}") and super().user_has_permission(user, action)

    def users_with_any_permission(self, actions):
        allowed = self._get_users_with_any_permission_codenames({self.ADDRESSES})
        return super().users_with_any_permission(actions).filter(pk__in=allowed.values("pk"))


# Forms ---------------------------------------------------------------------------------------------
class RegionsField(forms.CharField):
    """Regions typed as slugs or codes ("california, los-angeles-ca, US-TX"): a list of thousands of
    places does not fit a select box."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            "Places by the last part of their address on the site (california for /regions/california/) "
            "or by code (US-CA), separated by commas. A region includes everything inside it. With topics "
            "as well, a post must match one of the topics and one of the regions.",
        )
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, str) or value is None:
            return value or ""
        return ", ".join(region.slug for region in value)

    def clean(self, value):
        names = csvio.split_list(super().clean(value))
        regions, unknown = csvio.Vocabulary(names).find_regions(names)
        if unknown:
            raise ValidationError("No such region: " + ", ".join(unknown))
        return regions


TIMING = ["time_zone", "digest_hour", "weekly_digest_day"]
DETAILS = [
    "name",
    "cadence",
    "urgent_at_once",
    "time_zone",
    "digest_hour",
    "weekly_digest_day",
    "everything",
    "topics",
    "regions",
]


class SubscriberForm(WagtailAdminModelForm):
    regions = RegionsField()

    class Meta:
        model = Subscriber
        fields = [*DETAILS, "paused"]
        widgets = {"topics": forms.CheckboxSelectMultiple, "time_zone": forms.Select(choices=zone_choices)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Left out or blank, the digest schedule stays as it is (a new reader's: the site's defaults).
        for name in TIMING:
            self.fields[name].required = False

    def clean(self):
        data = super().clean()
        for name in TIMING:
            if data.get(name) in (None, ""):
                data[name] = self.initial.get(name, getattr(self.instance, name))
        chosen = data.get("topics") or data.get("regions")
        if data.get("everything") and chosen:
            self.add_error("everything", "Untick this to send only the chosen topics and regions.")
        elif not data.get("everything") and not chosen and not self.errors:
            self.add_error("topics", "Choose at least one topic or region, or tick “all topics and regions”.")
        return data


class NewSubscriberForm(SubscriberForm):
    class Meta(SubscriberForm.Meta):
        fields = ["email", *DETAILS]
        help_texts = {
            "email": "They are sent a confirmation e-mail and receive nothing else until they click it."
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        options = SubscriptionSettings.load()
        # Shown, and used for whatever the submission leaves out (the model's defaults are not the site's).
        self.initial.update(options.reader_defaults())
        if not self.is_bound:
            self.initial.setdefault("cadence", options.default_cadence)

    def clean_email(self):
        email = normalise_email(self.cleaned_data["email"])
        existing = Subscriber.objects.filter(email=email).first()
        if existing:
            raise ValidationError(
                f"This address is already on the list ({existing.get_status_display().lower()})."
            )
        suppression = Suppression.objects.filter(email=email).first()
        if suppression:
            raise ValidationError(
                f"This address is suppressed ({suppression.get_reason_display().lower()}); "
                "lift the suppression under E-mail → Suppressed addresses first."
            )
        return email


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 CSV with a header row: email, and optionally name, topics, regions, cadence.",
    )
    dry_run = forms.BooleanField(
        label="Only check the file", required=False, help_text="Report what would happen; add nobody."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 5 * 1024 * 1024:
            raise ValidationError("The file is larger than 5 MB; split it.")
        return upload


# Listing -------------------------------------------------------------------------------------------
def radio(choices):
    return django_filters.ChoiceFilter(choices=choices, widget=forms.RadioSelect, empty_label="All")


class SubscriberFilterSet(WagtailFilterSet):
    status = radio(Subscriber.Status.choices)
    cadence = radio(Cadence.choices)
    topic = django_filters.ModelChoiceFilter(field_name="topics", queryset=Topic.objects.all(), label="Topic")
    region = django_filters.ModelChoiceFilter(
        field_name="regions",
        label="Region",
        # Only the places somebody chose: the gazetteer has thousands.
        queryset=lambda request: (
            Region.objects.filter(subscribers__isnull=False).select_related("parent").distinct()
        ),
    )
    suppressed = django_filters.BooleanFilter(method="filter_suppressed", label="Suppressed")
    source = radio(Subscriber.Source.choices)

    class Meta:
        model = Subscriber
        fields = ["status", "cadence", "topic", "region", "paused", "suppressed", "source"]

    def filter_suppressed(self, queryset, name, value):
        suppressed = Exists(Suppression.objects.filter(email=OuterRef("email")))
        return queryset.filter(suppressed if value else ~suppressed)


def filtered_subscribers(request):
    """The subscribers the list shows for ``request``'s filters and search (what the export exports)."""
    queryset = SubscriberFilterSet(request.GET, Subscriber.objects.all(), request=request).qs
    if query := request.GET.get("q", "").strip():
        queryset = queryset.filter(Q(email__icontains=query) | Q(name__icontains=query))
    return queryset


class StatusColumn(StatusTagColumn):
    def __init__(self):
        super().__init__("status", label="Status", sort_key="status", primary=self.receiving)

    @staticmethod
    def receiving(subscriber):
        return (
            subscriber.status == Subscriber.Status.CONFIRMED
            and not subscriber.paused
            and not subscriber.suppressed
        )

    def get_value(self, subscriber):
        notes = [subscriber.get_status_display()]
        notes += ["paused"] if subscriber.paused else []
        notes += ["suppressed"] if subscriber.suppressed else []
        return ", ".join(notes)


class SubscriberIndexView(generic.IndexView):
    def get_base_queryset(self):
        return (
            super()
            .get_base_queryset()
            .prefetch_related("topics", "regions__parent")
            .annotate(suppressed=Exists(Suppression.objects.filter(email=OuterRef("email"))))
        )

    @cached_property
    def header_more_buttons(self):
        query = self.request.GET.copy()
        for key in ("p", "_w_filter_fragment"):
            query.pop(key, None)
        export_url = reverse("subscribers:export") + (f"?{query.urlencode()}" if query else "")
        buttons = [
            *super().header_more_buttons,
            Button("Overview and growth", url=reverse("subscribers:overview"), icon_name="view", priority=10),
            Button("Export these as CSV", url=export_url, icon_name="download", priority=30),
        ]
        if self.user_has_permission("add"):
            buttons.append(
                Button("Import CSV", url=reverse("subscribers:import"), icon_name="upload", priority=20)
            )
        return buttons


# Add, edit, inspect --------------------------------------------------------------------------------
class SubscriberCreateView(generic.CreateView):
    success_message = "Added %(object)s as pending: a confirmation e-mail is on its way."

    def save_instance(self):
        self.form.instance.status = Subscriber.Status.PENDING
        self.form.instance.source = Subscriber.Source.ADMIN
        subscriber = super().save_instance()
        request_replies([subscriber], Reply.CONFIRM)
        return subscriber


class SubscriberEditView(generic.EditView):
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["suppression"] = Suppression.objects.filter(email=self.object.email).first()
        context["resend_url"] = reverse("subscribers:resend", args=[self.object.pk])
        return context


class SubscriberInspectView(generic.InspectView):
    LABELS = {"scope_summary": "Receives", "everything": "All topics and regions"}

    def get_field_label(self, field_name, field):
        return self.LABELS.get(field_name) or super().get_field_label(field_name, field)

    def get_scope_summary_display_value(self):
        return self.object.scope_summary()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["suppression"] = Suppression.objects.filter(email=self.object.email).first()
        # Apps that send to subscribers add what they know (the delivery app: the latest messages).
        for describe in hooks.get_hooks("describe_subscriber"):
            context.update(describe(self.object))
        return context


class ResendConfirmationView(PermissionCheckedMixin, View):
    """Send a pending subscriber another confirmation link (at most one every 15 minutes)."""

    model = Subscriber
    permission_required = "change"
    http_method_names = ["post"]
    PAUSE = timedelta(minutes=15)

    def post(self, request, pk):
        subscriber = get_object_or_404(Subscriber, pk=pk)
        recent = subscriber.replies_since(timezone.now() - self.PAUSE, kind=Reply.CONFIRM)
        if subscriber.status != Subscriber.Status.PENDING:
            messages.error(
                request, f"{subscriber} is {subscriber.get_status_display().lower()}: nothing to confirm."
            )
        elif recent:
            messages.warning(request, f"A confirmation e-mail went to {subscriber} less than 15 minutes ago.")
        else:
            request_replies([subscriber], Reply.CONFIRM)
            messages.success(request, f"Another confirmation e-mail is on its way to {subscriber}.")
        return redirect("subscribers:edit", subscriber.pk)


# Overview ------------------------------------------------------------------------------------------
class OverviewView(PermissionCheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    model = Subscriber
    any_permission_required = ANY
    template_name = "subscriptions/admin/overview.html"
    page_title = "Subscribers"
    page_subtitle = "Overview"
    header_icon = "group"

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("subscribers:index"), "label": "Subscribers"},
            {"url": "", "label": "Overview"},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        by_status = dict(Subscriber.objects.values_list("status").annotate(n=Count("pk")))
        confirmed = Subscriber.objects.confirmed()
        by_cadence = dict(confirmed.values_list("cadence").annotate(n=Count("pk")))
        series = growth.growth()
        weeks = [series[max(0, end - 7) : end] for end in range(len(series), 0, -7)][::-1]
        context.update(
            statuses=[(label, by_status.get(value, 0), value) for value, label in Subscriber.Status.choices],
            cadences=[(label, by_cadence.get(value, 0), value) for value, label in Cadence.choices],
            total=sum(by_status.values()),
            receiving=confirmed.receiving().count(),
            paused=confirmed.filter(paused=True).count(),
            suppressed=confirmed.filter(email__in=Suppression.objects.values("email")).count(),
            series=series,
            latest=series[-1],
            total_chart=growth.Chart(series, "total"),
            joined_chart=growth.Chart(series, "joined"),
            weeks=[
                {
                    "start": week[0]["day"],
                    "end": week[-1]["day"],
                    "joined": sum(day["joined"] for day in week),
                    "left": sum(day["left"] for day in week),
                    "total": week[-1]["total"],
                }
                for week in weeks
            ],
            index_url=reverse("subscribers:index"),
        )
        return context


# CSV -----------------------------------------------------------------------------------------------
class ExportView(PermissionCheckedMixin, View):
    """The list as CSV, with the list's filters and search, streamed."""

    model = Subscriber
    any_permission_required = ["change", "view"]

    def get(self, request):
        queryset = filtered_subscribers(request)
        logger.info(
            "%s exported subscribers (filters: %s)", request.user, ", ".join(sorted(request.GET)) or "none"
        )
        response = StreamingHttpResponse(csvio.export_lines(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="subscribers-{timezone.localdate()}.csv"'
        response["Cache-Control"] = "no-store"
        return response


class ImportView(PermissionCheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    model = Subscriber
    permission_required = "add"
    template_name = "subscriptions/admin/import.html"
    page_title = "Import subscribers"
    header_icon = "upload"
    SHOWN_ROWS = 1000

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("subscribers:index"), "label": "Subscribers"},
            {"url": "", "label": "Import"},
        ]

    def post(self, request):
        form = ImportForm(request.POST, request.FILES)
        report = None
        if form.is_valid():
            try:
                report = csvio.import_subscribers(
                    csvio.read_rows(form.cleaned_data["file"]),
                    default_cadence=SubscriptionSettings.load().default_cadence,
                    dry_run=form.cleaned_data["dry_run"],
                )
            except csvio.ImportFileError as exc:
                form.add_error("file", str(exc))
        if report is None:
            messages.error(request, "The file could not be imported.")
        else:
            logger.info("%s imported subscribers: %s", request.user, report.summary())
            messages.success(request, f"Import{' check' if report.dry_run else ''}: {report.summary()}.")
        return self.render_to_response(self.get_context_data(form=form, report=report))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ImportForm())
        if report := context.get("report"):
            problems = [row for row in report.rows if row.outcome != "created"]
            context["problems"] = problems[: self.SHOWN_ROWS]
            context["more_problems"] = max(0, len(problems) - self.SHOWN_ROWS)
            context["created_rows"] = [row for row in report.rows if row.outcome == "created"][
                : self.SHOWN_ROWS
            ]
        context["topics"] = Topic.objects.all()
        context["cadences"] = Cadence.values
        return context
