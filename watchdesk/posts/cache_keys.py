"""The names under which public pages are cached, shared by the pages that send them and the purger.

A public response carries its keys in one ``Surrogate-Key`` header (space-separated, as Fastly and the
shipped Varnish configuration read it); a change to a post, topic, region or site setting bans the keys
it touches. Keys name what a page shows, not its URL, so a purge needs no URL list: publishing a wildfire
post in California bans ``topic-wildfire`` and ``region-US-CA`` and with them every listing page, page
number and feed of that term, wherever the editors have moved its index page.
"""

from django.utils import timezone

from watchdesk.taxonomy.models import Region

SITE = "site"  # every public page: the site's name, tagline and navigation are on all of them
HOME = "home"  # the home page and its page numbers
FEEDS = "feeds"  # every feed (site-wide and per term) and the sitemap
SEARCH = "search"  # search results and suggestions
TERM_INDEXES = "indexes"  # the lists of topics, places, tags, authors and months, with their counts


def post_key(pk):
    """A post's own page; also on every listing card and previous/next link that names it."""
    return f"post-{pk}"


def topic_key(slug):
    return f"topic-{slug}"


def region_key(code):
    return f"region-{code}"


def tag_key(slug):
    return f"tag-{slug}"


def author_key(slug):
    return f"author-{slug}"


def archive_key(year, month):
    return f"archive-{year:04d}-{month:02d}"


def header_value(keys):
    """The ``Surrogate-Key`` header for a response carrying ``keys`` (sorted: stable for tests)."""
    return " ".join(sorted(set(keys)))


def keys_for_post(post):
    """Every key whose pages list or show ``post``: what to ban when it is published, changed or removed.

    Regions bring their ancestors (a Sacramento post is also on the California and United States pages).
    Call it on the post as it was before a change and as it is after, and ban both: a post moved out of
    a topic must leave that topic's listing too.
    """
    keys = {post_key(post.pk), HOME, FEEDS, SEARCH, TERM_INDEXES}
    keys.update(topic_key(slug) for slug in post.topics.values_list("slug", flat=True))
    for path in post.region_links.values_list("region__path", flat=True):
        if path:
            keys.update(region_key(code) for code in Region.codes_in(path))
    keys.update(tag_key(slug) for slug in post.tags.values_list("slug", flat=True))
    keys.update(author_key(slug) for slug in post.author_links.values_list("author__slug", flat=True))
    if post.first_published_at:
        # The archive groups by month in the site's time zone, as TruncMonth does.
        published = timezone.localtime(post.first_published_at)
        keys.add(archive_key(published.year, published.month))
    return keys
