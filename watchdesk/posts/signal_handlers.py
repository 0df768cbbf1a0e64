"""Signal handlers of the posts app, connected in apps.py."""

from django.conf import settings
from django.db import transaction

from watchdesk.posts.tasks import announce_post


def post_published(sender, post, **kwargs):
    # After the commit: a worker must find the post live, and a rolled-back publish pings nothing.
    if settings.WEBSUB_HUB_URL:
        post_id = post.pk
        transaction.on_commit(lambda: announce_post.enqueue(post_id))
