"""Background work of the posts app: pinging the WebSub hub after a post is published."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from watchdesk.posts import websub
from watchdesk.posts.models import StoryPost

logger = logging.getLogger(__name__)


@task()
def announce_post(post_id):
    """Ping the hub for each feed the published post appears in."""
    post = StoryPost.objects.live().filter(pk=post_id).first()
    if post is None or not settings.WEBSUB_HUB_URL:
        return "nothing to announce"
    return ping_hub.call(websub.feed_urls(post))


@task()
def ping_hub(urls, attempt=1):
    """Ping the hub for each of ``urls``; those it did not take are tried again later, up to
    ``len(websub.RETRY_SECONDS)`` more times. Returns a one-line summary."""
    failed = {}
    for url in urls:
        if (reason := websub.ping(url)) is not None:
            failed[url] = reason
    if not failed:
        return f"{len(urls)} pinged"
    if attempt > len(websub.RETRY_SECONDS):
        logger.error("WebSub hub refused %s after %s tries: %s", ", ".join(failed), attempt, failed)
        return f"{len(urls) - len(failed)} pinged, {len(failed)} given up"
    delay = websub.RETRY_SECONDS[attempt - 1]
    logger.warning("WebSub hub refused %d feed(s), retrying in %ss: %s", len(failed), delay, failed)
    retry = ping_hub
    # A backend that cannot defer (the immediate one tests use) retries at once.
    if retry.get_backend().supports_defer:
        retry = ping_hub.using(run_after=timezone.now() + timedelta(seconds=delay))
    retry.enqueue(list(failed), attempt + 1)
    return f"{len(urls) - len(failed)} pinged, {len(failed)} to retry"
