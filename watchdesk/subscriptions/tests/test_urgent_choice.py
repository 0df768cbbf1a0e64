"""A digest reader chooses "Breaking news at once, the rest in my digest" when subscribing or later; an
instant reader has nothing to choose; a form that does not carry the choice leaves it alone."""

import pytest

from watchdesk.subscriptions.forms import PreferencesForm, SubscribeForm
from watchdesk.subscriptions.models import Subscriber

pytestmark = pytest.mark.django_db
LABEL = "Breaking news at once, the rest in my digest"


def preferences(reader):
    return f"/subscribe/preferences/{reader.link_token}/"


def test_the_subscribe_page_offers_it_with_the_digest_timing(client, home):
    html = client.get("/subscribe/").content.decode()
    timing = html[
        html.index("data-digest-timing") : html.index("</fieldset>", html.index("data-digest-timing"))
    ]
    assert f'<label for="id_urgent_at_once">{LABEL}</label>' in timing
    assert 'type="checkbox" name="urgent_at_once"' in timing
    assert 'aria-describedby="id_urgent_at_once_helptext"' in timing
    # test_public.test_every_subscription_page_is_valid_html5 checks the page's HTML (slow).


@pytest.mark.parametrize(
    ("cadence", "ticked", "stored"),
    [("daily", True, True), ("weekly", True, True), ("daily", False, False), ("instant", True, False)],
)
def test_subscribing_keeps_the_choice_for_digest_readers_only(client, home, cadence, ticked, stored):
    data = {"email": "reader@example.net", "scope": "everything", "cadence": cadence}
    if ticked:
        data["urgent_at_once"] = "on"
    assert client.post("/subscribe/", data).status_code == 303
    assert Subscriber.objects.get().urgent_at_once is stored


def test_the_preferences_page_shows_and_changes_it(client, subscriber):
    reader = subscriber("reader@example.net", cadence="daily")
    html = client.get(preferences(reader)).content.decode()
    assert (
        'name="urgent_at_once" aria-describedby="id_urgent_at_once_helptext" id="id_urgent_at_once">' in html
    )

    client.post(preferences(reader), {"scope": "everything", "cadence": "daily", "urgent_at_once": "on"})
    reader.refresh_from_db()
    assert reader.urgent_at_once
    assert 'id="id_urgent_at_once" checked>' in client.get(preferences(reader)).content.decode()

    client.post(preferences(reader), {"scope": "everything", "cadence": "daily"})
    reader.refresh_from_db()
    assert not reader.urgent_at_once


def test_the_stay_informed_box_leaves_an_existing_choice_alone(subscriber):
    reader = subscriber("reader@example.net", status="unsubscribed", cadence="daily", urgent_at_once=True)
    form = SubscribeForm({"email": "reader@example.net"})
    assert form.is_valid(), form.errors
    assert "urgent_at_once" not in form.changes()
    full = SubscribeForm({"email": "reader@example.net", "scope": "everything", "cadence": "weekly"})
    assert full.is_valid() and full.changes()["urgent_at_once"] is False
    form = PreferencesForm(subscriber=reader)
    assert form["urgent_at_once"].value() is True
