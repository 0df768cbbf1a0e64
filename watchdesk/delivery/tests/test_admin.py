"""The E-mail menu of the admin: what became of each post's e-mail and each digest, suppressions, provider
events, and the post editor's "e-mail me a test"."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from watchdesk.delivery import broadcasts
from watchdesk.delivery.models import Broadcast, Delivery, Digest, MailEvent
from watchdesk.delivery.sender import send_pending
from watchdesk.posts.tests.test_editing import form_data
from watchdesk.subscriptions.models import Suppression

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_post(make_post, subscriber, mail_server):
    """A post e-mailed to five readers: three accepted, one refused by the server (bounced and now
    suppressed), one who unsubscribed before their turn (skipped); then one accepted row marked failed."""
    readers = [subscriber(f"reader{n}@example.net") for n in range(5)]
    post = make_post("Levee breach on the Sacramento")
    broadcast = Broadcast.objects.get(post=post)
    broadcasts.fan_out_broadcast(broadcast)
    mail_server.reject["reader3@example.net"] = "550 5.1.1 No such user"
    readers[4].unsubscribe()
    send_pending()
    Delivery.objects.filter(subscriber=readers[0]).update(
        status=Delivery.Status.FAILED, attempts=8, error="451 4.3.0 Try again later"
    )
    return post


def test_the_post_report_counts_each_outcome_and_lists_the_failures(client, audience_manager, sent_post):
    client.force_login(audience_manager)
    broadcast = Broadcast.objects.get(post=sent_post)
    listing = client.get(reverse("email_posts:index")).content.decode()
    assert "Levee breach on the Sacramento" in listing
    assert reverse("email_posts:inspect", args=[broadcast.pk]) in listing

    html = client.get(reverse("email_posts:inspect", args=[broadcast.pk])).content.decode()
    for status, number in [
        ("sent", 2),
        ("failed", 1),
        ("bounced", 1),
        ("skipped", 1),
        ("pending", 0),
        ("all", 5),
    ]:
        assert f'data-status="{status}">{number}<' in html, status
    assert "5, at" in html  # recipients written at fan-out
    assert "reader0@example.net" in html and "451 4.3.0 Try again later" in html
    assert "reader3@example.net" in html and "550 5.1.1 No such user" in html
    assert "1: No longer wanted when its turn came." in html
    assert "Try the failed ones again" in html


def test_failed_deliveries_can_be_tried_again(
    client, audience_manager, sent_post, mail_server, django_capture_on_commit_callbacks
):
    client.force_login(audience_manager)
    broadcast = Broadcast.objects.get(post=sent_post)
    before = len(mail_server.messages)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("email_posts:retry", args=[broadcast.pk]))
    assert response.status_code == 302
    report = Delivery.objects.filter(broadcast=broadcast).report()
    assert (report["sent"], report["failed"], report["bounced"]) == (3, 0, 1)
    assert len(mail_server.messages) == before + 1 and mail_server.to("reader0@example.net")


def test_addresses_in_reports_are_hidden_from_those_who_may_not_see_them(
    client, django_user_model, home, sent_post
):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("val", "val@example.org", "correct horse 7")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["access_admin", "view_broadcast"]))
    client.force_login(user)
    broadcast = Broadcast.objects.get(post=sent_post)
    html = client.get(reverse("email_posts:inspect", args=[broadcast.pk])).content.decode()
    assert 'data-status="bounced">1<' in html
    assert "@example.net" not in html and "Subscriber #" in html
    assert "Try the failed ones again" not in html


def test_the_report_is_reachable_from_the_post(client, superuser, sent_post, make_post):
    client.force_login(superuser)
    for_post = reverse("email_posts:for_post", args=[sent_post.pk])
    explorer = client.get(reverse("wagtailadmin_explore", args=[sent_post.get_parent().pk]))
    assert for_post in explorer.content.decode()
    editor_page = client.get(reverse("wagtailadmin_pages:edit", args=[sent_post.pk]))
    assert for_post in editor_page.content.decode()
    broadcast = Broadcast.objects.get(post=sent_post)
    assert client.get(for_post)["Location"] == reverse("email_posts:inspect", args=[broadcast.pk])

    quiet = make_post("Quiet correction", notify_subscribers=False)
    response = client.get(reverse("email_posts:for_post", args=[quiet.pk]), follow=True)
    assert (
        "has not been e-mailed: “E-mail subscribers” was off when it was published"
        in response.content.decode()
    )


def test_a_digest_report_counts_its_deliveries(client, superuser, subscriber):
    digest = Digest.objects.create(
        cadence="daily",
        key="daily:2026-11-28",
        period_end=timezone.now(),
        recipients=3,
        fanned_out_at=timezone.now(),
    )
    for n, status in enumerate(["sent", "sent", "skipped"]):
        Delivery.objects.create(
            kind=Delivery.Kind.DIGEST,
            digest=digest,
            subscriber=subscriber(f"d{n}@example.net"),
            status=status,
        )
    client.force_login(superuser)
    assert "Daily digest of" in client.get(reverse("email_digests:index")).content.decode()
    html = client.get(reverse("email_digests:inspect", args=[digest.pk])).content.decode()
    assert 'data-status="sent">2<' in html and 'data-status="skipped">1<' in html


# Suppressions ----------------------------------------------------------------------------------------
def test_staff_suppress_an_address_and_lift_it(client, audience_manager):
    client.force_login(audience_manager)
    response = client.post(
        reverse("suppressions:add"), {"email": " Angry@Example.NET ", "detail": "Asked by phone, ticket 42"}
    )
    assert response.status_code == 302
    suppression = Suppression.objects.get()
    assert (suppression.email, suppression.reason) == ("angry@example.net", "manual")
    again = client.post(reverse("suppressions:add"), {"email": "angry@example.net", "detail": ""})
    assert "already suppressed" in again.content.decode()

    listing = client.get(reverse("suppressions:index")).content.decode()
    assert "angry@example.net" in listing and "Added by staff" in listing and "ticket 42" in listing

    lift = reverse("suppressions:delete", args=[suppression.pk])
    assert "Yes, lift it" in client.get(lift).content.decode()
    response = client.post(lift, follow=True)
    assert "Lifted the suppression of angry@example.net" in response.content.decode()
    assert not Suppression.objects.exists()


def test_suppressions_cannot_be_edited_and_events_are_read_only(client, superuser):
    event = MailEvent.objects.create(
        provider="postmark",
        event_id="e1",
        type="hard_bounce",
        email="gone@example.net",
        detail="550 mailbox gone",
    )
    client.force_login(superuser)
    listing = client.get(reverse("mail_events:index")).content.decode()
    assert "gone@example.net" in listing and "Hard bounce" in listing and "550 mailbox gone" in listing
    assert client.get(reverse("mail_events:inspect", args=[event.pk])).status_code == 200
    for url in [
        "/admin/email/events/new/",
        f"/admin/email/events/edit/{event.pk}/",
        "/admin/email/posts/new/",
    ]:
        assert client.get(url).status_code == 404
    suppression = Suppression.add("x@example.net", Suppression.Reason.MANUAL)
    assert client.get(f"/admin/email/suppressions/edit/{suppression.pk}/").status_code == 404


def test_editors_have_no_e_mail_menu(client, editor, sent_post):
    client.force_login(editor)
    broadcast = Broadcast.objects.get(post=sent_post)
    for url in [
        reverse("email_posts:index"),
        reverse("email_posts:inspect", args=[broadcast.pk]),
        reverse("email_posts:for_post", args=[sent_post.pk]),
        reverse("email_digests:index"),
        reverse("suppressions:index"),
        reverse("suppressions:add"),
        reverse("mail_events:index"),
    ]:
        assert client.get(url).status_code in {302, 403}, url
    assert client.post(reverse("email_posts:retry", args=[broadcast.pk])).status_code in {302, 403}
    assert Delivery.objects.filter(status="failed").count() == 1
    dashboard = client.get(reverse("wagtailadmin_home")).content.decode()
    assert reverse("email_posts:index") not in dashboard
    edit = client.get(reverse("wagtailadmin_pages:edit", args=[sent_post.pk])).content.decode()
    assert reverse("email_posts:for_post", args=[sent_post.pk]) not in edit


# "E-mail me a test" ----------------------------------------------------------------------------------
def test_an_editor_saves_a_draft_and_gets_a_test_of_it(client, editor, make_post, mail_server):
    post = make_post("Live title", live=False)
    client.force_login(editor)
    edit = reverse("wagtailadmin_pages:edit", args=[post.pk])
    assert 'name="action-send-test-email"' in client.get(edit).content.decode()

    response = client.post(
        edit, form_data(post, title="Draft title", **{"action-send-test-email": "1"}), follow=True
    )

    assert response.status_code == 200
    assert "A test e-mail of “Draft title” was sent to erin@example.org." in response.content.decode()
    [message] = mail_server.to("erin@example.org")
    assert message["Subject"] == "[Test] Draft title"
    assert "Summary of Live title." in message.get_body(("plain",)).get_content()
    assert not Delivery.objects.exists() and not Broadcast.objects.exists()


def test_no_test_without_an_address_on_the_account(client, editor, make_post, mail_server):
    editor.email = ""
    editor.save()
    post = make_post("Some post")
    client.force_login(editor)
    edit = reverse("wagtailadmin_pages:edit", args=[post.pk])
    assert "your account has no e-mail address" in client.get(edit).content.decode()
    response = client.post(edit, form_data(post, **{"action-send-test-email": "1"}), follow=True)
    assert "No test was sent: your account has no e-mail address" in response.content.decode()
    assert mail_server.messages == []


def test_a_mail_server_that_refuses_is_reported(client, editor, make_post, mail_server):
    mail_server.reject["erin@example.org"] = "550 5.7.1 Relaying denied"
    post = make_post("Some post")
    client.force_login(editor)
    response = client.post(
        reverse("wagtailadmin_pages:edit", args=[post.pk]),
        form_data(post, **{"action-send-test-email": "1"}),
        follow=True,
    )
    assert "could not be sent: 550 5.7.1 Relaying denied" in response.content.decode()


def test_a_plain_save_sends_no_test(client, editor, make_post, mail_server):
    post = make_post("Some post")
    client.force_login(editor)
    client.post(reverse("wagtailadmin_pages:edit", args=[post.pk]), form_data(post, title="New"))
    assert mail_server.messages == []


def test_the_report_lists_deliveries_waiting_to_be_retried(client, superuser, make_post, subscriber):
    post = make_post("Fresh post")
    broadcast = Broadcast.objects.get(post=post)
    reader = subscriber("waiting@example.net")
    Delivery.objects.create(
        kind=Delivery.Kind.POST,
        broadcast=broadcast,
        subscriber=reader,
        attempts=2,
        error="421 Service not available",
        next_attempt_at=timezone.now() + timedelta(minutes=4),
    )
    client.force_login(superuser)
    html = client.get(reverse("email_posts:inspect", args=[broadcast.pk])).content.decode()
    assert "Waiting to retry" in html and "421 Service not available" in html
    assert 'data-status="pending">1<' in html


def test_the_post_e_mail_list_takes_a_fixed_number_of_queries(
    client, superuser, make_post, subscriber, django_assert_max_num_queries
):
    readers = [subscriber(f"r{n}@example.net") for n in range(3)]
    for n in range(12):
        broadcast = Broadcast.objects.get(post=make_post(f"Post {n}"))
        for reader in readers:
            Delivery.objects.create(kind="post", broadcast=broadcast, subscriber=reader, status="sent")
    client.force_login(superuser)
    client.get(reverse("email_posts:index"))
    with django_assert_max_num_queries(12):
        html = client.get(reverse("email_posts:index")).content.decode()
    assert html.count("Post 1") >= 3  # "Post 1", "Post 10", "Post 11"
