from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "watchdesk.core"
    label = "core"
    verbose_name = "Watchdesk core"

    def ready(self):
        from watchdesk.core import checks  # noqa: F401  registers the system checks
