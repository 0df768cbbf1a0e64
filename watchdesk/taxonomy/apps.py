from django.apps import AppConfig


class TaxonomyConfig(AppConfig):
    name = "watchdesk.taxonomy"
    label = "taxonomy"
    verbose_name = "Topics and regions"
