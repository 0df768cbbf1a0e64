"""RSS 2.0, Atom 1.0 and JSON Feed 1.1 for any list of posts, from one Feed class.

When ``WEBSUB_HUB_URL`` is set every feed names the hub (``<atom:link rel="hub">`` in RSS, ``<link
rel="hub">`` in Atom, ``hubs`` in JSON Feed, and a ``Link`` header with the feed's own URL as "self"), and
publishing a post pings the hub for each feed it appears in (``websub``).

Every feed item carries the post's own URL as its link, the original story as ``external_url`` (JSON
Feed) and in the "Full story" line of its HTML, and a tag URI as its id: built from the site's host and
the post's primary key, it stays the same when a post's title or slug is edited. A post's updates head
its content, and the latest moves its updated date (Atom, JSON Feed).
"""

import json
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import Http404
from django.template.loader import render_to_string
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed, rfc3339_date

from watchdesk.posts.updates import attach_updates, modified_at


def absolute(url):
    return urljoin(settings.SITE_URL + "/", url or "/")


class RSSFeed(Rss201rev2Feed):
    def add_root_elements(self, handler):
        super().add_root_elements(handler)
        if self.feed.get("hub"):
            handler.addQuickElement("atom:link", None, {"rel": "hub", "href": self.feed["hub"]})


class AtomFeed(Atom1Feed):
    def add_root_elements(self, handler):
        super().add_root_elements(handler)
        if self.feed.get("hub"):
            handler.addQuickElement("link", "", {"rel": "hub", "href": self.feed["hub"]})


class JSONFeed(SyndicationFeed):
    """JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/)."""

    content_type = "application/feed+json; charset=utf-8"

    def write(self, outfile, encoding):
        feed = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": self.feed["title"],
            "home_page_url": self.feed["link"],
            "feed_url": self.feed["feed_url"],
            "description": self.feed["description"],
            "language": self.feed["language"],
            "hubs": [{"type": "WebSub", "url": self.feed["hub"]}] if self.feed.get("hub") else None,
            "items": [self.item(item) for item in self.items],
        }
        outfile.write(json.dumps({k: v for k, v in feed.items() if v}, ensure_ascii=False))

    def item(self, item):
        entry = {
            "id": item["unique_id"],
            "url": item["link"],
            "external_url": item.get("external_url"),
            "title": item["title"],
            "content_html": item["description"],
            "summary": item.get("summary"),
            "date_published": rfc3339_date(item["pubdate"]) if item["pubdate"] else None,
            "date_modified": rfc3339_date(item["updateddate"]) if item["updateddate"] else None,
            "authors": [{"name": name} for name in item.get("author_names") or []],
            "tags": list(item["categories"] or []),
        }
        return {key: value for key, value in entry.items() if value}


FEED_TYPES = {"rss": RSSFeed, "atom": AtomFeed, "json": JSONFeed}
FEED_MIME_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
FEED_LABELS = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}


def feed_paths(base):
    """The (format, path) pairs under which a listing at ``base`` publishes its feeds."""
    return [("rss", f"{base}feed/"), ("atom", f"{base}feed/atom/"), ("json", f"{base}feed/json/")]


class PostFeed(Feed):
    def __init__(self, *, posts, title, link, description, format="rss"):
        if format not in FEED_TYPES:
            raise Http404("No such feed format.")
        self.feed_type = FEED_TYPES[format]
        self.posts = posts
        self.title = title
        self.link = absolute(link)
        self.description = description or title

    def items(self):
        return attach_updates(self.posts[: settings.FEED_ITEMS])

    def __call__(self, request, *args, **kwargs):
        self.request_path = request.path
        response = super().__call__(request, *args, **kwargs)
        if settings.WEBSUB_HUB_URL:
            response["Link"] = f'<{settings.WEBSUB_HUB_URL}>; rel="hub", <{self.feed_url(None)}>; rel="self"'
        return response

    def feed_url(self, obj):
        # On SITE_URL like every other link in the feed, not on whichever host the request came in by.
        return absolute(self.request_path)

    def feed_extra_kwargs(self, obj):
        return {"hub": settings.WEBSUB_HUB_URL}

    def item_title(self, post):
        return post.title

    def item_description(self, post):
        return render_to_string("posts/feed_item.html", {"post": post})

    def item_link(self, post):
        return absolute(post.url)

    def item_guid(self, post):
        host = urlsplit(settings.SITE_URL).hostname
        return f"tag:{host},2026:post:{post.pk}"

    def item_guid_is_permalink(self, post):
        return False

    def item_pubdate(self, post):
        return post.first_published_at

    def item_updateddate(self, post):
        # An update sent about the post is a change feed readers should see.
        return modified_at(post)

    def item_author_name(self, post):
        return post.formatted_byline or None

    def item_categories(self, post):
        return [topic.name for topic in post.topics.all()]

    def item_extra_kwargs(self, post):
        return {
            "summary": post.summary,
            "external_url": post.source_url,
            "author_names": post.author_names,
        }
