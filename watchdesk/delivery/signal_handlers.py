"""What the delivery app does when a post is published or a reader asks for a message; connected in
``DeliveryConfig.ready``. Each runs inside the transaction of the event, so its rows commit with it."""

from django.db import transaction

from watchdesk.delivery.broadcasts import record_publication
from watchdesk.delivery.channels import record_story_alert
from watchdesk.delivery.models import Delivery
from watchdesk.delivery.notices import notify_staff
from watchdesk.delivery.tasks import fan_out, send_channel_messages, wake_sender


def post_published(sender, post, **kwargs):
    """The post is live with "e-mail subscribers" ticked if and only if its Broadcast exists. At most
    one per post, ever."""
    if not post.notify_subscribers:
        return
    broadcast, created = record_publication(post)
    if created:
        transaction.on_commit(lambda: fan_out.enqueue(broadcast.pk))


def reply_requested(sender, subscribers, kind, **kwargs):
    """One ledger row per reader; one wake-up of the sender once they are committed."""
    Delivery.objects.bulk_create(
        [Delivery(kind=Delivery.Kind(kind), subscriber=subscriber) for subscriber in subscribers],
        batch_size=1000,
    )
    transaction.on_commit(wake_sender)


def subscriber_confirmed(sender, subscriber, **kwargs):
    notify_staff(subscriber)


def story_alert(sender, alert, **kwargs):
    """The wire flagged a story for the desk (sent after its transaction): one row per editors' channel,
    then a worker sends them."""
    with transaction.atomic():
        written = record_story_alert(alert)
        if written:
            transaction.on_commit(send_channel_messages.enqueue)
