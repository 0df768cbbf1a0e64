from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "watchdesk.delivery"
    label = "delivery"
    verbose_name = "E-mail and alert delivery"
    group_permissions = {
        "Audience managers": [
            "view_broadcast",
            "view_digest",
            "view_delivery",
            "change_delivery",
            "view_mailevent",
            "add_channel",
            "change_channel",
            "delete_channel",
            "view_channel",
            "view_channeldelivery",
        ],
    }

    def ready(self):
        from anymail.signals import tracking

        from watchdesk.delivery import checks, signal_handlers, webhooks
        from watchdesk.posts.signals import story_published
        from watchdesk.subscriptions.signals import reply_requested, subscriber_confirmed
        from watchdesk.wire.signals import story_alert

        tracking.connect(webhooks.record_event, dispatch_uid="delivery.record_event")
        story_published.connect(signal_handlers.post_published, dispatch_uid="delivery.post_published")
        reply_requested.connect(signal_handlers.reply_requested, dispatch_uid="delivery.reply_requested")
        subscriber_confirmed.connect(
            signal_handlers.subscriber_confirmed, dispatch_uid="delivery.subscriber_confirmed"
        )
        story_alert.connect(signal_handlers.story_alert, dispatch_uid="delivery.story_alert")
        checks.register()
