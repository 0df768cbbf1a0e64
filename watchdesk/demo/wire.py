"""The demo wire: invented outlets and their feeds, rendered on request so the demo always looks fresh.

The outlets and stories in wire.json were written for this project (every link is an example.org, .com or
.net address); each outlet's feed comes out in its own format, so the demo exercises every parser path.
A story carries ``hours_ago``, counted back from a demo clock that moves in steps of ``CLOCK_STEP``, so
that a feed's bytes and ETag hold between steps (docs/wire.md, "The demo wire").
"""

import functools
import hashlib
import html
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from watchdesk.demo import official_feeds
from watchdesk.demo.feedwriter import XMLWriter, iso, rfc822

DATA = Path(__file__).with_name("wire.json")
CLOCK_STEP = timedelta(minutes=15)
FEED_PATH = "/demo/feeds/{slug}/"


class UnknownOutlet(LookupError):
    pass


@dataclass(frozen=True)
class Outlet:
    slug: str
    name: str
    site_url: str
    description: str
    language: str
    region: str
    trust: int
    format: str
    link: str  # pattern: "{site}news/{id}/"
    guid: str  # "link", "tag", "urn" or "none" (RSS 0.9x has no guid: readers fall back to the link)
    encoding: str = "utf-8"
    footer_html: str = ""

    @property
    def feed_path(self):
        return FEED_PATH.format(slug=self.slug)

    @property
    def feed_url(self):
        return f"{settings.SITE_URL}{self.feed_path}"

    @property
    def host(self):
        return self.site_url.split("/")[2].removeprefix("www.")


@dataclass(frozen=True)
class Story:
    outlet: Outlet
    id: str
    title: str
    author: str
    summary: str
    hours_ago: float
    link: str
    tags: tuple = ()
    story: str = ""  # the same event told by several outlets shares this key
    copy_of: str = ""  # "outlet/id" of the original, for syndicated copies with identical text
    official: dict = field(default_factory=dict, compare=False, hash=False)  # official_feeds.py

    @property
    def guid(self):
        if self.outlet.guid == "link":
            return self.link
        if self.outlet.guid == "tag":
            return f"tag:{self.outlet.host},2024:{self.id}"
        if self.outlet.guid == "urn":
            return f"urn:{self.outlet.slug}:{self.id}"
        return ""

    def summary_html(self):
        return f"<p>{html.escape(self.summary, quote=False)}</p>"

    def content_html(self):
        return self.summary_html() + self.outlet.footer_html

    def published(self, clock):
        return clock - timedelta(hours=self.hours_ago)


@dataclass(frozen=True)
class Wire:
    outlets: dict  # slug -> Outlet, in the file's order
    stories: list = field(default_factory=list)

    def stories_of(self, slug):
        """An outlet's stories, newest first, as a feed lists them."""
        return sorted((s for s in self.stories if s.outlet.slug == slug), key=lambda s: s.hours_ago)

    def multi_outlet_stories(self):
        """story key -> the outlets telling it, for the stories told by more than one outlet."""
        outlets = {}
        for story in self.stories:
            if story.story:
                outlets.setdefault(story.story, set()).add(story.outlet.slug)
        return {key: slugs for key, slugs in outlets.items() if len(slugs) > 1}


def _fail(message):
    raise ValueError(f"{DATA.name}: {message}")


@functools.cache
def load_wire():
    """Read and check wire.json once per process: a mistake in it names the story at fault."""
    data = json.loads(DATA.read_text(encoding="utf-8"))
    outlets = {}
    for row in data["outlets"]:
        outlet = Outlet(**row)
        if outlet.format not in FORMATS:
            _fail(f"outlet {outlet.slug!r} has unknown format {outlet.format!r}")
        outlets[outlet.slug] = outlet
    rows = {}
    for row in data["stories"]:
        if row["outlet"] not in outlets:
            _fail(f"story {row['id']!r} names unknown outlet {row['outlet']!r}")
        key = f"{row['outlet']}/{row['id']}"
        if key in rows:
            _fail(f"story {key!r} appears twice")
        rows[key] = row
    stories = []
    for key, row in rows.items():
        outlet = outlets[row["outlet"]]
        text = row
        if row.get("copy_of"):
            text = rows.get(row["copy_of"])
            if text is None or text.get("copy_of"):
                _fail(f"story {key!r} copies {row['copy_of']!r}, which is not an original story")
        link = outlet.link.format(site=outlet.site_url, id=row["id"])
        if row.get("same_link"):
            original = outlets[text["outlet"]]
            link = original.link.format(site=original.site_url, id=text["id"])
        if not 0 <= row["hours_ago"] < 24 * 6.5:
            _fail(f"story {key!r}: hours_ago must be from 0 to 156 (inside the 7-day window)")
        stories.append(
            Story(
                outlet=outlet,
                id=row["id"],
                title=text["title"],
                author=text["author"],
                summary=text["summary"],
                hours_ago=row["hours_ago"],
                link=link,
                tags=tuple(text.get("tags", ())),
                story=text.get("story", ""),
                copy_of=row.get("copy_of", ""),
                official=row.get("official", {}),
            )
        )
    return Wire(outlets=outlets, stories=stories)


def demo_clock(now=None):
    """``now`` rounded down to the clock step: the moment the demo feeds are rendered for."""
    now = (now or timezone.now()).astimezone(UTC)
    step = int(CLOCK_STEP.total_seconds())
    return datetime.fromtimestamp(int(now.timestamp()) // step * step, tz=UTC)


def feed_etag(content):
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def render_feed(outlet_slug, now=None):
    """The outlet's feed as served at ``now``: (bytes, content type). UnknownOutlet for a wrong slug."""
    wire = load_wire()
    outlet = wire.outlets.get(outlet_slug)
    if outlet is None:
        raise UnknownOutlet(f"No demo outlet {outlet_slug!r}.")
    render, content_type = FORMATS[outlet.format]
    content = render(outlet, wire.stories_of(outlet_slug), demo_clock(now))
    return content, f"{content_type}; charset={outlet.encoding}"


NS_ATOM = "http://www.w3.org/2005/Atom"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_CONTENT = "http://purl.org/rss/1.0/modules/content/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def _rss20(outlet, stories, clock):
    xml = XMLWriter(outlet.encoding)
    xml.open("rss", {"version": "2.0", "xmlns:atom": NS_ATOM, "xmlns:dc": NS_DC, "xmlns:content": NS_CONTENT})
    xml.open("channel")
    xml.leaf("title", outlet.name)
    xml.leaf("link", outlet.site_url)
    xml.leaf("description", outlet.description)
    xml.leaf("language", outlet.language)
    xml.leaf("lastBuildDate", rfc822(clock))
    xml.leaf("atom:link", attrs={"href": outlet.feed_url, "rel": "self", "type": "application/rss+xml"})
    for story in stories:
        xml.open("item")
        xml.leaf("title", story.title)
        xml.leaf("link", story.link)
        xml.leaf("guid", story.guid, {"isPermaLink": "true" if story.guid == story.link else "false"})
        xml.leaf("pubDate", rfc822(story.published(clock)))
        xml.leaf("dc:creator", story.author)
        for tag in story.tags:
            xml.leaf("category", tag)
        xml.leaf("description", story.summary_html())
        xml.leaf("content:encoded", story.content_html())
        xml.close("item")
    xml.close("channel")
    xml.close("rss")
    return xml.content()


def _rss09x(version):
    # RSS 0.91 and 0.92 have no guid and no item date. Many real 0.9x feeds add a pubDate anyway, and so
    # do these: without it every story would look as if it happened when first seen.
    def render(outlet, stories, clock):
        xml = XMLWriter(outlet.encoding)
        xml.open("rss", {"version": version})
        xml.open("channel")
        xml.leaf("title", outlet.name)
        xml.leaf("link", outlet.site_url)
        xml.leaf("description", outlet.description)
        xml.leaf("language", outlet.language)
        xml.leaf("lastBuildDate", rfc822(clock))
        for story in stories:
            xml.open("item")
            xml.leaf("title", story.title)
            xml.leaf("link", story.link)
            xml.leaf("description", story.content_html())
            xml.leaf("pubDate", rfc822(story.published(clock)))
            if version != "0.91":
                for tag in story.tags:
                    xml.leaf("category", tag)
            xml.close("item")
        xml.close("channel")
        xml.close("rss")
        return xml.content()

    return render


def _rss10(outlet, stories, clock):
    xml = XMLWriter(outlet.encoding)
    xml.open("rdf:RDF", {"xmlns:rdf": NS_RDF, "xmlns": "http://purl.org/rss/1.0/", "xmlns:dc": NS_DC})
    xml.open("channel", {"rdf:about": outlet.feed_url})
    xml.leaf("title", outlet.name)
    xml.leaf("link", outlet.site_url)
    xml.leaf("description", outlet.description)
    xml.leaf("dc:language", outlet.language)
    xml.leaf("dc:date", iso(clock))
    xml.open("items")
    xml.open("rdf:Seq")
    for story in stories:
        xml.leaf("rdf:li", attrs={"rdf:resource": story.link})
    xml.close("rdf:Seq")
    xml.close("items")
    xml.close("channel")
    for story in stories:
        xml.open("item", {"rdf:about": story.link})
        xml.leaf("title", story.title)
        xml.leaf("link", story.link)
        xml.leaf("description", story.content_html())
        xml.leaf("dc:creator", story.author)
        xml.leaf("dc:date", iso(story.published(clock)))
        for tag in story.tags:
            xml.leaf("dc:subject", tag)
        xml.close("item")
    xml.close("rdf:RDF")
    return xml.content()


def _atom10(outlet, stories, clock):
    xml = XMLWriter(outlet.encoding)
    xml.open("feed", {"xmlns": NS_ATOM, "xml:lang": outlet.language})
    xml.leaf("title", outlet.name)
    xml.leaf("subtitle", outlet.description)
    xml.leaf("id", f"tag:{outlet.host},2024:feed")
    xml.leaf("updated", iso(clock))
    xml.leaf("link", attrs={"rel": "alternate", "type": "text/html", "href": outlet.site_url})
    xml.leaf("link", attrs={"rel": "self", "type": "application/atom+xml", "href": outlet.feed_url})
    for story in stories:
        published = iso(story.published(clock))
        xml.open("entry")
        xml.leaf("title", story.title)
        xml.leaf("id", story.guid)
        xml.leaf("link", attrs={"rel": "alternate", "type": "text/html", "href": story.link})
        xml.leaf("published", published)
        xml.leaf("updated", published)
        xml.open("author")
        xml.leaf("name", story.author)
        xml.close("author")
        for tag in story.tags:
            xml.leaf("category", attrs={"term": tag})
        xml.leaf("summary", story.summary_html(), {"type": "html"})
        xml.leaf("content", story.content_html(), {"type": "html"})
        xml.close("entry")
    xml.close("feed")
    return xml.content()


def _atom03(outlet, stories, clock):
    xml = XMLWriter(outlet.encoding)
    xml.open("feed", {"version": "0.3", "xmlns": "http://purl.org/atom/ns#", "xml:lang": outlet.language})
    xml.leaf("title", outlet.name)
    xml.leaf("tagline", outlet.description)
    xml.leaf("link", attrs={"rel": "alternate", "type": "text/html", "href": outlet.site_url})
    xml.leaf("modified", iso(clock))
    for story in stories:
        published = iso(story.published(clock))
        xml.open("entry")
        xml.leaf("title", story.title)
        xml.leaf("link", attrs={"rel": "alternate", "type": "text/html", "href": story.link})
        xml.leaf("id", story.guid)
        xml.leaf("issued", published)
        xml.leaf("modified", published)
        xml.open("author")
        xml.leaf("name", story.author)
        xml.close("author")
        escaped = {"type": "text/html", "mode": "escaped"}
        xml.leaf("summary", story.summary_html(), escaped)
        xml.leaf("content", story.content_html(), escaped)
        xml.close("entry")
    xml.close("feed")
    return xml.content()


def _json_feed(version):
    def render(outlet, stories, clock):
        feed = {
            "version": f"https://jsonfeed.org/version/{version}",
            "title": outlet.name,
            "home_page_url": outlet.site_url,
            "feed_url": outlet.feed_url,
            "description": outlet.description,
        }
        if version == "1.1":
            feed["language"] = outlet.language
        feed["items"] = []
        for story in stories:
            item = {
                "id": story.guid,
                "url": story.link,
                "title": story.title,
                "summary": story.summary,
                "content_html": story.content_html(),
                "date_published": iso(story.published(clock)),
                "tags": list(story.tags),
            }
            # JSON Feed 1.1 replaced the single "author" with a list of "authors".
            if version == "1.1":
                item["authors"] = [{"name": story.author}]
            else:
                item["author"] = {"name": story.author}
            feed["items"].append(item)
        return json.dumps(feed, ensure_ascii=False, indent=2).encode(outlet.encoding)

    return render


# format -> (renderer, content type)
FORMATS = {
    "rss20": (_rss20, "application/rss+xml"),
    "rss091": (_rss09x("0.91"), "application/rss+xml"),
    "rss092": (_rss09x("0.92"), "application/rss+xml"),
    "rss10": (_rss10, "application/rdf+xml"),
    "atom10": (_atom10, "application/atom+xml"),
    "atom03": (_atom03, "application/atom+xml"),
    "json10": (_json_feed("1"), "application/feed+json"),
    "json11": (_json_feed("1.1"), "application/feed+json"),
    **official_feeds.FORMATS,
}
