"""A short note to staff when a reader confirms a subscription (Subscription settings → "tell staff about
new subscribers").

The reader's confirmation request only queues a task once its transaction commits; the note is built and
sent by the worker. It is a courtesy, not a subscription e-mail: it goes through the transport directly,
is not in the delivery ledger, and a mail server that is down means the note is logged and dropped.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django_tasks import task

from watchdesk.delivery.messages import Outgoing, render
from watchdesk.delivery.transport import PermanentError, TransientError, open_transport
from watchdesk.subscriptions.models import Subscriber, SubscriptionSettings

logger = logging.getLogger(__name__)


def notify_staff(subscriber):
    """Queue the note about ``subscriber`` when staff asked for one. Returns whether it was queued."""
    if not SubscriptionSettings.load().staff_notice_email:
        return False
    transaction.on_commit(lambda: send_staff_notice.enqueue(subscriber.pk))
    return True


def staff_notice(subscriber, address):
    """The note about ``subscriber`` to ``address``, as an ``Outgoing`` message."""
    confirmed = Subscriber.objects.confirmed()
    subject, text, html = render(
        "staff_notice",
        {
            "subscriber": subscriber,
            "scope": subscriber.scope_summary(),
            "confirmed_count": confirmed.count(),
            "admin_url": settings.WAGTAILADMIN_BASE_URL + reverse("subscribers:edit", args=[subscriber.pk]),
        },
    )
    return Outgoing(to=address, subject=subject, text=text, html=html)


@task()
def send_staff_notice(subscriber_id):
    address = SubscriptionSettings.load().staff_notice_email
    subscriber = Subscriber.objects.filter(pk=subscriber_id, status=Subscriber.Status.CONFIRMED).first()
    if not address or subscriber is None:
        return "skipped"
    transport = open_transport()
    try:
        transport.send(staff_notice(subscriber, address))
    except (TransientError, PermanentError) as exc:
        logger.warning("The new-subscriber note to %s was not sent: %s", address, exc)
        return "failed"
    finally:
        transport.close()
    return "sent"
