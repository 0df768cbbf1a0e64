"""A post drafted from the wire goes out only in our words: publishing, scheduling and submitting for
moderation are refused while it holds the drafting instruction or the outlet's text; drafts still save."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from wagtail.admin.rich_text.converters.contentstate import ContentstateConverter
from wagtail.models import WorkflowState

from watchdesk.core.scheduler import tick
from watchdesk.delivery.models import Broadcast
from watchdesk.posts.models import StoryPost
from watchdesk.posts.originality import COPY_MESSAGE, MARKER_MESSAGE
from watchdesk.posts.tests.test_editing import form_data
from watchdesk.wire.drafting import draft_post
from watchdesk.wire.tests import inbox_fixtures

pytestmark = pytest.mark.django_db
story = inbox_fixtures.story

SUMMARY = (
    "<p>Crews held the Ridge Fire line overnight as winds eased. About 400 homes remain under evacuation "
    "orders.</p><p>Officials said containment reached 35% &amp; could double by Friday.</p>"
)
OUR_SUMMARY = "The Ridge Fire line held overnight; 400 homes are still under evacuation orders."
OUR_BODY = (
    "<p>Firefighters kept the Ridge Fire inside its lines overnight as the wind dropped.</p>"
    "<blockquote>Officials said containment reached 35% &amp; could double by Friday.</blockquote>"
)


def contentstate(html):
    features = settings.WAGTAILADMIN_RICH_TEXT_EDITORS["default"]["OPTIONS"]["features"]
    return ContentstateConverter(features).from_database_format(html)


@pytest.fixture
def draft(story, editor):
    """The real draft of a wire story, as "Draft post" in the inbox makes it."""
    return draft_post(story("Crews hold the Ridge Fire line as winds ease", summary=SUMMARY), user=editor)


def edit(client, post, *, action=None, summary=None, body=None, **fields):
    """Post the editor's form for the draft's latest version, changed by ``summary``/``body``."""
    latest = post.get_latest_revision_as_object()
    data = form_data(
        latest,
        summary=latest.summary if summary is None else summary,
        body=contentstate(latest.body if body is None else body),
        **fields,
    )
    if action:
        data[action] = action
    return client.post(reverse("wagtailadmin_pages:edit", args=[post.pk]), data)


def errors(response):
    return {name: list(messages) for name, messages in response.context["form"].errors.items()}


def test_the_draft_keeps_the_outlets_text(draft):
    assert draft.outlet_text == (
        "Crews held the Ridge Fire line overnight as winds eased. About 400 homes remain under evacuation "
        "orders.\n\nOfficials said containment reached 35% & could double by Friday."
    )
    assert draft.publishing_problems() == {"summary": COPY_MESSAGE, "body": MARKER_MESSAGE}


def test_an_unedited_wire_draft_cannot_be_published(client, moderator, draft):
    client.force_login(moderator)

    response = edit(client, draft, action="action-publish")

    assert response.status_code == 200
    assert errors(response) == {"summary": [COPY_MESSAGE], "body": [MARKER_MESSAGE]}
    assert "This still holds the wire draft&#x27;s instruction" in response.content.decode()
    draft.refresh_from_db()
    assert not draft.live and draft.first_published_at is None
    assert not Broadcast.objects.exists()


def test_removing_only_the_instruction_still_leaves_the_outlets_words(client, moderator, draft):
    client.force_login(moderator)
    # The editor deletes the instruction line and keeps the quotes, with other markup and spacing.
    quoted = (
        "<p>Crews held the  Ridge Fire line overnight as winds eased.&nbsp;About 400 homes remain under "
        "evacuation orders.</p><blockquote>Officials said containment reached 35% &amp; could double by "
        "Friday.</blockquote>"
    )

    response = edit(client, draft, action="action-publish", summary=OUR_SUMMARY, body=quoted)

    assert errors(response) == {"body": [COPY_MESSAGE]}
    draft.refresh_from_db()
    assert not draft.live


def test_saving_the_unedited_draft_still_works(client, editor, draft):
    client.force_login(editor)

    response = edit(client, draft, title="Ridge Fire: lines hold")

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.get_latest_revision_as_object().title == "Ridge Fire: lines hold"
    assert not draft.live


def test_a_rewritten_draft_publishes(client, moderator, draft):
    client.force_login(moderator)

    response = edit(client, draft, action="action-publish", summary=OUR_SUMMARY, body=OUR_BODY)

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.live and draft.summary == OUR_SUMMARY
    assert "Officials said containment" in draft.body  # a direct quote is fine
    assert Broadcast.objects.filter(post=draft).exists()


def test_an_unedited_draft_cannot_be_submitted_for_moderation(client, editor, draft):
    client.force_login(editor)

    response = edit(client, draft, action="action-submit")

    assert response.status_code == 200
    assert errors(response) == {"summary": [COPY_MESSAGE], "body": [MARKER_MESSAGE]}
    assert not WorkflowState.objects.filter(object_id=str(draft.pk)).exists()

    response = edit(client, draft, action="action-submit", summary=OUR_SUMMARY, body=OUR_BODY)
    assert response.status_code == 302
    assert WorkflowState.objects.filter(object_id=str(draft.pk), status="in_progress").exists()


def test_an_unedited_draft_cannot_be_scheduled(client, moderator, draft):
    client.force_login(moderator)
    go_live_at = (timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")

    response = edit(client, draft, action="action-publish", go_live_at=go_live_at)

    assert response.status_code == 200
    assert set(errors(response)) == {"summary", "body"}
    assert not draft.revisions.filter(approved_go_live_at__isnull=False).exists()


def test_no_way_around_the_form_publishes_or_schedules_the_placeholder(draft, monkeypatch):
    revision = draft.latest_revision
    with pytest.raises(ValidationError) as refused:
        revision.publish()
    assert refused.value.message_dict == {"summary": [COPY_MESSAGE], "body": [MARKER_MESSAGE]}

    # A go-live time in the future would schedule it: refused the same way, so nothing is scheduled ...
    draft.go_live_at = timezone.now() + timedelta(minutes=5)
    revision = draft.save_revision()
    with pytest.raises(ValidationError):
        revision.publish()
    assert not draft.revisions.filter(approved_go_live_at__isnull=False).exists()

    # ... and the scheduled-publishing tick, later, finds nothing to publish.
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(hours=1))
    tick()
    draft.refresh_from_db()
    assert not draft.live
    assert not StoryPost.objects.published().exists()


def test_a_post_written_from_scratch_is_not_held_back(make_post):
    post = make_post("Our own story", summary="Crews held the line overnight as winds eased.")
    assert post.live and post.publishing_problems() == {}


def test_the_instruction_pasted_anywhere_is_refused(client, moderator, make_post):
    post = make_post("Pasted", live=False)
    client.force_login(moderator)
    body = "<p>Draft from the wire: rewrite this in your own words before publishing. Our text.</p>"

    response = edit(client, post, action="action-publish", body=body)

    assert errors(response) == {"body": [MARKER_MESSAGE]}


def test_a_draft_scheduled_before_the_check_is_unscheduled_and_others_still_go_live(
    draft, make_post, monkeypatch
):
    other = make_post("Scheduled and rewritten", live=False)
    soon = timezone.now() + timedelta(minutes=5)
    other.go_live_at = soon
    other.save_revision().publish()  # scheduled the ordinary way
    # The wire draft's version carries a go-live approval made without the check (an older release).
    draft.go_live_at = soon
    revision = draft.save_revision()
    type(revision).objects.filter(pk=revision.pk).update(approved_go_live_at=soon)

    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(hours=1))
    tick()

    draft.refresh_from_db()
    other.refresh_from_db()
    assert not draft.live and other.live
    assert not draft.revisions.filter(approved_go_live_at__isnull=False).exists()
