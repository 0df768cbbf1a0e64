"""The WebSub tasks the web process enqueues: ingesting a pushed document, leaving a hub. A module of
their own because the web process imports it, and nothing here may load the feed parser or enrichment."""

from django_tasks import task

from watchdesk.wire import websub
from watchdesk.wire.models import WebSubSubscription


@task()
def ingest_push(document_id):
    """Ingest a pushed feed document through the same path as a poll, then forget it."""
    # Imported when the worker runs the task, not at the top: the ingest path loads feedparser, trafilatura
    # and datasketch, which the web process must not carry (tests/test_web_process.py).
    from watchdesk.wire.polling import ingest_pushed

    return ingest_pushed(document_id)


@task()
def websub_leave(subscription_id):
    """Unsubscribe from the hub: the source was removed or paused."""
    subscription = WebSubSubscription.objects.current().filter(pk=subscription_id).first()
    if subscription is None:
        return "nothing to end"
    return websub.unsubscribe(subscription) or "unsubscribe requested"
