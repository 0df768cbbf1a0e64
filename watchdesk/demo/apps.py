from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "watchdesk.demo"
    label = "demo"
    verbose_name = "Demo content"
