from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "watchdesk.subscriptions"
    label = "subscriptions"
    verbose_name = "Subscriptions"
    # Subscribers' addresses are personal data: only this group (and superusers) sees them, imports and
    # exports them, and looks after suppressions.
    group_permissions = {
        "Audience managers": [
            "wagtailadmin.access_admin",
            "add_subscriber",
            "change_subscriber",
            "delete_subscriber",
            "view_subscriber",
            "view_subscriber_addresses",
            "change_subscriptionsettings",
            "add_suppression",
            "view_suppression",
            "delete_suppression",
        ],
    }
