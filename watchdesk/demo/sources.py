"""Demo sources: the outlets of wire.json as Sources fetching this site's own /demo/feeds/<slug>/.

Loading ingests each outlet's feed straight away (rendered here, not fetched), so the inbox is full on the
first start; after that the worker polls the sources like any others. Safe to repeat: sources are found
again by their feed path and items upsert by GUID, so a second load duplicates nothing.
"""

import functools
import operator
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.http import http_date

from watchdesk.demo.wire import demo_clock, feed_etag, load_wire, render_feed
from watchdesk.taxonomy.models import Region
from watchdesk.taxonomy.topics_loader import load_default_topics
from watchdesk.wire.ingest import IngestSummary, ingest_feed
from watchdesk.wire.models import Source, WireSettings

POLL_MINUTES = 15
PRIORITY_REGIONS = ["US-CA", "US-TX"]


@dataclass
class DemoWireSummary:
    sources: int = 0
    sources_created: int = 0
    repointed: int = 0
    items: IngestSummary = field(default_factory=IngestSummary)
    skipped: bool = False

    def __str__(self):
        if self.skipped:
            moved = f" ({self.repointed} demo sources pointed at this site)" if self.repointed else ""
            return f"Wire sources already set up; the worker polls them{moved}."
        return (
            f"Demo wire: {self.sources} sources ({self.sources_created} new) served from /demo/feeds/; "
            f"items {self.items}."
        )


def _demo_source(outlet):
    """The source made for this outlet earlier, even if SITE_URL has changed since."""
    return Source.objects.filter(url__endswith=outlet.feed_path).order_by("pk").first()


def repoint_demo_sources():
    """Point demo sources at this site's current address (`watchdesk run --addr` may have changed it)."""
    moved = 0
    for outlet in load_wire().outlets.values():
        source = _demo_source(outlet)
        if (
            source
            and source.url != outlet.feed_url
            and not Source.objects.filter(url=outlet.feed_url).exists()
        ):
            source.url = outlet.feed_url
            source.save(update_fields=["url", "host"])
            moved += 1
    return moved


@transaction.atomic
def load_demo_sources(*, force=False, now=None):
    """Create the demo sources and ingest their feeds, unless some source exists (``force``: anyway)."""
    summary = DemoWireSummary()
    summary.repointed = repoint_demo_sources()
    if Source.objects.exists() and not force:
        summary.skipped = True
        return summary
    now = now or timezone.now()
    load_default_topics()
    regions = dict(Region.objects.values_list("code", "pk"))
    # The demo desk cares most about two states, so that the inbox shows the "region" part of a score.
    wire_settings = WireSettings.load()
    if not wire_settings.priority_regions.exists():
        wire_settings.priority_regions.set(Region.objects.filter(code__in=PRIORITY_REGIONS))
    results = []
    for outlet in load_wire().outlets.values():
        fields = {
            "name": outlet.name,
            "url": outlet.feed_url,
            "site_url": outlet.site_url,
            "language": outlet.language,
            "home_region_id": regions.get(outlet.region),
            "trust": outlet.trust,
            "poll_minutes": POLL_MINUTES,
            "enabled": True,
        }
        source = _demo_source(outlet)
        if source is None:
            source = Source.objects.create(**fields)
            summary.sources_created += 1
        else:
            for name, value in fields.items():
                setattr(source, name, value)
            source.save()
        summary.sources += 1

        content, content_type = render_feed(outlet.slug, now)
        results.append(ingest_feed(source, content, content_type=content_type, now=now))
        # What the view will answer until the demo clock moves: the worker's first poll is then told
        # "not modified" instead of reading the same feed again.
        Source.objects.filter(pk=source.pk).update(
            etag=feed_etag(content), last_modified=http_date(demo_clock(now).timestamp())
        )
    summary.items = functools.reduce(operator.add, results, IngestSummary())
    return summary
