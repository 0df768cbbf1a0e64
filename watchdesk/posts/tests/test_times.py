"""Posts and cards say when, to the minute and with the zone: in the site's zone on the page (pages are
cached at the edge, the same for everyone), re-read in the visitor's own zone by local-time.js."""

from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.django_db

PUBLISHED = datetime(2026, 12, 4, 18, 5, tzinfo=UTC)
STAMP = '<time datetime="2026-12-04T12:05:00-06:00" data-local-time>Dec 4, 2026, 12:05 PM CST</time>'


@pytest.fixture
def post(settings, make_post, topics):
    settings.TIME_ZONE = "America/Chicago"
    return make_post("Shelter in place near the rail yard", published=PUBLISHED, topics=[topics["hazmat"]])


def test_the_post_page_gives_date_time_and_zone(client, post):
    html = client.get(post.url).content.decode()
    assert f'Posted <a href="/archive/2026/12/">{STAMP}</a>' in html
    # The outlet's own time, two hours earlier.
    assert 'Originally published <time datetime="2026-12-04T10:05:00-06:00" data-local-time>' in html
    assert '<script src="/static/watchdesk/local-time.js" defer></script>' in html


@pytest.mark.parametrize("url", ["/", "/topics/hazmat/", "/search/?q=shelter"])
def test_cards_and_results_give_date_time_and_zone(client, post, url):
    html = client.get(url).content.decode()
    assert "in place near the rail yard</a>" in html
    assert STAMP in html


def test_summer_times_carry_the_summer_zone(client, settings, make_post):
    settings.TIME_ZONE = "America/Chicago"
    make_post("July story", published=datetime(2026, 7, 4, 18, 5, tzinfo=UTC))
    html = client.get("/").content.decode()
    assert "Jul 4, 2026, 1:05 PM CDT</time>" in html
