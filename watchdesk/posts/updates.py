"""The dated update lines of posts ("Update, Dec 5, 2026, 2:05 PM CST: Evacuation order lifted").

An update is sent by the app that e-mails readers, which posts cannot import: that app registers the
``post_updates`` Wagtail hook, ``fn(post_ids) -> {post_id: [update, ...]}``, each update with
``created_at`` and ``text``, newest first. Without such an app posts have no updates.
"""

from wagtail import hooks

HOOK = "post_updates"


def attach_updates(posts):
    """Give each of ``posts`` its ``updates`` (newest first) in one query for them all; returns them."""
    posts = list(posts)
    finders = hooks.get_hooks(HOOK)
    found = finders[-1]([post.pk for post in posts]) if finders and posts else {}
    for post in posts:
        post.updates = found.get(post.pk, [])
    return posts


def modified_at(post):
    """When the post last changed for a reader: republished, or updated since."""
    times = [post.last_published_at or post.first_published_at]
    times += [update.created_at for update in getattr(post, "updates", [])[:1]]
    return max((time for time in times if time), default=None)
