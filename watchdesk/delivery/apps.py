from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "watchdesk.delivery"
    label = "delivery"
    verbose_name = "E-mail delivery"
