"""Audience managers look after subscribers in the Wagtail admin: list, add (always pending: double
opt-in), edit, export, import and the overview. Editors never see an address."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from watchdesk.delivery.models import Delivery
from watchdesk.delivery.sender import send_pending
from watchdesk.subscriptions import growth
from watchdesk.subscriptions.models import ConfirmationToken, Subscriber, SubscriptionSettings, Suppression

pytestmark = pytest.mark.django_db


@pytest.fixture
def readers(subscriber, topics, regions):
    return {
        "dana": subscriber("dana@example.net", name="Dana Ortiz", topics=[topics["wildfire"]]),
        "lee": subscriber("lee@example.net", name="Lee Park", regions=[regions["texas"]], cadence="daily"),
        "kim": subscriber("kim@example.net", name="Kim Wu", status=Subscriber.Status.PENDING),
        "gone": subscriber("gone@example.net", status=Subscriber.Status.UNSUBSCRIBED),
    }


def listed_emails(response):
    html = response.content.decode()
    return sorted(email for email in ("dana", "lee", "kim", "gone") if f"{email}@example.net" in html)


def upload(text, name="list.csv"):
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


# The list --------------------------------------------------------------------------------------------
def test_the_list_shows_each_subscriber_with_status_cadence_and_scope(client, superuser, readers):
    client.force_login(superuser)
    response = client.get(reverse("subscribers:index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert listed_emails(response) == ["dana", "gone", "kim", "lee"]
    for text in (
        "Dana Ortiz",
        "Wildfire",
        "Texas",
        "Daily digest",
        "Waiting for confirmation",
        "Unsubscribed",
    ):
        assert text in html
    assert reverse("subscribers:export") in html and reverse("subscribers:import") in html


def test_the_list_filters_by_status_cadence_topic_and_region_and_searches(
    client, superuser, readers, topics, regions
):
    client.force_login(superuser)
    index = reverse("subscribers:index")
    assert listed_emails(client.get(index, {"status": "pending"})) == ["kim"]
    assert listed_emails(client.get(index, {"cadence": "daily"})) == ["lee"]
    assert listed_emails(client.get(index, {"topic": topics["wildfire"].pk})) == ["dana"]
    assert listed_emails(client.get(index, {"region": regions["texas"].pk})) == ["lee"]
    assert listed_emails(client.get(index, {"q": "park"})) == ["lee"]
    assert listed_emails(client.get(index, {"q": "kim@"})) == ["kim"]
    Suppression.add("dana@example.net", Suppression.Reason.HARD_BOUNCE)
    suppressed = client.get(index, {"suppressed": "true"})
    assert listed_emails(suppressed) == ["dana"]
    assert "Confirmed, suppressed" in suppressed.content.decode()


def test_the_list_takes_a_fixed_number_of_queries(
    client, superuser, subscriber, topics, regions, django_assert_max_num_queries
):
    for n in range(40):
        subscriber(f"reader{n}@example.com", topics=[topics["hazmat"]], regions=[regions["mali"]])
    client.force_login(superuser)
    client.get(reverse("subscribers:index"))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("subscribers:index"))
    assert response.content.decode().count("Hazmat in Mali") == 40


# Adding and editing ----------------------------------------------------------------------------------
def test_adding_a_subscriber_makes_them_pending_and_emails_a_confirmation(
    client, audience_manager, topics, mail_server, django_capture_on_commit_callbacks
):
    client.force_login(audience_manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("subscribers:add"),
            {
                "email": " New.Reader@Example.NET ",
                "name": "New Reader",
                "cadence": "weekly",
                "topics": [topics["flooding"].pk],
                "regions": "",
                # An attempt to skip the opt-in is ignored: these fields are not on the form.
                "status": "confirmed",
                "confirmed_at": "2026-01-01 00:00",
                "source": "form",
            },
        )
    assert response.status_code == 302
    assert "Added new.reader@example.net as pending" in client.get(response.url).content.decode()
    reader = Subscriber.objects.get(email="new.reader@example.net")
    assert (reader.status, reader.source, reader.confirmed_at) == ("pending", "admin", None)
    assert reader.cadence == "weekly" and not reader.everything
    assert list(reader.topics.all()) == [topics["flooding"]]
    assert Delivery.objects.filter(subscriber=reader, kind=Delivery.Kind.CONFIRM).count() == 1

    send_pending()
    [message] = mail_server.to("new.reader@example.net")
    confirm_url = reverse("subscriptions:confirm", args=["X"]).removesuffix("X/")
    assert confirm_url in message.get_body(("plain",)).get_content()
    reader.refresh_from_db()
    assert reader.status == "pending"


def test_an_address_already_on_the_list_or_suppressed_cannot_be_added(client, superuser, readers):
    client.force_login(superuser)
    Suppression.add("blocked@example.net", Suppression.Reason.COMPLAINT)
    for email, error in [
        ("DANA@example.net", "already on the list (confirmed)"),
        ("blocked@example.net", "This address is suppressed (spam complaint)"),
    ]:
        response = client.post(
            reverse("subscribers:add"),
            {"email": email, "cadence": "instant", "everything": "on", "regions": ""},
        )
        assert response.status_code == 200
        assert error in response.content.decode()
    assert Subscriber.objects.count() == 4


def test_a_scope_must_be_everything_or_something_chosen(client, superuser, topics, regions):
    client.force_login(superuser)
    add = reverse("subscribers:add")
    nothing = client.post(add, {"email": "a@example.net", "cadence": "instant", "regions": ""})
    assert "Choose at least one topic or region" in nothing.content.decode()
    both = client.post(
        add, {"email": "a@example.net", "cadence": "instant", "everything": "on", "regions": "texas"}
    )
    assert "Untick this to send only the chosen topics and regions" in both.content.decode()
    unknown = client.post(add, {"email": "a@example.net", "cadence": "instant", "regions": "atlantis"})
    assert "No such region: atlantis" in unknown.content.decode()
    assert not Subscriber.objects.exists()


def test_editing_changes_the_scope_but_never_the_address_or_status(client, superuser, readers, regions):
    client.force_login(superuser)
    kim = readers["kim"]
    response = client.post(
        reverse("subscribers:edit", args=[kim.pk]),
        {
            "name": "Kim W.",
            "cadence": "daily",
            "regions": "california, city:4699066",
            "paused": "on",
            "email": "someone-else@example.net",
            "status": "confirmed",
        },
    )
    assert response.status_code == 302
    kim.refresh_from_db()
    assert (kim.email, kim.status, kim.name, kim.cadence, kim.paused) == (
        "kim@example.net",
        "pending",
        "Kim W.",
        "daily",
        True,
    )
    assert set(kim.regions.all()) == {regions["california"], regions["houston"]}
    page = client.get(reverse("subscribers:edit", args=[kim.pk])).content.decode()
    assert 'value="california, houston-tx"' in page
    assert "Send the confirmation e-mail again" in page


def test_a_pending_subscriber_can_be_sent_another_confirmation_but_not_twice_at_once(
    client, superuser, readers, django_capture_on_commit_callbacks
):
    client.force_login(superuser)
    kim, dana = readers["kim"], readers["dana"]
    resend = reverse("subscribers:resend", args=[kim.pk])
    assert client.get(resend).status_code == 405
    client.post(resend)
    client.post(resend)
    client.post(reverse("subscribers:resend", args=[dana.pk]))
    assert Delivery.objects.filter(subscriber=kim, kind=Delivery.Kind.CONFIRM).count() == 1
    assert not Delivery.objects.filter(subscriber=dana).exists()


def test_the_inspect_page_shows_what_was_sent(client, superuser, readers):
    client.force_login(superuser)
    Delivery.objects.create(
        kind=Delivery.Kind.LINK, subscriber=readers["dana"], status="failed", error="451 busy"
    )
    page = client.get(reverse("subscribers:inspect", args=[readers["dana"].pk])).content.decode()
    assert "dana@example.net" in page and "Unsubscribe link" in page and "451 busy" in page
    assert "Wildfire" in page


# Export ----------------------------------------------------------------------------------------------
def exported(response):
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="subscribers-')
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_export_has_every_column_needed_to_move_the_list(client, superuser, readers, regions):
    readers["lee"].regions.add(regions["houston"])
    client.force_login(superuser)
    rows = exported(client.get(reverse("subscribers:export")))
    assert list(rows[0]) == [
        "email",
        "name",
        "status",
        "cadence",
        "everything",
        "topics",
        "regions",
        "paused",
        "source",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
    ]
    by_email = {row["email"]: row for row in rows}
    assert set(by_email) == {"dana@example.net", "lee@example.net", "kim@example.net", "gone@example.net"}
    assert by_email["dana@example.net"]["topics"] == "wildfire"
    assert by_email["dana@example.net"]["everything"] == "false"
    assert by_email["lee@example.net"]["regions"] == "US-TX;city:4699066"
    assert by_email["lee@example.net"]["cadence"] == "daily"
    assert by_email["lee@example.net"]["confirmed_at"] == "2026-09-01T00:00:00+00:00"
    assert by_email["kim@example.net"]["status"] == "pending"
    assert by_email["kim@example.net"]["confirmed_at"] == ""


def test_the_export_follows_the_list_filters(client, superuser, readers):
    client.force_login(superuser)
    export = reverse("subscribers:export")
    rows = exported(client.get(export, {"status": "confirmed"}))
    assert [row["email"] for row in rows] == ["dana@example.net", "lee@example.net"]
    rows = exported(client.get(export, {"status": "confirmed", "q": "park"}))
    assert [row["email"] for row in rows] == ["lee@example.net"]


def test_the_export_cannot_smuggle_a_spreadsheet_formula(client, superuser, subscriber):
    subscriber("formula@example.net", name='=HYPERLINK("http://evil.example","x")')
    subscriber("plus@example.net", name="+1 555 0100")
    subscriber("at@example.net", name="@SUM(A1)")
    subscriber("minus@example.net", name="-2+3")
    client.force_login(superuser)
    names = {row["email"]: row["name"] for row in exported(client.get(reverse("subscribers:export")))}
    assert names == {
        "formula@example.net": '\'=HYPERLINK("http://evil.example","x")',
        "plus@example.net": "'+1 555 0100",
        "at@example.net": "'@SUM(A1)",
        "minus@example.net": "'-2+3",
    }


# Import ----------------------------------------------------------------------------------------------
def test_importing_adds_pending_subscribers_who_are_sent_a_confirmation(
    client, audience_manager, topics, regions, mail_server, django_capture_on_commit_callbacks
):
    client.force_login(audience_manager)
    text = (
        "Email,Name,Topics,Regions,Cadence\n"
        "first@example.net,First Reader,wildfire;hazmat,US-CA,daily\n"
        "SECOND@example.net,,,,\n"
        "third@example.net,Third,,los-angeles-ca;US-TX,weekly\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("subscribers:import"), {"file": upload(text)})
    assert response.status_code == 200
    html = response.content.decode()
    assert "3 added, 0 skipped, 0 with errors" in html

    first = Subscriber.objects.get(email="first@example.net")
    assert (first.status, first.source, first.cadence, first.name) == (
        "pending",
        "import",
        "daily",
        "First Reader",
    )
    assert {topic.slug for topic in first.topics.all()} == {"wildfire", "hazmat"}
    assert [region.code for region in first.regions.all()] == ["US-CA"]
    second = Subscriber.objects.get(email="second@example.net")
    assert second.everything and second.cadence == "instant"
    third = Subscriber.objects.get(email="third@example.net")
    assert {region.code for region in third.regions.all()} == {"city:5368361", "US-TX"}
    assert Delivery.objects.filter(kind=Delivery.Kind.CONFIRM).count() == 3

    send_pending()
    assert sorted(mail_server.recipients()) == [
        "first@example.net",
        "second@example.net",
        "third@example.net",
    ]


def test_the_import_reports_each_bad_existing_suppressed_or_repeated_row(
    client, superuser, readers, django_capture_on_commit_callbacks
):
    Suppression.add("bounced@example.net", Suppression.Reason.HARD_BOUNCE)
    client.force_login(superuser)
    text = (
        "email,name,topics,regions,cadence\n"
        "good@example.net,Good,,,\n"
        "not-an-address,,,,\n"
        "odd@example.net,,volcanoes,,hourly\n"
        "Dana@Example.net,Someone Else,hazmat,,\n"
        "bounced@example.net,,,,\n"
        "good@example.net,Again,,,\n"
        ",,,,\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("subscribers:import"), {"file": upload(text)})
    html = response.content.decode()
    assert "1 added, 3 skipped, 2 with errors" in html
    for line, message in [
        (3, "“not-an-address” is not an e-mail address"),
        (4, "cadence “hourly” is not one of instant, daily, weekly; unknown topic “volcanoes”"),
        (5, "already on the list (confirmed); left as it is"),
        (6, "suppressed (hard bounce)"),
        (7, "repeats line 2"),
    ]:
        assert f'data-line="{line}"' in html
        assert message in html
    dana = Subscriber.objects.get(email="dana@example.net")
    assert dana.name == "Dana Ortiz" and dana.source == "form"
    assert [topic.slug for topic in dana.topics.all()] == ["wildfire"]
    assert not Subscriber.objects.filter(email="bounced@example.net").exists()
    assert Delivery.objects.filter(kind=Delivery.Kind.CONFIRM).count() == 1


def test_a_check_only_import_adds_nobody(client, superuser):
    client.force_login(superuser)
    response = client.post(
        reverse("subscribers:import"), {"file": upload("someone@example.net,Someone\n"), "dry_run": "on"}
    )
    assert "1 would be added, 0 skipped, 0 with errors" in response.content.decode()
    assert not Subscriber.objects.exists() and not Delivery.objects.exists()


def test_a_file_that_is_not_a_subscriber_list_is_refused(client, superuser):
    client.force_login(superuser)
    for content, error in [
        (b"\x89\x00garbage", "The file is not UTF-8 text"),
        (b"\xff\xfe\x00garbage", "No e-mail column"),  # read as UTF-16: CJK characters
        (b"name,city\nDana,Austin\n", "No e-mail column"),
    ]:
        response = client.post(
            reverse("subscribers:import"), {"file": SimpleUploadedFile("x.csv", content, "text/csv")}
        )
        assert error in response.content.decode()
    assert not Subscriber.objects.exists()


def test_an_exported_list_imports_unchanged(client, superuser, subscriber, topics, regions):
    subscriber("moved@example.net", name="=cmd", topics=[topics["hazmat"]], regions=[regions["houston"]])
    client.force_login(superuser)
    export = b"".join(client.get(reverse("subscribers:export")).streaming_content)
    Subscriber.objects.all().delete()
    response = client.post(reverse("subscribers:import"), {"file": SimpleUploadedFile("x.csv", export)})
    assert "1 added" in response.content.decode()
    moved = Subscriber.objects.get()
    assert moved.name == "=cmd" and moved.status == "pending"
    assert [t.slug for t in moved.topics.all()] == ["hazmat"] and [r.code for r in moved.regions.all()] == [
        "city:4699066"
    ]


# Overview --------------------------------------------------------------------------------------------
def confirmed_days_ago(subscriber, email, days, **fields):
    reader = subscriber(email, **fields)
    Subscriber.objects.filter(pk=reader.pk).update(confirmed_at=timezone.now() - timedelta(days=days))
    return reader


def test_growth_counts_each_reader_from_confirmation_until_unsubscribing(subscriber):
    today = timezone.localdate()

    def at(days_ago):
        return timezone.now() - timedelta(days=days_ago)

    confirmed_days_ago(subscriber, "old@example.net", 200)
    confirmed_days_ago(subscriber, "recent@example.net", 10)
    subscriber("left@example.net", status="unsubscribed", confirmed_at=at(100), unsubscribed_at=at(5))
    subscriber("pending@example.net", status="pending")
    series = growth.growth(days=30, today=today)
    assert len(series) == 30 and series[-1]["day"] == today
    assert series[0]["total"] == 2
    assert series[-11]["joined"] == 1 and series[-11]["total"] == 3
    assert series[-6]["left"] == 1 and series[-6]["total"] == 2
    assert series[-1]["total"] == Subscriber.objects.confirmed().count() == 2


def test_the_overview_counts_by_status_and_cadence_and_draws_the_growth(client, audience_manager, subscriber):
    for n in range(3):
        confirmed_days_ago(subscriber, f"d{n}@example.net", n, cadence="daily")
    confirmed_days_ago(subscriber, "w@example.net", 40, cadence="weekly")
    subscriber("p@example.net", status="pending")
    client.force_login(audience_manager)
    response = client.get(reverse("subscribers:overview"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-status="confirmed">4<' in html and 'data-status="pending">1<' in html
    assert 'data-cadence="daily">3<' in html and 'data-cadence="weekly">1<' in html
    assert 'data-cadence="instant">0<' in html
    assert html.count("<svg") >= 2 and "<polyline" in html
    assert "Confirmed subscribers per day" in html
    assert f"{timezone.localdate():%a} {timezone.localdate().day}" in html  # the bar of today's confirmation
    assert response.context["latest"]["total"] == 4


# The note to staff -----------------------------------------------------------------------------------
def test_staff_hear_about_each_confirmed_reader(subscriber, mail_server, django_capture_on_commit_callbacks):
    settings = SubscriptionSettings.load()
    settings.staff_notice_email = "desk@example.org"
    settings.save()
    reader = subscriber("new@example.net", status="pending", name="New Reader")
    token = ConfirmationToken.issue(reader)
    with django_capture_on_commit_callbacks(execute=True):
        assert ConfirmationToken.redeem(token) == reader
    [note] = mail_server.to("desk@example.org")
    assert note["Subject"] == "New subscriber: new@example.net"
    text = note.get_body(("plain",)).get_content()
    assert "New Reader" in text and "Confirmed subscribers now: 1" in text
    assert f"/admin/subscribers/edit/{reader.pk}/" in text
    assert mail_server.to("new@example.net") == []


def test_no_note_when_no_staff_address_is_set(subscriber, mail_server, django_capture_on_commit_callbacks):
    token = ConfirmationToken.issue(subscriber("new@example.net", status="pending"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ConfirmationToken.redeem(token)
    assert callbacks == [] and mail_server.messages == []


# Who may see addresses -------------------------------------------------------------------------------
def subscriber_urls(reader):
    return [
        reverse("subscribers:index"),
        reverse("subscribers:add"),
        reverse("subscribers:edit", args=[reader.pk]),
        reverse("subscribers:inspect", args=[reader.pk]),
        reverse("subscribers:history", args=[reader.pk]),
        reverse("subscribers:delete", args=[reader.pk]),
        reverse("subscribers:overview"),
        reverse("subscribers:export"),
        reverse("subscribers:import"),
    ]


def test_editors_never_see_subscribers(client, editor, readers):
    client.force_login(editor)
    for url in subscriber_urls(readers["dana"]):
        assert client.get(url).status_code in {302, 403}, url
    assert client.post(reverse("subscribers:resend", args=[readers["kim"].pk])).status_code in {302, 403}
    dashboard = client.get(reverse("wagtailadmin_home")).content.decode()
    assert reverse("subscribers:index") not in dashboard
    assert "dana@example.net" not in dashboard


def test_model_permissions_without_the_address_permission_are_not_enough(
    client, django_user_model, home, readers
):
    user = django_user_model.objects.create_user("pat", "pat@example.org", "correct horse 6")
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["access_admin", "view_subscriber", "change_subscriber", "add_subscriber"]
        )
    )
    client.force_login(user)
    for url in subscriber_urls(readers["dana"]):
        response = client.get(url)
        # Wagtail turns "permission denied" into a redirect to the dashboard with an error message.
        assert response.status_code in {302, 403}, url
        assert "dana@example.net" not in response.content.decode()
    user.user_permissions.add(Permission.objects.get(codename="view_subscriber_addresses"))
    client.force_login(django_user_model.objects.get(pk=user.pk))
    assert client.get(reverse("subscribers:index")).status_code == 200


def test_audience_managers_and_superusers_see_everything(client, audience_manager, superuser, readers):
    for user in (audience_manager, superuser):
        client.force_login(user)
        for url in subscriber_urls(readers["dana"]):
            assert client.get(url).status_code == 200, (user, url)
        assert reverse("subscribers:index") in client.get(reverse("wagtailadmin_home")).content.decode()


def test_setting_up_the_site_twice_keeps_one_audience_group(home):
    from watchdesk.posts.setup import setup_site

    setup_site()
    group = Group.objects.get(name="Audience managers")
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"view_subscriber_addresses", "add_subscriber", "delete_suppression", "access_admin"} <= codenames


def test_chart_axes_have_round_ticks():
    assert growth.axis(0) == [0, 1]
    assert growth.axis(3) == [0, 1, 2, 3]
    assert growth.axis(7) == [0, 2, 4, 6, 8]
    assert growth.axis(10) == [0, 5, 10]
    assert growth.axis(335) == [0, 100, 200, 300, 400]
    assert growth.axis(2001) == [0, 1000, 2000, 3000]
