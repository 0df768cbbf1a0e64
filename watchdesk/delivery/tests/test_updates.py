"""A moderator sends an update of a live post ("Evacuation order lifted"): its own Broadcast, e-mailed once
to the post's readers through the ledger, in their digest for digest readers, refused when empty or
unfinished, and only for people who may publish the post."""

from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from watchdesk.delivery import broadcasts, sender
from watchdesk.delivery.models import Broadcast, Delivery, Digest
from watchdesk.posts.models import StoryPost

pytestmark = pytest.mark.django_db


def update_url(post):
    return reverse("email_posts:send_update", args=[post.pk])


@pytest.fixture
def fire(make_post, topics, regions, settings):
    settings.TIME_ZONE = "America/Chicago"
    return make_post(
        "Brush fire forces evacuations in Los Angeles",
        topics=[topics["wildfire"]],
        regions=[regions["los_angeles"]],
    )


@pytest.fixture
def readers(subscriber, topics, regions):
    """Who hears about a wildfire in Los Angeles: 2 at once, 1 by digest; 2 others do not."""
    return {
        "all": subscriber("all@example.net"),
        "fires": subscriber("fires@example.net", topics=[topics["wildfire"]], time_zone="America/New_York"),
        "daily": subscriber("daily@example.net", regions=[regions["california"]], cadence="daily"),
        "texas": subscriber("texas@example.net", regions=[regions["texas"]]),
        "paused": subscriber("paused@example.net", paused=True),
    }


def sent_post(post):
    """The post's own e-mail, written and sent, as the worker does after publishing."""
    broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post, kind="post"))
    return sender.send_pending()


# The model -------------------------------------------------------------------------------------------
def test_a_post_has_one_post_broadcast_and_any_number_of_updates(fire):
    assert Broadcast.objects.filter(post=fire, kind="post").count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Broadcast.objects.create(post=fire, kind="post")

    broadcasts.record_update(fire, "Evacuation order lifted")
    broadcasts.record_update(fire, "Highway 2 reopened")
    assert list(fire.broadcasts.filter(kind="update").order_by("pk").values_list("text", flat=True)) == [
        "Evacuation order lifted",
        "Highway 2 reopened",
    ]
    # The same line again is the row already there; the database refuses a copy made any other way.
    again, created = broadcasts.record_update(fire, "Evacuation order lifted")
    assert not created and again.text == "Evacuation order lifted"
    with pytest.raises(IntegrityError), transaction.atomic():
        Broadcast.objects.create(post=fire, kind="update", text="Highway 2 reopened")
    assert fire.broadcasts.count() == 3


def test_an_update_needs_its_line_and_a_post_broadcast_has_none(fire):
    with pytest.raises(IntegrityError), transaction.atomic():
        Broadcast.objects.create(post=fire, kind="update", text="")
    with pytest.raises(IntegrityError), transaction.atomic():
        Broadcast.objects.filter(post=fire, kind="post").update(text="A line")


def test_channels_can_title_their_message_from_the_broadcast(fire):
    post_broadcast = Broadcast.objects.get(post=fire, kind="post")
    update, _ = broadcasts.record_update(fire, "Evacuation order lifted")
    assert (post_broadcast.is_update, post_broadcast.headline) == (False, fire.title)
    assert (update.is_update, update.headline) == (True, "Update: Evacuation order lifted")
    assert update.post == fire


# Fan-out and the e-mail ------------------------------------------------------------------------------
def test_an_update_reaches_the_posts_instant_readers_once_over_smtp(fire, readers, mail_server):
    assert sent_post(fire) == {"sent": 2}
    update, _ = broadcasts.record_update(fire, "Evacuation order lifted")
    Broadcast.objects.filter(pk=update.pk).update(created_at=datetime(2026, 12, 5, 20, 5, tzinfo=UTC))
    update.refresh_from_db()

    assert broadcasts.fan_out_broadcast(update) == 2
    assert broadcasts.fan_out_broadcast(update) == 2  # a retried task adds nothing
    assert sender.send_pending() == {"sent": 2}
    assert Delivery.objects.filter(broadcast=update).count() == 2
    assert set(Delivery.objects.filter(broadcast=update).values_list("kind", flat=True)) == {"update"}
    assert Broadcast.objects.get(pk=update.pk).recipients == 2

    [message] = mail_server.to("fires@example.net")[1:]
    assert message["Subject"] == "Update on: Brush fire forces evacuations in Los Angeles"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    html = unescape(message.get_body(("html",)).get_content())
    for body in (text, html):
        # 20:05 UTC, in the reader's own zone.
        assert "Update, Dec 5, 2026, 3:05 PM EST" in body
        assert "Evacuation order lifted" in body
        assert fire.get_full_url() in body
    assert (
        "Update, Dec 5, 2026, 2:05 PM CST"
        in mail_server.to("all@example.net")[1].get_body(("plain",)).get_content()
    )
    assert not mail_server.to("daily@example.net") and not mail_server.to("texas@example.net")


def test_an_update_of_a_post_never_e_mailed_e_mails_nobody(make_post, readers):
    quiet = make_post("Quiet correction", notify_subscribers=False)
    update, _ = broadcasts.record_update(quiet, "The count was 12, not 21")
    assert broadcasts.fan_out_broadcast(update) == 0
    assert not Delivery.objects.exists()


def test_an_update_in_a_digest_sits_under_its_post_or_on_its_own_line(fire, readers, make_post, mail_server):
    reader = readers["daily"]
    since = datetime(2026, 12, 6, 13, tzinfo=UTC)  # their last digest
    type(reader).objects.filter(pk=reader.pk).update(last_digest_at=since)
    california = reader.regions.get()
    older = make_post("Levee holds in Sacramento", regions=[california], published=since - timedelta(days=1))
    fresh = make_post("Second fire near Malibu", regions=[california], published=since + timedelta(minutes=5))

    def update(post, text, minutes):
        made, _ = broadcasts.record_update(post, text)
        Broadcast.objects.filter(pk=made.pk).update(created_at=since + timedelta(minutes=minutes))

    update(fire, "Evacuation order lifted", 60)
    update(older, "Crews reinforce the north bank", 70)
    update(fresh, "Contained at 40%", 10)
    update(fire, "Too late for this digest", 200)
    digest = Digest.objects.create(cadence="daily", key="daily:test", period_end=since + timedelta(hours=2))
    reader.refresh_from_db()
    Delivery.objects.create(kind="digest", digest=digest, subscriber=reader, period="daily:2026-12-06")

    assert sender.send_pending() == {"sent": 1}

    [message] = mail_server.to("daily@example.net")
    assert message["Subject"].endswith("your daily digest, 1 new post, 3 updates")
    text = message.get_body(("plain",)).get_content()
    # The new post carries its own update; the earlier posts' updates follow, each on its own line.
    assert text.index(fresh.title) < text.index("Contained at 40%") < text.index("Updates to earlier posts")
    earlier = text[text.index("Updates to earlier posts") :]
    assert "Evacuation order lifted" in earlier and fire.title in earlier and fire.get_full_url() in earlier
    assert "Crews reinforce the north bank" in earlier and older.title in earlier
    assert "Too late for this digest" not in text
    html = unescape(message.get_body(("html",)).get_content())
    assert "Updates to earlier posts" in html and "Contained at 40%" in html


def test_digest_updates_leave_out_what_the_reader_got_at_once_and_what_is_out_of_scope(
    fire, readers, make_post
):
    update, _ = broadcasts.record_update(fire, "Evacuation order lifted")
    digest = Digest(cadence="daily", key="daily:x", period_end=timezone.now() + timedelta(minutes=1))
    assert [u.text for u in broadcasts.digest_updates(readers["daily"], digest)] == [
        "Evacuation order lifted"
    ]
    assert broadcasts.digest_updates(readers["texas"], digest) == []
    # The reader got it by e-mail already (say, as an urgent post's update): not again.
    Delivery.objects.create(kind="update", broadcast=update, subscriber=readers["daily"], status="sent")
    assert broadcasts.digest_updates(readers["daily"], digest) == []
    # ...unless that e-mail failed: the digest is then their copy.
    Delivery.objects.filter(broadcast=update).update(status="failed")
    assert len(broadcasts.digest_updates(readers["daily"], digest)) == 1


# The admin view ------------------------------------------------------------------------------------
def test_the_form_shows_the_audience_and_refuses_empty_and_placeholder_lines(
    client, moderator, fire, readers
):
    client.force_login(moderator)
    page = client.get(update_url(fire))
    assert page.status_code == 200
    html = unescape(page.content.decode())
    assert "Send an update" in html and fire.title in html
    assert "The update goes to 2 subscribers at once and into 1 reader’s next digest." in html

    for text, error in [
        ("", "This field is required."),
        ("   Update:  ", "Write the update: what changed."),
        ("Evacuation order lifted at [TIME]", "Replace the placeholder with the update itself."),
        ("Roads reopen TK", "Replace the placeholder with the update itself."),
        ("e.g. Evacuation order lifted", "Replace the placeholder with the update itself."),
        ("x" * 281, "Ensure this value has at most 280 characters (it has 281)."),
    ]:
        response = client.post(update_url(fire), {"text": text, "confirm": "1"})
        assert response.status_code == 200, text
        assert error in unescape(response.content.decode()), text
    assert not fire.broadcasts.filter(kind="update").exists()


def test_preview_then_confirm_sends_once_even_when_clicked_twice(
    client, moderator, fire, readers, mail_server, django_capture_on_commit_callbacks
):
    client.force_login(moderator)
    preview = client.post(update_url(fire), {"text": "Update: Evacuation  order lifted"})
    html = unescape(preview.content.decode())
    assert "Update on: Brush fire forces evacuations in Los Angeles" in html  # the subject
    assert "Evacuation order lifted" in html and "Send the update" in html
    assert 'name="text" value="Evacuation order lifted"' in html  # "Update:" and the double space gone
    assert not Broadcast.objects.filter(kind="update").exists()  # a preview sends nothing

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(update_url(fire), {"text": "Evacuation order lifted", "confirm": "1"})
        second = client.post(update_url(fire), {"text": "Evacuation order lifted", "confirm": "1"})
    edit_url = reverse("wagtailadmin_pages:edit", args=[fire.pk])
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == edit_url

    update = Broadcast.objects.get(post=fire, kind="update")
    assert (update.text, update.created_by) == ("Evacuation order lifted", moderator)
    assert Delivery.objects.filter(broadcast=update).count() == 2
    assert sorted(m["To"] for m in mail_server.messages) == ["all@example.net", "fires@example.net"]
    notices = [str(m) for m in client.get(edit_url).context["messages"]]
    assert any(n.startswith("Update of “Brush fire") for n in notices)
    assert any("already sent on" in n and "nothing more was sent" in n for n in notices)


def test_change_it_goes_back_to_the_form_with_the_line(client, moderator, fire):
    client.force_login(moderator)
    response = client.post(update_url(fire), {"text": "Evacuation order lifted", "edit": "1"})
    html = response.content.decode()
    assert "Preview the update" in html and "Evacuation order lifted</textarea>" in html
    assert not Broadcast.objects.filter(kind="update").exists()


def test_only_people_who_may_publish_the_post_can_send_an_update(client, editor, outsider, fire):
    # Editors may edit but not publish (Wagtail's default groups); outsiders have no admin at all.
    client.force_login(editor)
    refused = reverse("wagtailadmin_home")  # Wagtail's answer to PermissionDenied in the admin
    assert client.get(update_url(fire))["Location"] == refused
    assert client.post(update_url(fire), {"text": "Lifted", "confirm": "1"})["Location"] == refused
    edit = client.get(reverse("wagtailadmin_pages:edit", args=[fire.pk])).content.decode()
    assert update_url(fire) not in edit
    client.force_login(outsider)
    assert client.get(update_url(fire)).status_code == 302  # to the admin login
    assert not Broadcast.objects.filter(kind="update").exists()


def test_the_post_menus_offer_it_for_live_posts_only(client, moderator, fire, make_post, home):
    draft = make_post("Draft fire", live=False)
    client.force_login(moderator)
    edit = client.get(reverse("wagtailadmin_pages:edit", args=[fire.pk])).content.decode()
    assert update_url(fire) in edit and "Send an update" in edit
    assert (
        update_url(draft)
        not in client.get(reverse("wagtailadmin_pages:edit", args=[draft.pk])).content.decode()
    )
    listing = client.get(reverse("wagtailadmin_explore", args=[home.pk])).content.decode()
    assert update_url(fire) in listing and update_url(draft) not in listing
    # A post taken down has nothing to update.
    response = client.get(update_url(draft))
    assert response.status_code == 302 and response["Location"] == reverse(
        "wagtailadmin_pages:edit", args=[draft.pk]
    )


def test_the_reports_tell_updates_from_the_post(client, superuser, fire, readers):
    update, _ = broadcasts.record_update(fire, "Evacuation order lifted", superuser)
    client.force_login(superuser)
    listing = unescape(client.get(reverse("email_posts:index")).content.decode())
    assert "Update: Evacuation order lifted" in listing and "The post" in listing
    report = unescape(client.get(reverse("email_posts:inspect", args=[update.pk])).content.decode())
    assert "Update:</strong> Evacuation order lifted" in report
    # A post's "E-mail report" is its own e-mail's, however many updates followed.
    for_post = client.get(reverse("email_posts:for_post", args=[fire.pk]))
    post_broadcast = Broadcast.objects.get(post=fire, kind="post")
    assert for_post["Location"] == reverse("email_posts:inspect", args=[post_broadcast.pk])


# Admin access and the page's permissions, the post, the audience count, the earlier updates, and
# rendering the admin's menus: the same however many readers and updates there are.
QUERIES_FORM = 17


def test_the_form_takes_a_fixed_number_of_queries(
    client, moderator, fire, readers, subscriber, django_assert_num_queries
):
    client.force_login(moderator)
    for n in range(3):
        broadcasts.record_update(fire, f"Update number {n}")
    client.get(update_url(fire))
    for n in range(10):
        subscriber(f"more{n}@example.net")
        broadcasts.record_update(fire, f"Later update {n}")
    with django_assert_num_queries(QUERIES_FORM):
        response = client.get(update_url(fire))
    assert "The update goes to 12 subscribers" in unescape(response.content.decode())
    assert unescape(response.content.decode()).count("Later update") == 10


# The page listing with its "Send an update" in each live post's "more" menu.
LISTING_QUERIES = 38


def test_the_page_listing_offers_updates_in_a_fixed_number_of_queries(
    client, moderator, make_post, home, django_assert_num_queries
):
    client.force_login(moderator)
    url = reverse("wagtailadmin_explore", args=[home.pk])
    for count in (3, 12):
        while StoryPost.objects.live().count() < count:
            make_post()
        client.get(url)
        with django_assert_num_queries(LISTING_QUERIES):
            html = client.get(url).content.decode()
        assert html.count("/admin/email/posts/update/") == count
