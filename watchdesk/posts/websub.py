"""WebSub (https://www.w3.org/TR/websub/): when a post is published, tell the hub named by
``WEBSUB_HUB_URL`` which of our feeds changed, so that readers subscribed through the hub hear in seconds
instead of at their next poll. The feeds announce the hub themselves (``feeds.PostFeed``).

The ping is a task (``tasks.announce_post``), queued when the publishing transaction commits; it goes
out through the guarded fetcher, and a feed the hub did not take is tried again later (``RETRY_SECONDS``).
"""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone

from watchdesk.core.fetcher import FetchError, fetch
from watchdesk.posts.feeds import absolute, feed_paths
from watchdesk.posts.models import HomePage
from watchdesk.posts.routing import index_urls
from watchdesk.taxonomy.models import Region

logger = logging.getLogger(__name__)

# Waits before the second, third and fourth try of a feed the hub refused or could not be reached for.
RETRY_SECONDS = (30, 300, 1800)


def listing_urls(post):
    """The listings ``post`` appears in: the home page, its topics, its places and every place containing
    them, its tags, its authors and the month it was first published in."""
    home = HomePage.objects.live().first()
    urls = [home.url] if home and home.url else []
    bases = index_urls(None)

    def under(kind, slugs):
        if bases.get(kind):
            urls.extend(f"{bases[kind]}{slug}/" for slug in slugs)

    under("topic", post.topics.values_list("slug", flat=True))
    codes = {
        code
        for path in post.region_links.values_list("region__path", flat=True)
        for code in Region.codes_in(path)
    }
    under("region", Region.objects.filter(code__in=codes).order_by("path").values_list("slug", flat=True))
    under("tag", post.tags.values_list("slug", flat=True))
    under("author", post.author_links.order_by("sort_order").values_list("author__slug", flat=True))
    if post.first_published_at:
        month = timezone.localtime(post.first_published_at)
        under("archive", [f"{month.year}/{month.month:02d}"])
    return urls


def feed_urls(post):
    """Every feed (RSS, Atom, JSON Feed) of every listing ``post`` appears in, as absolute URLs."""
    return [absolute(path) for base in listing_urls(post) for _kind, path in feed_paths(base)]


def ping(url):
    """Tell the hub that the feed at ``url`` changed. Returns None when the hub took it, else the reason."""
    body = urlencode({"hub.mode": "publish", "hub.url": url}).encode()
    try:
        answer = fetch(
            settings.WEBSUB_HUB_URL,
            method="POST",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*"},
            max_bytes=64 * 1024,
        )
    except FetchError as error:  # FetchRefused included: the hub's address is against the policy
        return str(error)
    return None if answer.ok else f"HTTP {answer.status}"
