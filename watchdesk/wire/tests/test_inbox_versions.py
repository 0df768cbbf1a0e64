"""Which version of a story a draft is made from (the editor's pick; by default the best-scored one
with a byline), and what the inbox says once the post is live."""

import re

import pytest
from django.urls import reverse

from watchdesk.posts.models import StoryPost
from watchdesk.wire import inbox
from watchdesk.wire.drafting import DraftError, draft_post
from watchdesk.wire.models import Cluster, Item
from watchdesk.wire.tests import inbox_fixtures

pytestmark = pytest.mark.django_db
story = inbox_fixtures.story  # a fixture: cluster, items, topic and place links

INBOX = reverse("inbox:index")


@pytest.fixture
def editor_client(client, home, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def four_outlets(story):
    """The most trusted outlet's version (the lead) has no byline; the other three are bylined."""
    cluster = story("Warehouse fire in Lafayette", outlets=4)
    lead, second, third, fourth = cluster.test_items
    Item.objects.filter(pk=lead.pk).update(author="", score=12.0)
    Item.objects.filter(pk=second.pk).update(author="news@bayoufire.example (Marie Thibodeaux)", score=9.5)
    Item.objects.filter(pk=third.pk).update(author="Beau Thibodeaux", score=11.0)
    Item.objects.filter(pk=fourth.pk).update(author="By Ashley Greer, Staff Writer", score=7.0)
    return cluster


def test_the_default_version_is_the_best_scored_with_a_byline(editor_client, four_outlets):
    third = four_outlets.test_items[2]
    editor_client.post(reverse("inbox:draft", args=[four_outlets.pk]))
    post = StoryPost.objects.get()
    assert (post.byline, post.source_name, post.source_url) == ("Beau Thibodeaux", "Outlet 3", third.url)


def test_without_any_byline_the_lead_is_drafted(home, editor, story):
    cluster = story("Levee holds", outlets=3)
    Item.objects.filter(cluster=cluster).update(author="  ")
    Item.objects.filter(pk=cluster.test_items[2].pk).update(score=99)
    post = draft_post(cluster, user=editor)
    assert (post.source_url, post.byline) == (cluster.test_items[0].url, "")


def test_the_editor_picks_the_version_and_its_byline_comes_cleaned(editor_client, four_outlets):
    second = four_outlets.test_items[1]
    response = editor_client.post(reverse("inbox:draft", args=[four_outlets.pk]), {"item": second.pk})
    post = StoryPost.objects.get()
    assert response["Location"] == reverse("wagtailadmin_pages:edit", args=[post.pk])
    assert (post.byline, post.source_name, post.source_url) == ("Marie Thibodeaux", "Outlet 2", second.url)
    assert Cluster.objects.get(pk=four_outlets.pk).post_id == post.pk


def test_a_version_from_another_story_is_refused_and_nothing_is_drafted(editor_client, four_outlets, story):
    other = story("Something else").test_items[0]
    for chosen in (other.pk, "999999", "x"):
        response = editor_client.post(
            reverse("inbox:draft", args=[four_outlets.pk]), {"item": chosen}, follow=True
        )
        assert "That version is not one of the story" in response.content.decode()
    assert not StoryPost.objects.exists()
    with pytest.raises(DraftError):
        draft_post(four_outlets, user=None, version=other)


def test_the_inbox_offers_every_version_with_the_default_selected(editor_client, four_outlets):
    html = editor_client.get(INBOX).content.decode()
    select = re.search(
        rf'<select name="item" id="version-{four_outlets.pk}-list"[^>]*>(.*?)</select>', html, re.S
    )
    options = re.findall(r'<option value="(\d+)"( selected)?>([^<]*)</option>', select.group(1))
    items = four_outlets.test_items
    assert [int(pk) for pk, _selected, _label in options] == [item.pk for item in items]
    assert [label for _pk, _selected, label in options] == [
        "Outlet 1 · no byline · 12.0",
        "Outlet 2 · by Marie Thibodeaux · 9.5",
        "Outlet 3 · by Beau Thibodeaux · 11.0",
        "Outlet 4 · by Ashley Greer · 7.0",
    ]
    assert [int(pk) for pk, selected, _label in options if selected] == [items[2].pk]


def test_the_story_page_has_draft_from_this_version_on_every_item(editor_client, four_outlets):
    html = editor_client.get(reverse("inbox:cluster", args=[four_outlets.pk])).content.decode()
    assert html.count("Draft from this version") == 4
    for item in four_outlets.test_items:
        assert f'data-draft-version="{item.pk}"' in html
    assert "By Marie Thibodeaux ·" in html and "bayoufire.example" not in html


def publish(post, editor):
    # Rewritten first: a draft still holding the wire's placeholder is not meant to be published.
    post.summary = "Crews stopped the fire before it reached the homes nearby."
    post.body = "<p>Fire crews stopped the fire overnight, the county said.</p>"
    post.save_revision(user=editor).publish()  # as a moderator would: editors submit for moderation
    return StoryPost.objects.get(pk=post.pk)


def test_a_live_post_reads_published_with_a_link_and_a_draft_reads_drafted(editor_client, editor, story):
    live_story, draft_story = story("Levee holds"), story("Chlorine leak")
    live = publish(draft_post(live_story, user=editor), editor)
    draft = draft_post(draft_story, user=editor)

    html = editor_client.get(INBOX, {"status": "all"}).content.decode()
    row = row_html(html, live_story.pk)
    assert live.url and f'href="{live.url}"' in row
    assert "Published" in row and "View live post" in row and "Drafted" not in row
    assert reverse("wagtailadmin_pages:edit", args=[live.pk]) in row  # "Edit post"
    row = row_html(html, draft_story.pk)
    assert "Drafted" in row and "Open draft" in row and "Published" not in row
    assert reverse("wagtailadmin_pages:edit", args=[draft.pk]) in row

    page = editor_client.get(reverse("inbox:cluster", args=[live_story.pk])).content.decode()
    assert "Published" in page and f'href="{live.url}"' in page and "Draft from this version" not in page
    assert editor_client.get(live.url).status_code == 200


def test_a_deleted_post_lets_the_story_be_drafted_again(editor_client, editor, story):
    cluster = story("Levee holds")
    draft_post(cluster, user=editor).delete()
    row = row_html(editor_client.get(INBOX, {"status": "all"}).content.decode(), cluster.pk)
    assert "Draft post" in row and "Open draft" not in row


def test_load_details_finds_posts_in_one_query_and_none_without_posts(
    editor, story, django_assert_num_queries
):
    clusters = [story(f"Story {n}") for n in range(3)]
    with django_assert_num_queries(3):
        inbox.load_details(clusters)
    for cluster in clusters:
        draft_post(cluster, user=editor)
    clusters = list(Cluster.objects.filter(pk__in=[c.pk for c in clusters]))
    with django_assert_num_queries(4):
        rows = inbox.load_details(clusters)
    assert all(row.post_page and not row.post_page.live for row in rows)


def row_html(html, pk):
    start = html.index(f'data-cluster="{pk}"')
    return html[start : html.index("</tr>", html.index('data-label="Actions"', start))]


# The unfiltered inbox's 17 queries, plus 3 once any story has a post: the posts, and Wagtail's locale
# and site lookups for the live posts' links (once per request, not per row).
QUERIES_WITH_POSTS = 20


def test_stories_with_posts_cost_the_same_queries_for_5_or_30(
    editor_client, editor, story, django_assert_num_queries
):
    def add(count):
        for n in range(count):
            post = draft_post(story(f"Story {n}", outlets=3), user=editor)
            if n % 2:
                publish(post, editor)
        editor_client.get(INBOX, {"status": "all"})  # warm the caches (site, settings, new count)

    add(5)
    with django_assert_num_queries(QUERIES_WITH_POSTS):
        assert editor_client.get(INBOX, {"status": "all"}).content.decode().count("View live post") == 2
    add(25)
    with django_assert_num_queries(QUERIES_WITH_POSTS):
        assert editor_client.get(INBOX, {"status": "all"}).content.decode().count("View live post") == 14
