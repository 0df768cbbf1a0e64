"""Subscribers' addresses are shown only to users with ``view_subscriber_addresses``. A custom group given
every other subscriber and e-mail permission (``Helpdesk`` here) sees masked addresses in the
suppression list and the provider events, cannot search them or open one, and site history never holds
an address at all."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from watchdesk.delivery.models import MailEvent
from watchdesk.subscriptions.models import Subscriber, Suppression, mask_email

pytestmark = pytest.mark.django_db

MIGRATION = "watchdesk.subscriptions.migrations.0002_mask_addresses_in_log_labels"


@pytest.fixture
def helpdesk(django_user_model, home):
    group = Group.objects.create(name="Helpdesk")
    group.permissions.set(
        Permission.objects.filter(
            codename__in=[
                "access_admin",
                "view_subscriber",
                "change_subscriber",
                "add_suppression",
                "view_suppression",
                "delete_suppression",
                "view_mailevent",
            ]
        )
    )
    user = django_user_model.objects.create_user("hal", "hal@example.org", "correct horse 9")
    user.groups.add(group)
    return user


@pytest.fixture
def listed(home):
    Suppression.add(
        "dana.ortiz@example.net", Suppression.Reason.REJECTED, "550 5.1.1 <dana.ortiz@example.net>: no"
    )
    MailEvent.objects.create(
        provider="postmark",
        event_id="e1",
        type="bounced",
        email="lee.park@example.com",
        occurred_at=timezone.now(),
        detail="lee.park@example.com bounced",
    )


def test_mask_email():
    assert mask_email("dana.ortiz@example.net") == "d•••@e•••.net"
    assert "dana" not in mask_email("dana@dana.example")


def test_a_group_without_the_permission_sees_masked_addresses(client, helpdesk, listed):
    client.force_login(helpdesk)

    suppressions = client.get(reverse("suppressions:index"))
    events = client.get(reverse("mail_events:index"))

    for response, address in [(suppressions, "dana.ortiz@example.net"), (events, "lee.park@example.com")]:
        html = response.content.decode()
        assert response.status_code == 200
        assert address not in html and address.split("@")[0] not in html
        assert mask_email(address) in html
        assert 'name="q"' not in html  # no search: it would tell whether an address is listed
    suppression = Suppression.objects.get()
    assert reverse("suppressions:inspect", args=[suppression.pk]) not in suppressions.content.decode()
    one_by_one = [
        reverse(f"suppressions:{name}", args=[suppression.pk]) for name in ("inspect", "delete", "history")
    ]
    for url in [*one_by_one, reverse("mail_events:inspect", args=[MailEvent.objects.get().pk])]:
        refused = client.get(url)  # Wagtail answers a refusal with a redirect to the dashboard
        assert (refused.status_code, refused["Location"]) == (302, "/admin/"), url
    # A search typed into the URL finds nothing out either.
    assert client.get(reverse("suppressions:index") + "?q=nobody").content.decode().count("d•••@e•••.net")


def test_audience_managers_see_the_addresses(client, audience_manager, listed):
    client.force_login(audience_manager)
    html = client.get(reverse("suppressions:index")).content.decode()
    assert "dana.ortiz@example.net" in html and 'name="q"' in html
    assert "lee.park@example.com" in client.get(reverse("mail_events:index")).content.decode()
    suppression = Suppression.objects.get()
    assert client.get(reverse("suppressions:inspect", args=[suppression.pk])).status_code == 200


def test_site_history_never_holds_an_address(client, superuser, helpdesk, audience_manager):
    client.force_login(superuser)
    client.post(
        reverse("subscribers:add"),
        {"email": "kim.wu@example.net", "cadence": "daily", "everything": "on", "regions": ""},
    )
    client.post(reverse("suppressions:add"), {"email": "jo.bloggs@example.org", "detail": "asked by phone"})
    assert Subscriber.objects.filter(email="kim.wu@example.net").exists()
    assert Suppression.objects.filter(email="jo.bloggs@example.org").exists()

    labels = set(ModelLogEntry.objects.values_list("label", flat=True))
    assert {"k•••@e•••.net", "j•••@e•••.org"} <= labels
    for user in (helpdesk, audience_manager, superuser):
        browser = Client()  # without the superuser's "Added kim.wu@..." message still to show
        browser.force_login(user)
        response = browser.get(reverse("wagtailadmin_reports:site_history"))
        html = response.content.decode()
        assert response.status_code == 200
        assert "kim.wu" not in html and "jo.bloggs" not in html
    assert "k•••@e•••.net" in html and "j•••@e•••.org" in html


def test_the_migration_masks_labels_written_before(superuser):
    reader = Subscriber.objects.create(email="old@example.net")
    entry = log(reader, "wagtail.create", user=superuser)
    ModelLogEntry.objects.filter(pk=entry.pk).update(label="old@example.net")  # as logged before

    __import__(MIGRATION, fromlist=["mask_labels"]).mask_labels(apps, None)

    assert ModelLogEntry.objects.get(pk=entry.pk).label == "o•••@e•••.net"
