"""A moderator publishes in the Wagtail admin; subscribers get the post once, whatever happens next."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from watchdesk.delivery.models import Broadcast, Delivery
from watchdesk.posts.models import StoryPost
from watchdesk.posts.tests.test_editing import form_data


@pytest.fixture
def draft(make_post):
    return make_post("Gas leak evacuates school", live=False)


def publish(client, post, **overrides):
    return client.post(
        reverse("wagtailadmin_pages:edit", args=[post.pk]),
        form_data(post, **{"action-publish": "action-publish", **overrides}),
    )


@pytest.mark.django_db
def test_publishing_in_the_admin_emails_the_subscribers_once(
    client, moderator, draft, subscriber, mail_server, django_capture_on_commit_callbacks
):
    subscriber("first@example.net")
    subscriber("second@example.net")
    client.force_login(moderator)

    with django_capture_on_commit_callbacks(execute=True):
        assert publish(client, draft).status_code == 302
    assert StoryPost.objects.get(pk=draft.pk).live
    assert sorted(mail_server.recipients()) == ["first@example.net", "second@example.net"]
    assert mail_server.messages[0]["Subject"] == "Gas leak evacuates school"

    # A second click, an unpublish and a republish: nothing more is sent.
    with django_capture_on_commit_callbacks(execute=True):
        publish(client, draft)
        client.post(reverse("wagtailadmin_pages:unpublish", args=[draft.pk]))
        publish(client, draft)
    assert len(mail_server.messages) == 2
    assert Broadcast.objects.filter(post=draft).count() == 1
    assert Delivery.objects.filter(broadcast__post=draft).count() == 2


@pytest.mark.django_db
def test_unticking_the_switch_sends_nothing(client, moderator, draft, subscriber, mail_server):
    subscriber("reader@example.net")
    client.force_login(moderator)
    data = form_data(draft, **{"action-publish": "action-publish"})
    del data["notify_subscribers"]
    client.post(reverse("wagtailadmin_pages:edit", args=[draft.pk]), data)
    assert StoryPost.objects.get(pk=draft.pk).live
    assert not Broadcast.objects.exists()


@pytest.mark.django_db
def test_a_failed_publish_writes_no_broadcast(draft):
    """The Broadcast lives and dies with the publishing transaction (the outbox pattern)."""
    with pytest.raises(RuntimeError), transaction.atomic():
        StoryPost.objects.get(pk=draft.pk).save_revision().publish()
        assert Broadcast.objects.filter(post=draft).exists()
        raise RuntimeError("the database went away")
    assert not Broadcast.objects.filter(post=draft).exists()
    assert not StoryPost.objects.get(pk=draft.pk).live


@pytest.mark.django_db
def test_scheduled_posts_are_sent_when_they_go_live(
    draft, subscriber, mail_server, django_capture_on_commit_callbacks
):
    subscriber("reader@example.net")
    post = StoryPost.objects.get(pk=draft.pk)
    post.go_live_at = timezone.now() + timedelta(hours=1)
    post.save_revision().publish()
    assert not Broadcast.objects.exists()

    # An hour later (moved back in time rather than waiting).
    past = timezone.now() - timedelta(minutes=1)
    StoryPost.objects.filter(pk=post.pk).update(go_live_at=past)
    revision = post.revisions.get(approved_go_live_at__isnull=False)
    revision.content["go_live_at"] = past.isoformat()
    revision.approved_go_live_at = past
    revision.save()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("publish_scheduled", verbosity=0)
    assert mail_server.recipients() == ["reader@example.net"]
