"""The "E-mail" menu of the Wagtail admin and the e-mail actions on posts.

- /admin/email/posts/            each published post's e-mail, with a report per post (inspect/<id>/)
- /admin/email/digests/          each daily and weekly digest, with a report
- /admin/email/suppressions/     addresses nothing is sent to: add one by hand, or lift one
- /admin/email/events/           bounces and complaints reported by the e-mail provider
- the post editor's action menu: "Save draft and e-mail me a test"
- a post's "more" menus (page listing and editor header): "E-mail report"
- the post editor's count of who publishing will e-mail (``count_post_recipients``)
- a live post's "Send an update" (header and "more" menus), and its updates on the site (``post_updates``)
- Account > Notifications > "My alert channels": an editor's own channels (``own_channels``)
"""

from django.contrib.auth import get_permission_codename
from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.ui.tables import DateColumn, NumberColumn
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.admin.widgets.button import Button

from watchdesk.delivery import admin_views, broadcasts, channel_admin, own_channels, update_views
from watchdesk.delivery.models import Broadcast, Channel, Delivery, Digest, MailEvent
from watchdesk.posts.models import StoryPost
from watchdesk.subscriptions.models import Suppression


class LimitedViewSet(ModelViewSet):
    """A ModelViewSet offering only some of its views (``views``), and only their permissions."""

    views = {"index", "index_results", "inspect"}
    inspect_view_enabled = True
    copy_view_enabled = False
    add_to_reference_index = False
    search_backend_name = None

    def get_common_view_kwargs(self, **kwargs):
        removed = {
            f"{view}_url_name": None
            for view in ("add", "edit", "delete", "history", "usage")
            if view not in self.views
        }
        return super().get_common_view_kwargs(**{**removed, **kwargs})

    ROUTES = {
        "index": ("", "index_view"),
        "index_results": ("results/", "index_results_view"),
        "add": ("new/", "add_view"),
        "delete": ("delete/<int:pk>/", "delete_view"),
        "history": ("history/<int:pk>/", "history_view"),
        "history_results": ("history-results/<int:pk>/", "history_results_view"),
        "inspect": ("inspect/<int:pk>/", "inspect_view"),
    }

    def get_urlpatterns(self):
        # Only the views offered are built: an add view would want a form this model does not have.
        return [
            path(route, getattr(self, view), name=name)
            for name, (route, view) in self.ROUTES.items()
            if name in self.views
        ]

    def register_admin_url_finder(self):
        # Without an edit view there is nothing for site history to link to: Wagtail's default finder
        # would reverse the missing edit URL and fail the whole report.
        if "edit" in self.views:
            super().register_admin_url_finder()

    def get_permissions_to_register(self):
        actions = {"add": "add", "edit": "change", "delete": "delete", "inspect": "view"}
        codenames = [
            get_permission_codename(actions[view], self.model_opts) for view in actions if view in self.views
        ]
        return super().get_permissions_to_register().filter(codename__in=codenames)


class BroadcastViewSet(LimitedViewSet):
    model = Broadcast
    name = "email_posts"
    url_prefix = "email/posts"
    icon = "doc-full"
    menu_label = "Post e-mails"
    index_view_class = admin_views.BroadcastIndexView
    inspect_view_class = admin_views.BroadcastReportView
    list_display = [
        "post",
        admin_views.broadcast_kind_column(),
        DateColumn("created_at", label="Queued", sort_key="created_at"),
        NumberColumn("recipients", label="Recipients"),
        *admin_views.count_columns(),
    ]
    list_filter = ["kind"]
    list_per_page = 30
    search_fields = ["post__title", "text"]
    ordering = "-created_at"

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("post/<int:page_id>/", admin_views.PostReportView.as_view(), name="for_post"),
            path(
                "retry/<int:pk>/", admin_views.RetryFailedView.as_view(source_model=Broadcast), name="retry"
            ),
            path("update/<int:page_id>/", update_views.SendUpdateView.as_view(), name="send_update"),
        ]


class DigestViewSet(LimitedViewSet):
    model = Digest
    name = "email_digests"
    url_prefix = "email/digests"
    icon = "list-ul"
    menu_label = "Digests"
    index_view_class = admin_views.DigestIndexView
    inspect_view_class = admin_views.DigestReportView
    list_display = [
        "__str__",
        "cadence",
        DateColumn("period_end", label="Period ends", sort_key="period_end"),
        NumberColumn("recipients", label="Recipients"),
        *admin_views.count_columns(),
    ]
    list_filter = ["cadence"]
    list_per_page = 30
    ordering = "-period_end"

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("retry/<int:pk>/", admin_views.RetryFailedView.as_view(source_model=Digest), name="retry"),
        ]


class SuppressionViewSet(LimitedViewSet):
    model = Suppression
    name = "suppressions"
    url_prefix = "email/suppressions"
    icon = "cross"
    menu_label = "Suppressed addresses"
    views = {"index", "index_results", "inspect", "add", "delete", "history", "history_results"}
    form_fields = ["email", "detail"]
    index_view_class = admin_views.SuppressionIndexView
    inspect_view_class = admin_views.AddressInspectView
    history_view_class = admin_views.AddressHistoryView
    add_view_class = admin_views.SuppressionCreateView
    delete_view_class = admin_views.LiftSuppressionView
    list_display = ["email", "reason", admin_views.detail_column(), DateColumn("created_at", label="Since")]
    list_filter = ["reason"]
    search_fields = ["email", "detail"]
    ordering = "-created_at"
    list_per_page = 50

    def get_form_class(self, for_update=False):
        return admin_views.SuppressionForm


class MailEventViewSet(LimitedViewSet):
    model = MailEvent
    name = "mail_events"
    url_prefix = "email/events"
    icon = "warning"
    menu_label = "Provider events"
    index_view_class = admin_views.MailEventIndexView
    inspect_view_class = admin_views.AddressInspectView
    list_display = [
        "email",
        "type",
        "provider",
        DateColumn("occurred_at", label="When", sort_key="occurred_at"),
        admin_views.detail_column(),
    ]
    list_filter = ["type", "provider"]
    search_fields = ["email"]
    ordering = "-occurred_at"
    list_per_page = 50


class EmailViewSetGroup(ModelViewSetGroup):
    items = (BroadcastViewSet, DigestViewSet, SuppressionViewSet, MailEventViewSet)
    menu_label = "E-mail"
    menu_icon = "mail"
    menu_name = "email"
    menu_order = 270


@hooks.register("register_admin_viewset")
def register_email_viewsets():
    return EmailViewSetGroup()


class ChannelViewSet(ModelViewSet):
    """/admin/channels/: alert channels (see channel_admin)."""

    model = Channel
    name = "channels"
    icon = "mail"
    menu_label = "Channels"
    menu_order = 275
    add_to_admin_menu = True
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = channel_admin.ChannelIndexView
    add_view_class = channel_admin.ChannelCreateView
    inspect_view_class = channel_admin.ChannelInspectView
    list_display = ["name", *channel_admin.columns()]
    list_filter = ["purpose", "paused"]
    search_fields = ["name"]
    search_backend_name = None
    ordering = "name"

    def get_form_class(self, for_update=False):
        return channel_admin.ChannelForm

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("test/<int:pk>/", channel_admin.SendTestView.as_view(), name="test"),
            path("pause/<int:pk>/", channel_admin.PauseView.as_view(), name="pause"),
        ]


@hooks.register("register_admin_viewset")
def register_channel_viewset():
    return ChannelViewSet()


@hooks.register("register_permissions")
def register_retry_permission():
    # Giving failed deliveries another try is "change delivery"; no screen edits deliveries otherwise.
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(content_type__app_label="delivery", codename="change_delivery")


# Posts ---------------------------------------------------------------------------------------------
def email_report_button(page, user, priority):
    if (
        page.specific_class is StoryPost
        and page.first_published_at
        and user.has_perm("delivery.view_broadcast")
    ):
        url = reverse("email_posts:for_post", args=[page.pk])
        return Button("E-mail report", url=url, icon_name="mail", priority=priority)
    return None


@hooks.register("register_page_listing_more_buttons")
def page_listing_email_report(page, user, next_url=None):
    if button := email_report_button(page, user, priority=45):
        yield button


@hooks.register("register_page_header_buttons")
def page_header_email_report(page, user, view_name, next_url=None):
    if button := email_report_button(page, user, priority=62):
        yield button


@hooks.register("register_page_listing_more_buttons")
def page_listing_send_update(page, user, next_url=None):
    if button := update_views.update_button(page, user, priority=44):
        yield button


@hooks.register("register_page_header_buttons")
def page_header_send_update(page, user, view_name, next_url=None):
    if button := update_views.update_button(page, user, priority=61):
        yield button


@hooks.register("register_page_action_menu_item")
def register_send_test_email():
    return admin_views.SendTestEmailMenuItem(order=25)


@hooks.register("after_edit_page")
def send_test_email_after_saving(request, page):
    if request.POST.get(admin_views.SendTestEmailMenuItem.name) and isinstance(page, StoryPost):
        admin_views.send_test_email(request, page)


@hooks.register("describe_subscriber")
def latest_deliveries(subscriber):
    """The subscriber's inspect page lists their 25 latest messages."""
    deliveries = Delivery.objects.filter(subscriber=subscriber).select_related("broadcast__post", "digest")
    return {"deliveries": deliveries.order_by("-created_at")[:25]}


hooks.register("count_post_recipients", broadcasts.audience)
hooks.register("post_updates", broadcasts.updates_of)


hooks.register("register_account_settings_panel", own_channels.OwnChannelsPanel)


@hooks.register("register_admin_urls")
def register_own_channel_urls():
    return own_channels.urlpatterns
