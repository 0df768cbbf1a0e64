"""Editors work in the Wagtail admin: drafts, preview, moderation and scheduled publishing."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Workflow

from watchdesk.core.scheduler import tick
from watchdesk.posts.models import StoryPost


def form_data(post, **overrides):
    data = {
        "title": post.title,
        "slug": post.slug,
        "summary": post.summary,
        "body": '{"blocks":[{"key":"a","text":"Edited body.","type":"unstyled","depth":0,'
        '"inlineStyleRanges":[],"entityRanges":[]}],"entityMap":{}}',
        "source_name": post.source_name,
        "source_url": post.source_url,
        "byline": post.byline,
        "source_published_at": "",
        "via_name": "",
        "via_url": "",
        "tags": "",
        "seo_title": "",
        "search_description": "",
        "notify_subscribers": "on",
        "region_links-TOTAL_FORMS": "0",
        "region_links-INITIAL_FORMS": "0",
        "region_links-MIN_NUM_FORMS": "0",
        "region_links-MAX_NUM_FORMS": "1000",
        "comment_notifications": "",
        "comments-TOTAL_FORMS": "0",
        "comments-INITIAL_FORMS": "0",
        "comments-MIN_NUM_FORMS": "0",
        "comments-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_the_post_editor_groups_fields_in_tabs(client, editor, home):
    client.force_login(editor)
    url = reverse("wagtailadmin_pages:add", args=["posts", "storypost", home.pk])

    response = client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    tabs = re.findall(r'role="tab"[^>]*>\s*([^<]+?)\s*<', html)
    assert tabs == ["Content", "Source", "Topics and regions", "Promotion"]
    # Scheduling (go-live and expiry times) sits in Wagtail's publishing side panel.
    assert 'name="go_live_at"' in html
    assert "Original author(s)" in html and "E-mail subscribers when published" in html


@pytest.mark.django_db
def test_an_editor_saves_a_draft_without_changing_the_live_post(client, editor, make_post):
    post = make_post("Live title", byline="Dana Ortiz")
    client.force_login(editor)

    response = client.post(
        reverse("wagtailadmin_pages:edit", args=[post.pk]),
        form_data(post, title="Draft title", byline="Someone Else"),
    )

    assert response.status_code == 302
    post.refresh_from_db()
    assert post.title == "Live title"
    assert post.has_unpublished_changes
    assert post.get_latest_revision_as_object().title == "Draft title"
    # The live post still credits its live byline in author listings.
    assert [link.author.name for link in post.author_links.all()] == ["Dana Ortiz"]
    assert client.get(post.url).status_code == 200


@pytest.mark.django_db
def test_preview_renders_the_unsaved_draft(client, editor, make_post):
    post = make_post("Before preview")
    client.force_login(editor)
    url = reverse("wagtailadmin_pages:preview_on_edit", args=[post.pk])

    response = client.post(url, form_data(post, title="Previewed title"))
    assert response.json()["is_valid"] is True
    response = client.get(url)

    assert response.status_code == 200
    assert b"Previewed title" in response.content


@pytest.mark.django_db
def test_moderation_workflow_needs_a_moderator_to_publish(editor, moderator, make_post):
    post = make_post("Awaiting review", live=False)
    workflow = Workflow.objects.get(name="Moderators approval")

    workflow.start(post, editor)
    post.refresh_from_db()
    assert not post.live
    task_state = post.current_workflow_task_state
    assert task_state.task.specific.user_can_access_editor(post, moderator)

    task_state.approve(user=moderator)

    post.refresh_from_db()
    assert post.live
    assert StoryPost.objects.published().filter(pk=post.pk).exists()


# The worker closes connections between tasks, which a rolled-back test transaction cannot survive.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_scheduled_post_goes_live_when_the_worker_runs_the_tick(make_post, database_queue, monkeypatch):
    post = make_post("Scheduled story", live=False)
    post.go_live_at = timezone.now() + timedelta(hours=1)
    post.save_revision().publish()  # a future go-live time schedules instead of publishing
    post.refresh_from_db()
    assert not post.live

    def run_the_worker():
        assert "publish_scheduled" in tick()
        assert "publish_scheduled" not in tick()  # once per period, however many workers tick
        call_command("db_worker", batch=True, reload=False, verbosity=0)

    run_the_worker()
    post.refresh_from_db()
    assert not post.live  # not before its time

    # An hour and a minute later: the tick, Wagtail's publish_scheduled and the queue all read this clock.
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(hours=1, minutes=1))
    run_the_worker()

    post.refresh_from_db()
    assert post.live
    assert StoryPost.objects.published().filter(pk=post.pk).exists()
