"""The Sources screens of the Wagtail admin (/admin/sources/): the feeds we watch with their health,
filters for enabled and failing ones, the edit form (layout from ``Source.panels``, the feed URL
checked against the fetcher's rules), a source's page with its recent fetches and skipped entries, and
"Poll now", which only moves the next poll to now: the worker fetches, never the web request; and OPML
import (with a report per feed) and export.

Permissions are Source's model permissions (view, add, change, delete).
"""

from io import BytesIO

import django_filters
from django import forms
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.generic import FormView, TemplateView, View
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column, DateColumn, NumberColumn
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.widgets import HeaderButton

from watchdesk.wire.forms import OPMLUploadForm
from watchdesk.wire.models import Source, SourceImport
from watchdesk.wire.opml import (
    MAX_OPML_BYTES,
    ImportSummary,
    OPMLError,
    export_opml,
    fetch_outcome,
    import_opml,
)

SHOWN_FETCHES = 20
SHOWN_SKIPPED = 20


class SourceFilterSet(WagtailFilterSet):
    enabled = django_filters.BooleanFilter(
        label="Enabled",
        widget=forms.RadioSelect(choices=[("", "All"), ("true", "Enabled"), ("false", "Disabled")]),
    )
    failing = django_filters.BooleanFilter(
        label="Failing",
        method="filter_failing",
        widget=forms.RadioSelect(choices=[("", "All"), ("true", "Failing"), ("false", "Healthy")]),
    )

    group = django_filters.AllValuesFilter(label="Group", field_name="group", empty_label="Any group")

    class Meta:
        model = Source
        fields = ["enabled", "failing", "group"]

    def filter_failing(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(consecutive_errors__gt=0) if value else queryset.filter(consecutive_errors=0)


def list_columns():
    return [
        "name",
        Column("group", label="Group"),
        Column("url", label="Feed URL"),
        Column("enabled", label="Enabled", accessor=lambda source: "Yes" if source.enabled else "No"),
        DateColumn("last_fetched_at", label="Last fetched", sort_key="last_fetched_at"),
        Column("last_status", label="Last status"),
        NumberColumn("consecutive_errors", label="Errors in a row", sort_key="consecutive_errors"),
        Column("items_per_day", label="Items/day", accessor=lambda source: f"{source.items_per_day:.1f}"),
    ]


class SourceInspectView(generic.InspectView):
    """A source's health, with its latest fetches and the entries it skipped, and "Poll now"."""

    template_name = "wire/admin/source_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        source = self.object
        context.update(
            source=source,
            fetches=source.fetches.order_by("-started_at")[:SHOWN_FETCHES],
            skipped=source.skipped.order_by("-seen_at")[:SHOWN_SKIPPED],
            poll_url=reverse("sources:poll", args=[source.pk])
            if self.user_has_permission("change")
            else None,
            inbox_url=reverse("inbox:index") + f"?status=all&source={source.pk}",
            websub=source.websub.current().first(),
        )
        return context


class PollNowView(PermissionCheckedMixin, View):
    """Put a source first in the worker's queue. Nothing is fetched here."""

    model = Source
    permission_required = "change"
    http_method_names = ["post"]

    def post(self, request, pk):
        source = get_object_or_404(Source, pk=pk)
        Source.objects.filter(pk=source.pk).update(next_poll_at=timezone.now())
        if source.enabled:
            messages.success(request, f"{source} will be polled by the worker in a moment.")
        else:
            messages.warning(request, f"{source} is disabled: enable it, or the worker will not poll it.")
        return redirect("sources:inspect", source.pk)


class SourceIndexView(generic.IndexView):
    """The list of sources, with OPML import and export beside "Add"."""

    @cached_property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        if self.user_has_permission("add"):
            buttons.append(
                HeaderButton("Import OPML", url=reverse("sources:import_opml"), icon_name="upload")
            )
        buttons.append(HeaderButton("Export OPML", url=reverse("sources:export_opml"), icon_name="download"))
        return buttons


class SourcesBreadcrumbs(WagtailAdminTemplateMixin):
    header_icon = "globe"
    trail_label = ""

    def get_breadcrumbs_items(self):
        sources = {"url": reverse("sources:index"), "label": "Sources"}
        return [*self.breadcrumbs_items, sources, {"url": "", "label": self.trail_label}]


class LimitedUploadHandler(FileUploadHandler):
    """Keeps an uploaded file in memory up to ``limit`` bytes. A larger one is read to its end but not
    kept: the form sees its real size, empty, and refuses it, and no disk or memory fills up on the way."""

    def __init__(self, request=None, limit=MAX_OPML_BYTES):
        super().__init__(request)
        self.limit = limit

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.buffer = BytesIO()
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) <= self.limit:
            self.buffer.write(raw_data)
        else:
            self.buffer = BytesIO()  # over the limit: drop what was kept, keep nothing more

    def file_complete(self, file_size):
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            self.buffer, self.field_name, self.file_name, self.content_type, file_size, self.charset
        )


@method_decorator(csrf_exempt, name="dispatch")  # the CSRF check is made in post(), after the handler is set
class SourceImportView(PermissionCheckedMixin, SourcesBreadcrumbs, FormView):
    """Upload an OPML file: its feeds become sources (nothing is fetched here), then the report."""

    model = Source
    permission_required = "add"
    template_name = "wire/admin/opml_import.html"
    form_class = OPMLUploadForm
    page_title = "Import sources from OPML"
    trail_label = "Import OPML"

    def post(self, request, *args, **kwargs):
        # Before anything reads the body: an upload larger than the limit is never kept.
        request.upload_handlers = [LimitedUploadHandler(request)]
        return csrf_protect(super().post)(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["recent"] = SourceImport.objects.all()[:10]
        return context

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            summary = import_opml(upload.read())
        except OPMLError as error:
            form.add_error("file", f"Nothing was imported: {error}.")
            return self.form_invalid(form)
        record = SourceImport.objects.create(
            created_by=self.request.user, file_name=(upload.name or "")[:255], report=summary.as_dict()
        )
        messages.success(self.request, f"Imported {upload.name}: {summary}.")
        return redirect("sources:import_report", record.pk)


class SourceImportReportView(PermissionCheckedMixin, SourcesBreadcrumbs, TemplateView):
    """What became of each feed of an import; a new source's first fetch is read live from its health."""

    model = Source
    permission_required = "add"
    template_name = "wire/admin/opml_report.html"
    page_title = "OPML import"
    trail_label = "Import report"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        record = get_object_or_404(SourceImport, pk=self.kwargs["pk"])
        summary = ImportSummary.from_dict(record.report)
        sources = Source.objects.in_bulk([feed.source_id for feed in summary.feeds if feed.source_id])
        rows = []
        for feed in summary.feeds:
            source = sources.get(feed.source_id) if feed.source_id else None
            fetch = fetch_outcome(source) if feed.outcome == "created" else ("", "")
            rows.append({"feed": feed, "source": source, "fetch": fetch[0], "fetch_detail": fetch[1]})
        context.update(
            record=record,
            summary=summary,
            rows=rows,
            could_not_fetch=sum(1 for row in rows if row["fetch"] == "could not fetch"),
            waiting=sum(1 for row in rows if row["fetch"] == "waiting"),
        )
        return context


class SourceExportView(PermissionCheckedMixin, View):
    """All sources as an OPML 2.0 file, their groups as folders."""

    model = Source
    permission_required = "view"

    def get(self, request):
        response = HttpResponse(export_opml(), content_type="text/x-opml; charset=utf-8")
        name = f"watchdesk-sources-{timezone.now():%Y-%m-%d}.opml"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
