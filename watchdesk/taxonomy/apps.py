from django.apps import AppConfig


class TaxonomyConfig(AppConfig):
    name = "watchdesk.taxonomy"
    label = "taxonomy"
    verbose_name = "Topics and regions"
    # Editors file posts under topics and places; only moderators delete a topic or add a place.
    group_permissions = {
        "Editors": ["add_topic", "change_topic", "change_region"],
        "Moderators": ["add_topic", "change_topic", "delete_topic", "add_region", "change_region"],
    }
