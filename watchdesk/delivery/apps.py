from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "watchdesk.delivery"
    label = "delivery"
    verbose_name = "E-mail delivery"

    def ready(self):
        from anymail.signals import tracking

        from watchdesk.delivery import checks, webhooks

        tracking.connect(webhooks.record_event, dispatch_uid="watchdesk.delivery.record_event")
        checks.register()
