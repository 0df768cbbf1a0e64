"""Signal handlers of the wire, connected in apps.py."""

from django.db import transaction

from watchdesk.wire import places
from watchdesk.wire.models import WebSubSubscription
from watchdesk.wire.push_tasks import websub_leave


def region_changed(**kwargs):
    places.forget_geotagger()


def source_saved(instance, **kwargs):
    """A paused source leaves its hub at once (the periodic upkeep would, a minute later)."""
    if not instance.enabled:
        _leave_hub(instance)


def source_deleting(instance, **kwargs):
    _leave_hub(instance)


def _leave_hub(source):
    ids = list(WebSubSubscription.objects.current().filter(source=source).values_list("pk", flat=True))
    for subscription_id in ids:
        transaction.on_commit(lambda subscription_id=subscription_id: websub_leave.enqueue(subscription_id))
