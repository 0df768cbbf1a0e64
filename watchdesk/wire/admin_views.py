"""The Sources screens of the Wagtail admin (/admin/sources/): the feeds we watch with their health,
filters for enabled and failing ones, the edit form (layout from ``Source.panels``, the feed URL
checked against the fetcher's rules), a source's page with its recent fetches and skipped entries, and
"Poll now", which only moves the next poll to now: the worker fetches, never the web request.

Permissions are Source's model permissions (view, add, change, delete).
"""

import django_filters
from django import forms
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import View
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column, DateColumn, NumberColumn
from wagtail.admin.views import generic
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin

from watchdesk.wire.models import Source

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

    class Meta:
        model = Source
        fields = ["enabled", "failing"]

    def filter_failing(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(consecutive_errors__gt=0) if value else queryset.filter(consecutive_errors=0)


def list_columns():
    return [
        "name",
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
