"""Queue a single message to one subscriber: confirmations and other replies to a reader's request.

The request that asked for it only writes a ``Delivery`` row and, once its transaction commits, wakes the
sender through the task queue; the answer never waits on the mail server, and a mail server that is
down delays the message (it is retried) without losing it.
"""

from django.db import transaction

from watchdesk.delivery.models import Delivery


def queue_message(subscriber, kind):
    """Queue a ``Delivery.Kind`` message (CONFIRM, WELCOME_BACK or LINK) to ``subscriber``."""
    delivery = Delivery.objects.create(kind=kind, subscriber=subscriber)
    transaction.on_commit(wake_sender)
    return delivery


def wake_sender():
    from watchdesk.delivery.tasks import send_deliveries

    send_deliveries.enqueue()
