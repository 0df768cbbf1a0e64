"""The inbox's actions: dismiss, snooze, mark reviewed, reopen, correcting an item's places, and adding
an article by URL. Drafting has its own file (test_drafting.py)."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from watchdesk.testing.webserver import Reply
from watchdesk.wire.models import Cluster, Item, ItemPlace, WireSettings
from watchdesk.wire.tests import inbox_fixtures

pytestmark = pytest.mark.django_db
story = inbox_fixtures.story  # a fixture: cluster, items, topic and place links

INBOX = reverse("inbox:index")
PAGES = Path(__file__).parent / "pages"


@pytest.fixture
def editor_client(client, home, editor):
    client.force_login(editor)
    return client


def test_dismissing_takes_a_story_out_of_the_inbox_and_records_who(editor_client, editor, story):
    cluster = story("Dismiss me")
    response = editor_client.post(reverse("inbox:dismiss", args=[cluster.pk]))
    assert response.status_code == 302 and response["Location"] == INBOX
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.DISMISSED
    assert cluster.status_changed_by == editor
    assert timezone.now() - cluster.status_changed_at < timedelta(minutes=1)
    page = editor_client.get(INBOX).content.decode()
    assert "Dismissed: “Dismiss me”." in page and f'data-cluster="{cluster.pk}"' not in page


@pytest.mark.parametrize("hours", [4, 24, 72])
def test_snoozing_hides_a_story_until_its_time_is_up(editor_client, editor, story, hours):
    cluster = story("Later")
    before = timezone.now()
    editor_client.post(reverse("inbox:snooze", args=[cluster.pk]), {"hours": str(hours)})
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.SNOOZED and cluster.status_changed_by == editor
    assert before + timedelta(hours=hours) <= cluster.snoozed_until <= timezone.now() + timedelta(hours=hours)
    assert f'data-cluster="{cluster.pk}"' not in editor_client.get(INBOX).content.decode()
    # Time passes: the story is back in the open inbox, still marked snoozed until someone acts.
    Cluster.objects.filter(pk=cluster.pk).update(snoozed_until=timezone.now() - timedelta(seconds=1))
    assert f'data-cluster="{cluster.pk}"' in editor_client.get(INBOX).content.decode()


def test_snoozing_for_an_unoffered_time_changes_nothing(editor_client, story):
    cluster = story("Not for ever")
    response = editor_client.post(
        reverse("inbox:snooze", args=[cluster.pk]), {"hours": "100000"}, follow=True
    )
    assert "Choose how long to snooze" in response.content.decode()
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.NEW and cluster.snoozed_until is None


def test_marking_reviewed_keeps_the_story_in_the_inbox(editor_client, story):
    cluster = story("Seen it")
    editor_client.post(reverse("inbox:review", args=[cluster.pk]))
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.REVIEWED
    html = editor_client.get(INBOX).content.decode()
    assert f'data-cluster="{cluster.pk}"' in html
    row = html[html.index(f'data-cluster="{cluster.pk}"') :]
    assert "Mark reviewed" not in row[: row.index("</tr>")]


@pytest.mark.parametrize("status", [Cluster.Status.DISMISSED, Cluster.Status.SNOOZED])
def test_reopening_brings_a_closed_story_back(editor_client, editor, story, status):
    cluster = story("Second thoughts", status=status, snoozed_until=timezone.now() + timedelta(hours=3))
    html = editor_client.get(INBOX, {"status": status}).content.decode()
    assert reverse("inbox:reopen", args=[cluster.pk]) in html
    editor_client.post(reverse("inbox:reopen", args=[cluster.pk]))
    cluster.refresh_from_db()
    assert (cluster.status, cluster.snoozed_until, cluster.status_changed_by) == ("new", None, editor)


def test_reopening_an_open_story_changes_nothing(editor_client, story):
    cluster = story("Already open", status=Cluster.Status.REVIEWED)
    response = editor_client.post(reverse("inbox:reopen", args=[cluster.pk]), follow=True)
    assert "is reviewed, not closed" in response.content.decode()
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.REVIEWED and cluster.status_changed_at is None


def test_an_action_goes_back_to_the_filtered_page_it_came_from(editor_client, story):
    cluster = story("Filtered")
    back = INBOX + "?status=all&p=1"
    response = editor_client.post(reverse("inbox:review", args=[cluster.pk]), {"next": back})
    assert response["Location"] == back
    elsewhere = editor_client.post(
        reverse("inbox:review", args=[cluster.pk]), {"next": "https://evil.example/"}
    )
    assert elsewhere["Location"] == INBOX


@pytest.mark.parametrize("action", ["draft", "dismiss", "snooze", "review", "reopen"])
def test_actions_refuse_get(editor_client, story, action):
    cluster = story("Only by POST")
    assert editor_client.get(reverse(f"inbox:{action}", args=[cluster.pk])).status_code == 405
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.NEW


def test_actions_need_a_csrf_token(client, home, editor, story):
    from django.test import Client

    cluster = story("Forged")
    careful = Client(enforce_csrf_checks=True)
    careful.force_login(editor)
    assert careful.post(reverse("inbox:dismiss", args=[cluster.pk])).status_code == 403
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.NEW


@pytest.mark.parametrize("action", ["draft", "dismiss", "review"])
def test_outsiders_cannot_act(client, home, outsider, django_user_model, story, action):
    cluster = story("Not yours")
    url = reverse(f"inbox:{action}", args=[cluster.pk])
    assert client.post(url).status_code == 302  # anonymous: to the login page
    client.force_login(outsider)
    assert client.post(url).status_code == 302
    staff = django_user_model.objects.create_user("pat", "pat@example.org", "correct horse 9")
    staff.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(staff)
    assert client.post(url)["Location"] == reverse("wagtailadmin_home")
    cluster.refresh_from_db()
    assert (cluster.status, cluster.post_id) == ("new", None)


# Correcting places ----------------------------------------------------------------------------------
def test_an_editor_replaces_the_places_of_an_item(editor_client, story, regions, topics):
    cluster = story(
        "Flooding in Houston",
        places={regions["mali"]: (0.6, "text"), regions["houston"]: (0.9, "title")},
        topics={topics["flooding"]: (6, ["flooding"])},
    )
    item = cluster.test_items[0]
    settings = WireSettings.load()
    settings.priority_regions.set([regions["texas"]])  # worth region_weight (5) points at confidence 1
    page = editor_client.get(reverse("inbox:cluster", args=[cluster.pk])).content.decode()
    assert 'value="houston-tx, mali"' in page  # the form starts from the current places, best first

    response = editor_client.post(
        reverse("inbox:places", args=[item.pk]), {f"item-{item.pk}-regions": "houston-tx, US-TX, Texas"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("inbox:cluster", args=[cluster.pk])
    rows = ItemPlace.objects.filter(item=item).order_by("region__code")
    assert [(row.region.code, row.confidence, row.origin) for row in rows] == [
        ("US-TX", 1.0, "editor"),
        ("city:4699066", 1.0, "editor"),
    ]
    item.refresh_from_db()
    assert item.places_edited
    # Rescored at once: the editor's Houston is inside the priority region Texas, for certain.
    assert item.score_parts["region"] == 5.0 * 1.0 and item.score == item.score_parts["total"]


def test_an_editor_can_say_an_item_is_about_no_place(editor_client, story, regions):
    cluster = story("Nowhere in particular", places={regions["mali"]: (0.6, "text")})
    item = cluster.test_items[0]
    editor_client.post(reverse("inbox:places", args=[item.pk]), {f"item-{item.pk}-regions": ""})
    assert not ItemPlace.objects.filter(item=item).exists()
    item.refresh_from_db()
    assert item.places_edited


def test_an_unknown_place_is_an_error_and_changes_nothing(editor_client, story, regions):
    cluster = story("Somewhere", places={regions["mali"]: (0.6, "text")})
    item = cluster.test_items[0]
    response = editor_client.post(
        reverse("inbox:places", args=[item.pk]), {f"item-{item.pk}-regions": "mali, Atlantis"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "No region “Atlantis”" in html and 'value="mali, Atlantis"' in html
    assert [(row.region.code, row.origin) for row in ItemPlace.objects.filter(item=item)] == [("ML", "text")]
    item.refresh_from_db()
    assert not item.places_edited


def test_correcting_places_needs_the_inbox_permission(client, home, outsider, story, regions):
    cluster = story("Guarded", places={regions["mali"]: (0.6, "text")})
    item = cluster.test_items[0]
    client.force_login(outsider)
    client.post(reverse("inbox:places", args=[item.pk]), {f"item-{item.pk}-regions": "texas"})
    assert [row.region.code for row in ItemPlace.objects.filter(item=item)] == ["ML"]


# Add from URL ---------------------------------------------------------------------------------------
def test_an_article_added_by_url_is_fetched_by_the_task_and_lands_in_the_inbox(
    editor_client, web_server, regions, django_capture_on_commit_callbacks
):
    """Depends on the article task (watchdesk.wire.tasks.add_article and wire.articles.fetch_article).
    Tasks run at once in tests; in production the worker fetches, never the web request."""
    page = (PAGES / "valley-courier-wildfire.html").read_bytes()
    web_server.routes["/news/ridge-fire.html"] = Reply(
        200, {"Content-Type": "text/html; charset=utf-8"}, page
    )
    url = web_server.url("/news/ridge-fire.html")
    form = editor_client.get(reverse("inbox:add_url"))
    assert form.status_code == 200 and "Article URL" in form.content.decode()

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = editor_client.post(reverse("inbox:add_url"), {"url": url})
    assert response.status_code == 302 and response["Location"] == INBOX
    assert not Item.objects.exists()  # nothing fetched inside the request
    assert len(web_server.requests) == 0
    for callback in queued:
        callback()
    item = Item.objects.get()
    assert (item.origin, item.title) == (Item.Origin.ARTICLE, "Crews hold the Ridge Fire line as winds ease")
    assert item.cluster_id is not None  # enriched: it has a story in the inbox
    message = editor_client.get(INBOX).content.decode()
    assert "it will appear in the inbox in a moment" in message


@pytest.mark.parametrize(
    "url, reason",
    [
        ("ftp://news.example.org/story", "cannot be fetched"),
        ("not a url", "Enter a valid URL"),
        ("http://127.0.0.1/admin/", "cannot be fetched"),
        ("http://169.254.169.254/latest/meta-data/", "cannot be fetched"),
        ("https://news.example.org:8443/story", "cannot be fetched"),
    ],
)
def test_add_from_url_refuses_addresses_the_fetcher_never_fetches(
    editor_client, django_capture_on_commit_callbacks, url, reason
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = editor_client.post(reverse("inbox:add_url"), {"url": url})
    assert response.status_code == 200 and reason in response.content.decode()
    assert queued == []
