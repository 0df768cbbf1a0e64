"""The wire in the Wagtail admin.

- /admin/inbox/                   stories by relevance, with filters and the actions (``inbox_views``)
- /admin/inbox/<id>/              one story: items, topics with matched phrases, places, score parts
- /admin/inbox/add-url/           queue an article page to be fetched and added to the inbox
- /admin/sources/                 the feeds we watch and their health (``admin_views``)
- /admin/sources/import/          OPML import, then a report per feed; /admin/sources/export/ the OPML
- /admin/account/ (Notifications) an editor's "On duty" switch for editor alerts (``alerts``)

"Inbox" sits high in the menu with the number of new stories; "Sources" right below it. The topic
editor's "Preview rule" (taxonomy/views.py) runs the edited rule over recent items through the
``preview_topic_rule`` hook registered here.
"""

from django.contrib.auth.models import Permission
from django.urls import include, path, reverse
from django.utils.functional import cached_property
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import ObjectList
from wagtail.admin.ui.sidebar import LinkMenuItem
from wagtail.admin.views.account import BaseSettingsPanel, notifications_tab
from wagtail.admin.viewsets.model import ModelViewSet

from watchdesk.wire import admin_views, inbox, inbox_views, topics
from watchdesk.wire.forms import DeskAlertPreferenceForm, SourceForm
from watchdesk.wire.models import DeskAlertPreference, Source

INBOX_PERMISSION = "wire.change_cluster"


# The inbox ----------------------------------------------------------------------------------------
inbox_urls = [
    path("", inbox_views.InboxView.as_view(), name="index"),
    path("add-url/", inbox_views.AddFromURLView.as_view(), name="add_url"),
    path("places.json", inbox_views.PlacesJSONView.as_view(), name="places_json"),
    path("<int:pk>/", inbox_views.ClusterView.as_view(), name="cluster"),
    path("<int:pk>/draft/", inbox_views.DraftView.as_view(), name="draft"),
    path("<int:pk>/dismiss/", inbox_views.DismissView.as_view(), name="dismiss"),
    path("<int:pk>/snooze/", inbox_views.SnoozeView.as_view(), name="snooze"),
    path("<int:pk>/review/", inbox_views.ReviewView.as_view(), name="review"),
    path("<int:pk>/reopen/", inbox_views.ReopenView.as_view(), name="reopen"),
    path("item/<int:pk>/places/", inbox_views.PlacesView.as_view(), name="places"),
]


@hooks.register("register_admin_urls")
def register_inbox_urls():
    return [path("inbox/", include((inbox_urls, "inbox"), namespace="inbox"))]


class InboxMenuItem(MenuItem):
    """ "Inbox", with the number of stories nobody has looked at yet."""

    def is_shown(self, request):
        return request.user.has_perm(INBOX_PERMISSION)

    def render_component(self, request):
        waiting = inbox.new_count()
        label = f"{self.label} ({waiting:,})" if waiting else self.label
        return LinkMenuItem(
            self.name, label, self.url, icon_name=self.icon_name, classname=self.classname, attrs=self.attrs
        )


@hooks.register("register_admin_menu_item")
def register_inbox_menu_item():
    return InboxMenuItem("Inbox", reverse("inbox:index"), name="inbox", icon_name="tasks", order=150)


@hooks.register("register_permissions")
def register_inbox_permission():
    # Seeing and acting on the inbox is "change cluster"; no other screen edits clusters.
    return Permission.objects.filter(content_type__app_label="wire", codename="change_cluster")


# Sources ------------------------------------------------------------------------------------------
class SourceViewSet(ModelViewSet):
    model = Source
    name = "sources"
    icon = "globe"
    menu_label = "Sources"
    menu_order = 155
    add_to_admin_menu = True
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    inspect_view_class = admin_views.SourceInspectView
    index_view_class = admin_views.SourceIndexView
    list_display = admin_views.list_columns()
    list_per_page = 50
    filterset_class = admin_views.SourceFilterSet
    search_fields = ["name", "url"]
    search_backend_name = None
    ordering = "name"
    inspect_view_fields = [
        "name",
        "url",
        "site_url",
        "language",
        "home_region",
        "trust",
        "poll_minutes",
        "enabled",
        "group",
        "max_entries",
        "feed_format",
        "last_fetched_at",
        "last_status",
        "last_error",
        "consecutive_errors",
        "items_per_day",
        "next_poll_at",
        "created_at",
    ]

    def get_edit_handler(self):
        # The model's panels, with a form that checks the feed URL as the fetcher would.
        return ObjectList(Source.panels, base_form_class=SourceForm).bind_to_model(Source)

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("poll/<int:pk>/", admin_views.PollNowView.as_view(), name="poll"),
            path("import/", admin_views.SourceImportView.as_view(), name="import_opml"),
            path("import/<int:pk>/", admin_views.SourceImportReportView.as_view(), name="import_report"),
            path("export/", admin_views.SourceExportView.as_view(), name="export_opml"),
        ]


@hooks.register("register_admin_viewset")
def register_source_viewset():
    return SourceViewSet()


hooks.register("preview_topic_rule", topics.preview_rule_change)


# Editor alerts ------------------------------------------------------------------------------------
@hooks.register("register_account_settings_panel")
class DeskAlertsPanel(BaseSettingsPanel):
    """Each editor turns their own alerts on and off under Account > Notifications."""

    name = "desk_alerts"
    title = "Editor alerts"
    help_text = "Stories flagged breaking or reaching the alert score, with a link to the inbox."
    tab = notifications_tab
    order = 200
    form_class = DeskAlertPreferenceForm

    def is_active(self):
        return self.user.has_perm(INBOX_PERMISSION)

    @cached_property
    def preference(self):
        return DeskAlertPreference.objects.filter(user=self.user).first() or DeskAlertPreference(
            user=self.user
        )

    def get_form(self):
        data = (self.request.POST,) if self.request.method == "POST" else ()
        return self.form_class(*data, instance=self.preference, prefix=self.name)
