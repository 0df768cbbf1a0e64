"""Breaking at once, the rest in my digest: a post marked urgent is e-mailed at once to the digest readers
who asked for breaking news, and their digest leaves it out; the editor's count says so before publishing."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.urls import reverse

from watchdesk.delivery import broadcasts, sender
from watchdesk.delivery.models import Broadcast, Delivery, Digest
from watchdesk.posts.models import StoryPost
from watchdesk.posts.tests.test_editing import form_data

pytestmark = pytest.mark.django_db
COUNT_URL = reverse("posts_recipient_count")
SINCE = datetime(2026, 12, 4, 13, tzinfo=UTC)


@pytest.fixture
def readers(subscriber, topics):
    """Wildfire readers: 1 instant, 2 daily (one wants breaking news at once), 1 weekly who does too;
    and a hazmat reader who wants breaking news but not about fires."""
    made = {
        "instant": subscriber("instant@example.net", topics=[topics["wildfire"]]),
        "daily": subscriber("daily@example.net", topics=[topics["wildfire"]], cadence="daily"),
        "daily_urgent": subscriber(
            "daily-urgent@example.net", topics=[topics["wildfire"]], cadence="daily", urgent_at_once=True
        ),
        "weekly_urgent": subscriber("weekly-urgent@example.net", cadence="weekly", urgent_at_once=True),
        "hazmat_urgent": subscriber(
            "hazmat-urgent@example.net", topics=[topics["hazmat"]], cadence="daily", urgent_at_once=True
        ),
    }
    type(made["instant"]).objects.update(last_digest_at=SINCE)
    return made


def fire(make_post, topics, title, urgent, minutes=5):
    return make_post(
        title, topics=[topics["wildfire"]], urgent=urgent, published=SINCE + timedelta(minutes=minutes)
    )


def digest_titles(reader, cadence="daily"):
    digest = Digest(cadence=cadence, key=f"{cadence}:x", period_end=SINCE + timedelta(days=7))
    reader.refresh_from_db()
    return [post.title for post in broadcasts.digest_posts(reader, digest)]


def fan_out(post):
    return broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post, kind="post"))


def test_an_urgent_post_goes_at_once_to_digest_readers_who_asked_and_skips_their_digest(
    make_post, topics, readers, mail_server
):
    urgent = fire(make_post, topics, "Wildfire jumps the highway", urgent=True)
    calm = fire(make_post, topics, "Burn ban extended", urgent=False, minutes=10)

    assert fan_out(urgent) == 3
    assert fan_out(calm) == 1
    assert sender.send_pending() == {"sent": 4}
    assert sorted(mail_server.recipients()) == [
        "daily-urgent@example.net",
        "instant@example.net",
        "instant@example.net",
        "weekly-urgent@example.net",
    ]

    # Their digests: the calm post for everyone, the urgent one only for who did not get it at once.
    assert digest_titles(readers["daily"]) == ["Burn ban extended", "Wildfire jumps the highway"]
    assert digest_titles(readers["daily_urgent"]) == ["Burn ban extended"]
    assert digest_titles(readers["weekly_urgent"], "weekly") == ["Burn ban extended"]
    assert digest_titles(readers["hazmat_urgent"]) == []


def test_the_digest_carries_an_urgent_post_whose_at_once_e_mail_failed(make_post, topics, readers):
    urgent = fire(make_post, topics, "Wildfire jumps the highway", urgent=True)
    fan_out(urgent)
    Delivery.objects.filter(subscriber=readers["daily_urgent"]).update(status="failed")
    assert digest_titles(readers["daily_urgent"]) == ["Wildfire jumps the highway"]


def test_a_whole_digest_round_sends_each_post_once_to_each_reader(make_post, topics, readers, mail_server):
    urgent = fire(make_post, topics, "Wildfire jumps the highway", urgent=True)
    fire(make_post, topics, "Burn ban extended", urgent=False, minutes=10)
    fan_out(urgent)
    sender.send_pending()
    update, _ = broadcasts.record_update(urgent, "Evacuation order lifted")
    assert broadcasts.fan_out_broadcast(update) == 3  # the update follows the post's at-once readers
    sender.send_pending()

    digest = Digest.objects.create(cadence="daily", key="daily:t", period_end=update.created_at)
    for name in ("daily", "daily_urgent"):
        Delivery.objects.create(kind="digest", digest=digest, subscriber=readers[name], period="daily:t")
    assert sender.send_pending() == {"sent": 2}

    def texts(address):
        return [m.get_body(("plain",)).get_content() for m in mail_server.to(address)]

    urgent_digest = texts("daily-urgent@example.net")[-1]
    assert "Burn ban extended" in urgent_digest
    assert (
        "Wildfire jumps the highway" not in urgent_digest and "Evacuation order lifted" not in urgent_digest
    )
    assert len(texts("daily-urgent@example.net")) == 3  # the post, its update, the digest
    plain_digest = texts("daily@example.net")[-1]
    assert "Wildfire jumps the highway" in plain_digest and "Evacuation order lifted" in plain_digest
    assert len(texts("daily@example.net")) == 1


def test_the_sender_checks_the_choice_again_before_sending(make_post, topics, readers, mail_server):
    urgent = fire(make_post, topics, "Wildfire jumps the highway", urgent=True)
    fan_out(urgent)
    type(readers["daily_urgent"]).objects.filter(pk=readers["daily_urgent"].pk).update(urgent_at_once=False)
    assert sender.send_pending() == {"sent": 2, "skipped": 1}
    assert "daily-urgent@example.net" not in mail_server.recipients()
    # Skipped, so it did not reach them: their digest has it.
    assert digest_titles(readers["daily_urgent"]) == ["Wildfire jumps the highway"]


# What the editor is told -----------------------------------------------------------------------------
def test_the_count_splits_at_once_into_instant_and_breaking_news_readers(readers, topics):
    wildfire = [topics["wildfire"].pk]
    assert broadcasts.audience(None, wildfire, [], urgent=False) == {"instant": 1, "breaking": 0, "digest": 3}
    assert broadcasts.audience(None, wildfire, [], urgent=True) == {"instant": 3, "breaking": 2, "digest": 1}


def test_the_editor_s_count_and_question_follow_the_urgent_box(client, moderator, readers, topics):
    client.force_login(moderator)
    params = {"topic": [topics["wildfire"].pk], "ticked": "1"}
    calm = client.get(COUNT_URL, params).json()
    assert calm["text"] == (
        "Publishing e-mails this post to 1 subscriber at once and puts it in 3 readers' next digest."
    )
    urgent = client.get(COUNT_URL, {**params, "urgent": "1"}).json()
    assert (urgent["instant"], urgent["breaking"], urgent["digest"]) == (3, 2, 1)
    assert urgent["confirm"] == (
        "Publishing e-mails this post to 3 subscribers at once (2 of them digest readers who asked for "
        "breaking news) and puts it in 1 reader's next digest."
    )


def test_the_urgent_box_sits_beside_the_e_mail_choice_and_publishing_sends_it(
    client, moderator, readers, make_post, topics, django_capture_on_commit_callbacks, mail_server
):
    draft = make_post("Wildfire jumps the highway", live=False, topics=[topics["wildfire"]], urgent=True)
    client.force_login(moderator)
    html = client.get(reverse("wagtailadmin_pages:edit", args=[draft.pk])).content.decode()
    content_tab = html[html.index('id="tab-content"') : html.index('id="tab-source"')]
    assert content_tab.index('name="notify_subscribers"') < content_tab.index('name="urgent"')
    assert "Urgent: e-mail readers who want breaking news at once" in content_tab
    status = re.search(r'<p class="help" id="email-audience"[^>]*>([^<]*)</p>', content_tab)
    assert unescape(status.group(1)).startswith(
        "Publishing e-mails this post to 3 subscribers at once (2 of them digest readers"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("wagtailadmin_pages:edit", args=[draft.pk]),
            form_data(draft, urgent="on", topics=[topics["wildfire"].pk], **{"action-publish": "1"}),
        )
    assert response.status_code == 302
    assert StoryPost.objects.get(pk=draft.pk).urgent
    assert sorted(mail_server.recipients()) == [
        "daily-urgent@example.net",
        "instant@example.net",
        "weekly-urgent@example.net",
    ]
