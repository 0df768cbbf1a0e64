"""Mask the addresses that site history labels of subscribers and suppressions already hold (new entries
are masked as they are saved: subscriptions/log_labels.py)."""

from django.db import migrations


def mask(address):
    # A frozen copy of models.mask_email: a migration must not change with the code.
    local, _, domain = address.partition("@")
    name, dot, top = domain.rpartition(".")
    return f"{local[:1]}•••@{(name or top)[:1]}•••{dot}{top if name else ''}"


def mask_labels(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ModelLogEntry = apps.get_model("wagtailcore", "ModelLogEntry")
    types = ContentType.objects.filter(app_label="subscriptions", model__in=["subscriber", "suppression"])
    entries = ModelLogEntry.objects.filter(content_type__in=types, label__contains="@")
    for entry in entries.iterator():
        ModelLogEntry.objects.filter(pk=entry.pk).update(label=mask(entry.label))


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("wagtailcore", "0063_modellogentry"),
    ]

    operations = [migrations.RunPython(mask_labels, migrations.RunPython.noop)]
