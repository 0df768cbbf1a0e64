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

    def ready(self):
        from django.db.models.signals import pre_save
        from wagtail.models import ModelLogEntry

        from watchdesk.subscriptions.log_labels import mask_log_label

        # Site history is shown to anyone with a permission on the model: its labels never hold an address.
        pre_save.connect(mask_log_label, sender=ModelLogEntry, dispatch_uid="subscriptions.mask_log_label")
