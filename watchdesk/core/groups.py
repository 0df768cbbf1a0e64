"""The permissions each staff group gets, declared by the app that owns the models.

An app's config may carry ``group_permissions = {"Group name": ["codename", ...]}``: codenames of its
own models, or ``"app_label.codename"`` for another's (Wagtail's ``wagtailadmin.access_admin``).
``grant_group_permissions()`` creates missing groups and adds what every installed app declared, so no
app has to know the permission names of another.
"""

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db.models import Q


def declared_permissions():
    """``{group name: [(app label, codename), ...]}`` over the installed apps."""
    wanted = {}
    for config in apps.get_app_configs():
        for group, codenames in getattr(config, "group_permissions", {}).items():
            wanted.setdefault(group, []).extend(
                name.split(".", 1) if "." in name else (config.label, name) for name in codenames
            )
    return wanted


def grant_group_permissions():
    """Idempotent. Returns the names of the groups it had to create."""
    created = []
    for name, permissions in declared_permissions().items():
        group, new = Group.objects.get_or_create(name=name)
        if new:
            created.append(name)
        wanted = Q()
        for app_label, codename in permissions:
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.add(*Permission.objects.filter(wanted))
    return created
