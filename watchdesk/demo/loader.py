"""Load the demo content in content.json: topics, regions, and published story posts; then the demo
wire (watchdesk.demo.sources): sources serving wire.json's outlets from this site, already ingested.

Written for this project: the outlets, people and events are invented, and every link points at an
example.org-style address.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.html import escape
from wagtail.models import Site

from watchdesk.core.models import SiteIdentity
from watchdesk.demo.sources import DemoWireSummary, load_demo_sources
from watchdesk.posts.models import HomePage, StoryPost, StoryPostRegion
from watchdesk.subscriptions.models import Subscriber
from watchdesk.taxonomy.gazetteer import load_gazetteer
from watchdesk.taxonomy.models import Region, Topic

CONTENT = Path(__file__).with_name("content.json")
SITE_NAME = "Homeland Security Network Blog"
TAGLINE = "The information source for first responders."
# Curated posts go up a little after the original story.
CURATION_DELAY = timedelta(hours=3)


@dataclass
class DemoSummary:
    posts: int = 0
    topics: int = 0
    subscribers: int = 0
    skipped: bool = False
    wire: DemoWireSummary | None = None

    def __str__(self):
        if self.skipped:
            text = "Demo posts already loaded."
        else:
            text = (
                f"Demo content loaded: {self.posts} posts in {self.topics} topics, "
                f"{self.subscribers} subscribers (e-mails go to var/outbox/)."
            )
        return f"{text}\n{self.wire}" if self.wire else text


def resolve_region(reference):
    """Turn "ML", "US-CA", "county:06037" or "city:Los Angeles/US-CA" into a Region.

    A city is found by name under its parent; of two places with one name, the more populous wins.
    """
    if not reference.startswith("city:"):
        return Region.objects.get(code=reference)
    name, _, parent = reference.removeprefix("city:").rpartition("/")
    cities = Region.objects.filter(kind=Region.Kind.CITY, name=name, parent__code=parent)
    city = cities.order_by("-population").first()
    if city is None:
        raise Region.DoesNotExist(f"No city {name!r} under {parent!r} in the gazetteer.")
    return city


def body_html(paragraphs):
    return "".join(f"<p>{escape(paragraph)}</p>" for paragraph in paragraphs)


def load_demo(*, force=False, now=None):
    """The demo posts (unless posts exist), then the demo wire (unless sources exist); ``force``: both."""
    summary = load_demo_posts(force=force)
    summary.wire = load_demo_sources(force=force, now=now)
    return summary


@transaction.atomic
def load_demo_posts(*, force=False):
    summary = DemoSummary()
    if StoryPost.objects.exists() and not force:
        summary.skipped = True
        return summary
    content = json.loads(CONTENT.read_text(encoding="utf-8"))
    if not Region.objects.exists():
        load_gazetteer()

    site = Site.objects.get(is_default_site=True)
    identity = SiteIdentity.for_site(site)
    identity.name, identity.tagline = SITE_NAME, TAGLINE
    identity.description = (
        "Curated news for police, fire, EMS and emergency management: what happened, where, and a "
        "link to the full story."
    )
    identity.save()
    site.site_name = SITE_NAME
    site.save()

    topics = {}
    for row in content["topics"]:
        topics[row["slug"]], _ = Topic.objects.update_or_create(
            slug=row["slug"], defaults={"name": row["name"], "description": row["description"]}
        )
    summary.topics = len(topics)

    home = HomePage.objects.get()
    for row in content["posts"]:
        published = datetime.fromisoformat(row["published"].replace("Z", "+00:00"))
        via = row.get("via") or {}
        post = StoryPost(
            title=row["title"],
            slug=row["slug"],
            summary=row["summary"],
            body=body_html(row["body"]),
            source_name=row["outlet"],
            source_url=row["url"],
            byline=" and ".join(row["authors"]),
            source_published_at=published,
            via_name=via.get("name", ""),
            via_url=via.get("url", ""),
            first_published_at=published + CURATION_DELAY,
            notify_subscribers=False,
        )
        post.topics.set([topics[slug] for slug in row["topics"]])
        post.tags.set(row["tags"])
        post.region_links = [
            StoryPostRegion(region=resolve_region(reference), sort_order=n)
            for n, reference in enumerate(dict.fromkeys(row["regions"]))
        ]
        home.add_child(instance=post)
        post.save_revision().publish()
        StoryPost.objects.filter(pk=post.pk).update(last_published_at=post.first_published_at)
        summary.posts += 1
    summary.subscribers = load_demo_subscribers(topics)
    return summary


# (address, name, cadence, topic slugs, region codes); no topics and no regions: everything.
DEMO_SUBSCRIBERS = [
    ("chief.rivera@example.net", "Chief Ana Rivera", "instant", [], []),
    ("wildland.ops@example.net", "Wildland Ops Desk", "instant", ["wildfire"], ["US-CA"]),
    ("hazmat.team@example.net", "HazMat Team 4", "daily", ["hazmat"], []),
    ("gulf.ems@example.net", "Gulf Coast EMS", "daily", ["hurricanes", "ems"], ["US-TX", "US-LA"]),
    ("training.officer@example.net", "", "weekly", ["training"], []),
    ("county.oem@example.net", "County OEM", "weekly", [], ["county:06037"]),
]


def load_demo_subscribers(topics):
    """A few confirmed readers with different scopes, so publishing a post in the demo e-mails someone."""
    if Subscriber.objects.exists():
        return 0
    now = timezone.now()
    for email, name, cadence, topic_slugs, region_codes in DEMO_SUBSCRIBERS:
        subscriber = Subscriber.objects.create(
            email=email,
            name=name,
            cadence=cadence,
            everything=not (topic_slugs or region_codes),
            status=Subscriber.Status.CONFIRMED,
            confirmed_at=now,
            last_digest_at=now,
            source=Subscriber.Source.ADMIN,
        )
        subscriber.topics.set([topics[slug] for slug in topic_slugs])
        subscriber.regions.set(Region.objects.filter(code__in=region_codes))
    return len(DEMO_SUBSCRIBERS)
