"""load_demo's wire: demo sources on this site's /demo/feeds/, ingested at once, loaded once."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from watchdesk.demo.sources import load_demo_sources
from watchdesk.demo.wire import load_wire
from watchdesk.taxonomy.models import Region, Topic
from watchdesk.wire.models import Cluster, Item, Source, WireSettings
from watchdesk.wire.polling import poll_due

WIRE = load_wire()


@pytest.fixture
def site_url(settings):
    settings.SITE_URL = "http://127.0.0.1:8123"
    return settings.SITE_URL


@pytest.fixture
def demo_wire(db, regions, site_url):
    return load_demo_sources()


def test_one_source_per_outlet_on_this_site_with_its_language_region_and_trust(demo_wire, regions):
    sources = {source.name: source for source in Source.objects.all()}
    assert len(sources) == len(WIRE.outlets) == demo_wire.sources == demo_wire.sources_created
    for outlet in WIRE.outlets.values():
        source = sources[outlet.name]
        assert source.url == f"http://127.0.0.1:8123/demo/feeds/{outlet.slug}/"
        assert (source.language, source.trust, source.poll_minutes) == (outlet.language, outlet.trust, 15)
        assert source.site_url == outlet.site_url and source.enabled
        assert source.etag  # the first poll is answered "not modified"
    assert sources["Sierra Fire Wire"].home_region == regions["california"]
    assert sources["Lone Star Responder"].home_region == regions["texas"]
    # Mobile, Alabama is not in the small test gazetteer: no home region rather than a wrong one.
    assert sources["Gulf Coast Sentinel"].home_region is None


def test_the_demo_desk_gives_priority_to_california_and_texas(demo_wire, regions):
    assert set(WireSettings.load().priority_regions.all()) == {regions["california"], regions["texas"]}
    inside = Region.objects.within(regions["california"]) | Region.objects.within(regions["texas"])
    in_the_states = Item.objects.filter(place_links__region__in=inside)
    elsewhere = Item.objects.exclude(pk__in=in_the_states.values("pk")).filter(place_links__isnull=False)
    assert in_the_states.exists() and elsewhere.exists()
    assert all(item.score_parts["region"] > 0 for item in in_the_states.distinct())
    assert all(item.score_parts["region"] == 0 for item in elsewhere.distinct())


def test_every_story_is_in_the_inbox_at_once_with_topics(demo_wire):
    assert Item.objects.count() == len(WIRE.stories)
    assert demo_wire.items.created == len(WIRE.stories) and demo_wire.items.skipped == 0
    assert Topic.objects.filter(slug="wildfire").exclude(rule_phrases="").exists()
    wildfire = Item.objects.filter(topic_links__topic__slug="wildfire")
    assert wildfire.count() >= 6
    now = timezone.now()
    assert all(now - timedelta(days=7) < item.published_at <= now for item in Item.objects.all())
    assert not Item.objects.filter(date_guessed=True).exists()


def test_the_multi_outlet_stories_come_out_as_clusters_and_copies_as_duplicates(demo_wire):
    multi = Cluster.objects.filter(outlet_count__gte=2)
    assert multi.count() >= 8
    assert Item.objects.filter(duplicate_of__isnull=False).count() >= 2
    ridge = Item.objects.get(title__startswith="Ridge Fire explodes").cluster
    assert ridge.outlet_count == 3
    assert Cluster.objects.filter(breaking=True).exists()


def test_loading_again_duplicates_nothing(demo_wire, site_url):
    counts = Source.objects.count(), Item.objects.count(), Cluster.objects.count()

    again = load_demo_sources()
    assert again.skipped
    forced = load_demo_sources(force=True)
    assert not forced.skipped and forced.sources_created == 0
    assert forced.items.created == 0 and forced.items.unchanged == len(WIRE.stories)
    assert (Source.objects.count(), Item.objects.count(), Cluster.objects.count()) == counts


def test_a_new_address_moves_the_demo_sources_along(demo_wire, settings):
    settings.SITE_URL = "http://127.0.0.1:9000"
    summary = load_demo_sources()
    assert summary.skipped and summary.repointed == len(WIRE.outlets)
    assert Source.objects.filter(url__startswith="http://127.0.0.1:9000/demo/feeds/").count() == len(
        WIRE.outlets
    )


def test_other_sources_mean_no_demo_wire(db, site_url):
    Source.objects.create(name="Our own outlet", url="https://news.example.org/feed.xml")
    assert load_demo_sources().skipped
    assert Source.objects.count() == 1


@pytest.mark.slow
def test_load_demo_command_reports_posts_and_wire(db, home, site_url):
    call_command("load_regions", "--min-population", "1000000", "--us-min-population", "300000")
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert f"Demo wire: {len(WIRE.outlets)} sources ({len(WIRE.outlets)} new)" in out.getvalue()
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "Demo posts already loaded." in out.getvalue()
    assert "Wire sources already set up" in out.getvalue()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_polls_the_demo_feeds_from_the_site_itself(live_server, settings, regions):
    settings.DEBUG = True
    settings.SITE_URL = live_server.url
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.WATCHDESK_FETCH_ALLOWED_PORTS = [int(live_server.url.rsplit(":", 1)[1])]
    now = timezone.now()
    load_demo_sources(now=now)
    items = Item.objects.count()

    summary = poll_due(now=now)

    assert summary.polled == len(WIRE.outlets) and summary.failed == 0
    # Same demo clock step as the load, or a fresh render with the same items: nothing new either way.
    assert summary.created == 0 and Item.objects.count() == items
    assert set(Source.objects.values_list("consecutive_errors", flat=True)) == {0}


def test_the_official_feeds_come_in_placed_filed_and_held(demo_wire):
    kinds = set(Item.objects.exclude(official={}).values_list("official__kind", flat=True))
    assert kinds == {"cap", "quake", "point"}
    tornado = Item.objects.get(title__startswith="Tornado Warning")
    assert tornado.cluster.breaking and tornado.score_parts["alert"] == 10.0
    assert Item.objects.get(title__startswith="Flood Advisory").cluster_id is None  # expired: recorded only
    ridgecrest = Item.objects.get(title__startswith="M 4.6")
    assert ridgecrest.place_links.filter(region__code="US-CA", origin="point").exists()
    assert ridgecrest.topic_links.filter(topic__slug="earthquakes").exists()
