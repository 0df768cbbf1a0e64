"""A post's updates ("Update, Dec 5, 2026, 2:05 PM CST: Evacuation order lifted") on its page and in the
feeds, newest first, moving the post's modified date; in a fixed number of queries."""

import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import feedparser
import pytest

from watchdesk.delivery import broadcasts
from watchdesk.delivery.models import Broadcast
from watchdesk.posts.tests.test_feeds import FEED_QUERIES, publish_batch
from watchdesk.posts.tests.test_html import html_problems
from watchdesk.posts.tests.test_post_page import POST_PAGE_QUERIES

pytestmark = pytest.mark.django_db
PUBLISHED = datetime(2026, 12, 5, 18, tzinfo=UTC)


@pytest.fixture
def updated(make_post, settings):
    """A post published at noon Chicago time with two updates that afternoon."""
    settings.TIME_ZONE = "America/Chicago"
    post = make_post("Brush fire forces evacuations", published=PUBLISHED)
    for minutes, text in ((125, "Evacuation order lifted"), (65, "Highway 2 <closed> & guarded")):
        update, _ = broadcasts.record_update(post, text)
        Broadcast.objects.filter(pk=update.pk).update(created_at=PUBLISHED + timedelta(minutes=minutes))
    return post


def test_the_post_page_lists_its_updates_newest_first_with_date_time_and_zone(client, updated):
    html = client.get(updated.url).content.decode()
    lines = re.findall(r'<li class="post-update">(.*?)</li>', html)
    assert lines == [
        '<strong>Update, <time datetime="2026-12-05T14:05:00-06:00" data-local-time>Dec 5, 2026, 2:05 PM CST'
        "</time>:</strong> Evacuation order lifted",
        '<strong>Update, <time datetime="2026-12-05T13:05:00-06:00" data-local-time>Dec 5, 2026, 1:05 PM CST'
        "</time>:</strong> Highway 2 &lt;closed&gt; &amp; guarded",
    ]
    # Above the body: the newest news first.
    assert html.index('class="post__updates"') < html.index('class="post__body')
    assert '<meta property="article:modified_time" content="2026-12-05T14:05:00-06:00">' in html
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert data["dateModified"] == "2026-12-05T20:05:00+00:00"  # the same instant


def test_a_post_without_updates_shows_none(client, make_post):
    post = make_post("Quiet day")
    html = client.get(post.url).content.decode()
    assert "post__updates" not in html and "Update," not in html


def test_the_feeds_carry_the_update_lines_and_the_update_moves_the_updated_date(client, updated):
    atom = feedparser.parse(client.get("/feed/atom/").content)
    [entry] = atom.entries
    assert entry.updated_parsed[:5] == (2026, 12, 5, 20, 5)
    assert entry.published_parsed[:5] == (2026, 12, 5, 18, 0)
    content = unescape(entry.summary)
    assert content.index(
        "Update, Dec 5, 2026, 2:05 PM CST:</strong> Evacuation order lifted"
    ) < content.index("Update, Dec 5, 2026, 1:05 PM CST:</strong> Highway 2 <closed> & guarded")

    item = json.loads(client.get("/feed/json/").content)["items"][0]
    assert item["date_modified"] == "2026-12-05T20:05:00+00:00"
    assert "Evacuation order lifted" in item["content_html"]
    assert "Highway 2 &lt;closed&gt; &amp; guarded" in item["content_html"]  # escaped once, inside the HTML

    rss = feedparser.parse(client.get("/feed/").content)
    assert "Evacuation order lifted" in rss.entries[0].summary


def test_pages_and_feeds_take_the_same_number_of_queries_with_updates(
    client, make_post, topics, regions, django_assert_num_queries
):
    publish_batch(make_post, topics, regions, 4, rich=True)
    posts = list(Broadcast.objects.filter(kind="post").select_related("post"))
    for broadcast in posts:
        for n in range(3):
            broadcasts.record_update(broadcast.post, f"Update {n} of {broadcast.post.title}")
    post = posts[0].post
    client.get(post.url)
    with django_assert_num_queries(POST_PAGE_QUERIES):
        assert client.get(post.url).content.decode().count('class="post-update"') == 3
    for url, queries in FEED_QUERIES[:3]:
        client.get(url)
        with django_assert_num_queries(queries, info=url):
            assert client.get(url).content.decode().count("Update 2 of") == 4


@pytest.mark.slow
def test_a_post_page_with_updates_is_valid_html5(client, updated, tmp_path):
    problems = html_problems({"post-with-updates": client.get(updated.url).content}, tmp_path)
    assert not problems, "\n".join(problems)
