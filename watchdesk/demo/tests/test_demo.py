from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from wagtail.models import Site

from watchdesk.core.models import SiteIdentity
from watchdesk.delivery.models import Broadcast, Delivery
from watchdesk.posts.models import StoryPost
from watchdesk.posts.setup import setup_site
from watchdesk.subscriptions.models import Subscriber
from watchdesk.taxonomy.models import Region, Topic

# Each test loads the gazetteer and the whole demo: seconds apiece.
pytestmark = pytest.mark.slow


@pytest.fixture
def demo(db):
    setup_site()
    call_command("load_regions", "--min-population", "1000000", "--us-min-population", "300000")
    call_command("load_demo")


def test_demo_site_is_named_and_has_enough_posts_topics_and_regions(demo, client):
    identity = SiteIdentity.for_site(Site.objects.get(is_default_site=True))
    assert identity.name == "Homeland Security Network Blog"
    assert identity.tagline == "The information source for first responders."

    posts = StoryPost.objects.published()
    assert posts.count() >= 30
    assert Topic.objects.filter(posts__live=True).distinct().count() >= 8
    used = Region.objects.filter(pk__in=posts.values("region_links__region")).count()
    assert used >= 10

    home = client.get("/").content.decode()
    assert "Homeland Security Network Blog" in home
    assert "The information source for first responders." in home


def test_demo_sources_point_at_example_domains_only(demo):
    reserved = ("example.org", "example.com", "example.net")
    for post in StoryPost.objects.all():
        for url in filter(None, [post.source_url, post.via_url]):
            host = urlsplit(url).hostname
            assert host in reserved or host.endswith(tuple(f".{d}" for d in reserved)), url
        assert post.byline and post.source_name and post.summary


def test_demo_loads_once(demo):
    count = StoryPost.objects.count()
    call_command("load_demo")
    assert StoryPost.objects.count() == count


def test_demo_region_hierarchy_shows_los_angeles_under_california(demo, client):
    response = client.get("/regions/california/")
    assert response.status_code == 200
    la = StoryPost.objects.in_region(Region.objects.get(code="US-CA"))
    assert la.exists()
    for post in la:
        assert post.title in response.content.decode() or response.context["page_obj"].has_next()


def test_demo_subscribers_are_confirmed_with_varied_scopes_and_nothing_was_mailed(demo):
    subscribers = Subscriber.objects.all()
    assert subscribers.count() >= 5
    assert set(subscribers.values_list("status", flat=True)) == {"confirmed"}
    assert {"instant", "daily", "weekly"} <= set(subscribers.values_list("cadence", flat=True))
    assert subscribers.filter(everything=False, regions__code="US-CA").exists()
    assert all(s.email.endswith("@example.net") for s in subscribers)
    # Loading the archive is not news: nobody is e-mailed 40 old posts.
    assert not Broadcast.objects.exists() and not Delivery.objects.exists()
