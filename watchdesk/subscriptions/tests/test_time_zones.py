"""A reader's time zone, digest hour and weekly day: chosen on the subscribe and preferences pages (or
guessed by the browser), checked against the tz database, carried by the worker, and honoured."""

import re
from datetime import UTC, datetime, time

import pytest

from watchdesk.subscriptions.forms import PreferencesForm, SubscribeForm
from watchdesk.subscriptions.models import ConfirmationToken, Subscriber, SubscriptionSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def site_schedule(settings):
    settings.TIME_ZONE = "America/Chicago"
    options = SubscriptionSettings.load()
    options.digest_time = time(6, 30)
    options.weekly_digest_day = 2  # Wednesday
    options.save()
    return options


def subscribe_data(**fields):
    return {"email": "rae@example.net", "scope": "everything", "cadence": "daily", **fields}


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "Pacific/Chatham", "America/Argentina/Buenos_Aires", "UTC"])
def test_any_tz_database_zone_is_accepted(site_schedule, zone):
    form = SubscribeForm(subscribe_data(time_zone=zone), reader_defaults=site_schedule.reader_defaults())
    assert form.is_valid(), form.errors
    assert form.changes()["time_zone"] == zone


def test_legacy_names_are_accepted_though_not_listed(site_schedule):
    form = SubscribeForm(subscribe_data(time_zone="US/Eastern"))
    assert form.is_valid(), form.errors
    # Shown back as chosen, in a group of its own.
    assert '<option value="US/Eastern" selected>US/Eastern</option>' in str(form["time_zone"])


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "localtime", "America/new_york", "../etc/passwd", "x" * 65]
)
def test_unknown_zones_are_refused(site_schedule, zone):
    form = SubscribeForm(subscribe_data(time_zone=zone))
    assert not form.is_valid()
    assert "time_zone" in form.errors


@pytest.mark.parametrize(
    ("field", "value"), [("digest_hour", "24"), ("digest_hour", "-1"), ("weekly_digest_day", "7")]
)
def test_hours_and_days_out_of_range_are_refused(site_schedule, field, value):
    form = SubscribeForm(subscribe_data(**{field: value}))
    assert not form.is_valid() and field in form.errors


def test_the_subscribe_page_offers_zone_hour_and_day_with_the_site_s_defaults(client, home, site_schedule):
    html = client.get("/subscribe/").content.decode()
    timing = html[html.index('<fieldset class="choices timing"') :]
    timing = timing[: timing.index("</fieldset>")]
    assert '<select name="time_zone" data-zone-guess="browser" id="id_time_zone">' in timing
    assert '<option value="America/Chicago" selected>Chicago</option>' in timing
    assert '<optgroup label="Asia">' in timing and '<option value="Asia/Kolkata">Kolkata</option>' in timing
    assert '<option value="6" selected>06:00</option>' in timing
    assert '<option value="2" selected>Wednesday</option>' in timing
    assert re.search(r'<script src="/static/watchdesk/local-time\.[0-9a-f.]*js" defer></script>', html) or (
        '<script src="/static/watchdesk/local-time.js" defer></script>' in html
    )


def test_a_form_shown_again_keeps_the_reader_s_zone_and_guesses_nothing(client, home, site_schedule):
    response = client.post("/subscribe/", subscribe_data(email="not an address", time_zone="Asia/Kolkata"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<select name="time_zone" id="id_time_zone">' in html
    assert '<option value="Asia/Kolkata" selected>Kolkata</option>' in html


def test_the_worker_saves_the_schedule_and_confirming_sets_the_first_digest(client, home, site_schedule):
    data = subscribe_data(time_zone="Asia/Kolkata", digest_hour="7", weekly_digest_day="4")
    assert client.post("/subscribe/", data).status_code == 303
    reader = Subscriber.objects.get()
    assert (reader.time_zone, reader.digest_hour, reader.weekly_digest_day) == ("Asia/Kolkata", 7, 4)
    assert reader.next_digest_at is None  # nothing goes to an unconfirmed address

    token = ConfirmationToken.issue(reader)
    ConfirmationToken.redeem(token, now=datetime(2026, 12, 4, 3, tzinfo=UTC))
    reader.refresh_from_db()
    # 07:00 in Kolkata is 01:30 UTC: already past on 4 December, so the 5th.
    assert reader.next_digest_at == datetime(2026, 12, 5, 1, 30, tzinfo=UTC)


def test_the_stay_informed_box_sends_the_guessed_zone_and_the_site_s_hour_and_day(
    client, home, site_schedule
):
    client.post("/subscribe/", {"email": "box@example.net", "time_zone": "Europe/Berlin"})
    client.post("/subscribe/", {"email": "nojs@example.net", "time_zone": ""})
    box, nojs = Subscriber.objects.order_by("email")
    assert (box.time_zone, box.digest_hour, box.weekly_digest_day) == ("Europe/Berlin", 6, 2)
    assert (nojs.time_zone, nojs.digest_hour, nojs.weekly_digest_day) == ("America/Chicago", 6, 2)


def test_the_box_carries_an_empty_zone_for_the_script_to_fill(client, home, make_post):
    html = client.get("/").content.decode()
    assert '<input type="hidden" name="time_zone" value="" data-zone-guess="browser">' in html


def test_subscribing_again_keeps_a_zone_the_submission_does_not_carry(
    client, home, site_schedule, subscriber
):
    subscriber("back@example.net", status="unsubscribed", time_zone="Asia/Tokyo", digest_hour=21)
    client.post("/subscribe/", {"email": "back@example.net"})
    reader = Subscriber.objects.get()
    assert (reader.status, reader.time_zone, reader.digest_hour) == ("pending", "Asia/Tokyo", 21)


def test_preferences_change_the_schedule_and_move_the_next_digest(client, home, site_schedule, subscriber):
    since = datetime(2026, 12, 4, 12, 30, tzinfo=UTC)  # 06:30 in Chicago
    reader = subscriber(cadence="daily", time_zone="America/Chicago", digest_hour=6, last_digest_at=since)
    assert reader.next_digest_at == datetime(2026, 12, 5, 12, tzinfo=UTC)
    url = f"/subscribe/preferences/{reader.link_token}/"
    page = client.get(url).content.decode()
    assert '<select name="time_zone" id="id_time_zone">' in page  # a chosen zone is never replaced
    assert '<option value="America/Chicago" selected>Chicago</option>' in page

    data = {"scope": "everything", "cadence": "weekly", "time_zone": "Pacific/Chatham", "digest_hour": "7"}
    response = client.post(url, {**data, "weekly_digest_day": "6"})
    assert response.status_code == 303
    reader.refresh_from_db()
    assert (reader.cadence, reader.time_zone, reader.digest_hour, reader.weekly_digest_day) == (
        "weekly",
        "Pacific/Chatham",
        7,
        6,
    )
    # Sunday 6 December, 07:00 on the Chatham Islands (UTC+13:45).
    assert reader.next_digest_at == datetime(2026, 12, 5, 17, 15, tzinfo=UTC)

    refused = client.post(url, {**data, "time_zone": "Atlantis/Capital", "weekly_digest_day": "6"})
    assert refused.status_code == 200
    assert "Atlantis/Capital is not a time zone we know." in refused.content.decode()
    reader.refresh_from_db()
    assert reader.time_zone == "Pacific/Chatham"


def test_preferences_form_starts_from_the_reader_s_schedule(subscriber):
    reader = subscriber(cadence="weekly", time_zone="Asia/Kolkata", digest_hour=18, weekly_digest_day=4)
    form = PreferencesForm(subscriber=reader)
    assert [form[name].value() for name in ("time_zone", "digest_hour", "weekly_digest_day")] == [
        "Asia/Kolkata",
        18,
        4,
    ]


def test_staff_add_readers_with_the_site_s_defaults(client, superuser, site_schedule):
    client.force_login(superuser)
    form = client.get("/admin/subscribers/new/").content.decode()
    assert '<option value="America/Chicago" selected>Chicago</option>' in form
    client.post(
        "/admin/subscribers/new/",
        {"email": "staff@example.net", "cadence": "daily", "everything": "on", "time_zone": "Asia/Kolkata"},
    )
    reader = Subscriber.objects.get()
    assert (reader.time_zone, reader.digest_hour, reader.weekly_digest_day) == ("Asia/Kolkata", 6, 2)
