from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "watchdesk.subscriptions"
    label = "subscriptions"
    verbose_name = "Subscriptions"
