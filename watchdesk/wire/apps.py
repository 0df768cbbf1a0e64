from django.apps import AppConfig


class WireConfig(AppConfig):
    name = "watchdesk.wire"
    label = "wire"
    verbose_name = "Wire"
