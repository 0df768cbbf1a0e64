"""On the demo, a reader's searches find the posts they expect: by stem, by topic and by place."""

import pytest
from django.core.management import call_command
from wagtail.search.models import IndexEntry

from watchdesk.posts.models import StoryPost
from watchdesk.posts.setup import setup_site
from watchdesk.posts.tests.test_search import search, suggestions
from watchdesk.taxonomy.models import Region, Topic

# Each test loads the gazetteer and the whole demo: seconds apiece.
pytestmark = pytest.mark.slow


@pytest.fixture
def demo(db, settings):
    settings.POSTS_PER_PAGE = 100  # every result on one page
    setup_site()
    call_command("load_regions", "--min-population", "1000000", "--us-min-population", "300000")
    call_command("load_demo")


def urls(posts):
    return {post.url for post in posts}


def expected_finds():
    live = StoryPost.objects.published()
    return {
        "wildfire": urls(live.in_topic(Topic.objects.get(slug="wildfire"))),
        "hazmat": urls(live.in_topic(Topic.objects.get(slug="hazmat"))),
        "mali": urls(live.in_region(Region.objects.get(code="ML"))),
        "evacuations": urls(live.filter(slug__in=["metro-manila-pre-emptive-evacuations-typhoon"])),
        "evacuation": urls(live.filter(slug__in=["foothill-fire-forces-evacuation-east-of-sacramento"])),
    }


def test_demo_searches_find_what_a_reader_expects(demo, client):
    wanted = expected_finds()
    assert len(wanted["wildfire"]) == 6 and len(wanted["hazmat"]) == 4 and len(wanted["mali"]) == 2

    found = {query: set(search(client, q=query)) for query in [*wanted, "wildfires", "hazardous materials"]}

    # Every post of the topic, whatever its text says; more may mention the word.
    assert wanted["wildfire"] <= found["wildfire"]
    assert found["wildfires"] == found["wildfire"]
    assert wanted["hazmat"] <= found["hazmat"]
    assert found["mali"] == wanted["mali"]
    # One stem: the singular and the plural find the same posts, the 11 the singular found before and more.
    assert found["evacuations"] == found["evacuation"]
    assert len(found["evacuation"]) > 11
    assert wanted["evacuations"] | wanted["evacuation"] <= found["evacuation"]

    # Rebuilding the index from scratch gives the same answers.
    IndexEntry.objects.all().delete()
    assert search(client, q="wildfire") == []
    call_command("update_index", verbosity=0)
    assert {query: set(search(client, q=query)) for query in found} == found


def test_demo_typo_suggests_the_topic(demo, client):
    response = client.get("/search/", {"q": "wildfrie"})

    assert search(client, q="wildfrie") == []
    assert suggestions(response)[0] == ("q=wildfire", "wildfire")
    assert 'Did you mean <a href="?q=wildfire">wildfire</a>' in response.content.decode()
    assert set(search(client, q="wildfire")) >= expected_finds()["wildfire"]
