"""Subscribers in the Wagtail admin: /admin/subscribers/ (list, add, edit, inspect, delete), plus
overview/, export/, import/ and resend/<id>/. See admin_views for who may use them."""

from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permissions import policy_registry, register_permission_policy

from watchdesk.subscriptions import admin_views
from watchdesk.subscriptions.models import Subscriber

# Registered before the viewset asks for a policy, or Wagtail falls back to plain model permissions.
register_permission_policy(Subscriber, admin_views.SubscriberPermissionPolicy(Subscriber))


class SubscriberViewSet(ModelViewSet):
    model = Subscriber
    name = "subscribers"
    icon = "group"
    menu_label = "Subscribers"
    menu_order = 260
    add_to_admin_menu = True
    add_to_reference_index = False

    index_view_class = admin_views.SubscriberIndexView
    add_view_class = admin_views.SubscriberCreateView
    edit_view_class = admin_views.SubscriberEditView
    inspect_view_class = admin_views.SubscriberInspectView
    edit_template_name = "subscriptions/admin/edit.html"
    inspect_template_name = "subscriptions/admin/inspect.html"
    inspect_view_enabled = True
    copy_view_enabled = False

    list_display = [
        "email",
        "name",
        admin_views.StatusColumn(),
        "cadence",
        Column("scope", label="Receives", accessor="scope_summary"),
        DateColumn("created_at", label="Subscribed", sort_key="created_at"),
    ]
    list_per_page = 50
    ordering = "-created_at"
    filterset_class = admin_views.SubscriberFilterSet
    search_fields = ["email", "name"]
    search_backend_name = None
    inspect_view_fields = [
        "email",
        "name",
        "status",
        "cadence",
        "urgent_at_once",
        "scope_summary",
        "paused",
        "source",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "last_digest_at",
        "time_zone",
        "digest_hour",
        "weekly_digest_day",
        "next_digest_at",
    ]

    def get_form_class(self, for_update=False):
        return admin_views.SubscriberForm if for_update else admin_views.NewSubscriberForm

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("overview/", admin_views.OverviewView.as_view(), name="overview"),
            path("export/", admin_views.ExportView.as_view(), name="export"),
            path("import/", admin_views.ImportView.as_view(), name="import"),
            path("resend/<int:pk>/", admin_views.ResendConfirmationView.as_view(), name="resend"),
        ]


@hooks.register("register_admin_viewset")
def register_subscriber_viewset():
    return SubscriberViewSet()


class OverviewMenuItem(MenuItem):
    def is_shown(self, request):
        return policy_registry.get_by_type(Subscriber).user_has_any_permission(request.user, admin_views.ANY)


@hooks.register("register_reports_menu_item")
def register_overview_report():
    return OverviewMenuItem(
        "Subscribers over time", reverse("subscribers:overview"), icon_name="group", order=700
    )
