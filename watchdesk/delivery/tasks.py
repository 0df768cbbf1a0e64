"""Background tasks of the e-mail pipeline; the worker's scheduler runs the periodic ones."""

from django_tasks import task

from watchdesk.delivery import broadcasts, channel_sender, channels, sender
from watchdesk.delivery.models import Broadcast


@task()
def fan_out(broadcast_id):
    """Write the ledger rows of a newly published post, then send them."""
    broadcast = Broadcast.objects.select_related("post").filter(pk=broadcast_id).first()
    if broadcast is None:
        return 0
    if broadcast.fanned_out_at is None:
        # Channels first, before the e-mail rows are even written: a few messages that responders watch
        # for should not wait behind a hundred thousand inserts (writing them again below adds nothing).
        channels.fan_out_to_channels(broadcast)
        channel_sender.send_pending()
        broadcasts.fan_out_broadcast(broadcast)
    channel_sender.send_pending()
    return sender.send_pending()


@task()
def send_channel_messages():
    """Send whatever is due to alert channels (editor alerts, tests)."""
    return channel_sender.send_pending()


@task()
def send_deliveries():
    """Send whatever is due in the ledger."""
    return sender.send_pending()


def wake_sender():
    """Ask a worker to send what is due (after a commit that queued messages)."""
    send_deliveries.enqueue()


@task()
def sweep_and_send():
    """Every 30 seconds: hand back expired leases, fan out anything missed, write due channel digests,
    retry what is due."""
    sender.sweep()
    channel_sender.sweep()
    channel_sender.send_pending()
    return sender.send_pending()


@task()
def plan_digests():
    """Every minute: once a day's digest time has come, fan out its daily (and weekly) digest."""
    if broadcasts.plan_digests():
        return sender.send_pending()
    return {}
