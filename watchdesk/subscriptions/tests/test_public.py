"""Readers subscribe, confirm, change their choices and leave, and strangers learn nothing about anyone.

Addresses in every state are named people: ``new`` (never seen), ``pending`` (waiting for confirmation),
``confirmed``, ``gone`` (unsubscribed) and ``bounced`` (confirmed, but suppressed after a hard bounce).
"""

import re
from datetime import timedelta

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.utils import timezone

from watchdesk.delivery.models import Delivery
from watchdesk.posts.tests.test_html import html_problems
from watchdesk.subscriptions.models import (
    ConfirmationToken,
    Reply,
    Subscriber,
    SubscriptionSettings,
    Suppression,
    request_replies,
)

pytestmark = pytest.mark.django_db

FORMS = ["/subscribe/", "/subscribe/resend/", "/subscribe/leave/"]
NOINDEX = '<meta name="robots" content="noindex">'


@pytest.fixture
def people(subscriber, topics):
    subscriber("pending@example.net", status="pending", name="Pat")
    subscriber("confirmed@example.net", name="Cam", topics=[topics["wildfire"]], cadence="daily")
    subscriber("gone@example.net", status="unsubscribed", topics=[topics["flooding"]], cadence="weekly")
    subscriber("bounced@example.net")
    Suppression.add("bounced@example.net", Suppression.Reason.HARD_BOUNCE)
    return {
        "new": "new@example.net",
        "pending": "pending@example.net",
        "confirmed": "confirmed@example.net",
        "gone": "gone@example.net",
        "bounced": "bounced@example.net",
    }


def kinds(email):
    return sorted(Delivery.objects.filter(subscriber__email=email).values_list("kind", flat=True))


def observable(response):
    """Everything a client can see of a response."""
    return (
        response.status_code,
        sorted(response.headers.items()),
        response.cookies.output(),
        response.content,
    )


def answer(client, url, email, **extra):
    """The response to a submission, and the page its redirect leads to."""
    posted = client.post(url, {"email": email}, **extra)
    followed = client.get(posted["Location"], **extra) if posted.status_code == 303 else None
    return observable(posted), followed and observable(followed)


# The Stay Informed box ----------------------------------------------------------------------------------


def test_the_stay_informed_box_is_on_the_home_page_a_post_and_listings(client, make_post, topics, regions):
    post = make_post("Brush fire", topics=[topics["wildfire"]], regions=[regions["california"]])
    for url in ["/", post.url, "/topics/wildfire/", "/regions/california/", "/search/?q=fire"]:
        html = client.get(url).content.decode()
        box = re.search(r'<aside class="stay-informed".*?</aside>', html, re.S)
        assert box, url
        box = box.group()
        assert '<h2 id="stay-informed-title">Stay Informed</h2>' in box
        assert "Subscribe and we will e-mail you when there are new updates." in box
        assert '<form class="stay-informed__form" method="post" action="/subscribe/">' in box
        assert 'name="csrfmiddlewaretoken"' in box
        assert '<label for="stay-informed-email">E-mail address</label>' in box
        assert 'type="email" name="email" autocomplete="email"' in box
        assert '<label for="stay-informed-name">Name <span class="optional">(optional)</span></label>' in box
        assert box.count("<button") == 1


def test_the_box_runs_no_query(home, django_assert_num_queries):
    request = RequestFactory().get("/")
    with django_assert_num_queries(0):
        html = Template("{% load subscriptions_tags %}{% stay_informed %}").render(
            Context({"request": request, "csrf_token": "t0ken"})
        )
    assert 'value="t0ken"' in html


def test_a_reader_subscribes_from_the_box_and_gets_everything_at_the_default_cadence(client, home):
    site_settings = SubscriptionSettings.load()
    site_settings.default_cadence = "daily"
    site_settings.save()

    response = client.post("/subscribe/", {"email": "  Reader@Example.NET ", "name": "Rae"})

    assert response.status_code == 303
    assert response["Location"] == "/subscribe/sent/"
    reader = Subscriber.objects.get()
    assert (reader.email, reader.name, reader.status) == ("reader@example.net", "Rae", "pending")
    assert (reader.everything, reader.cadence, reader.source) == (True, "daily", "form")
    assert kinds("reader@example.net") == ["confirm"]
    page = client.get("/subscribe/sent/")
    assert "If this address can receive our e-mail, a message is on its way" in page.content.decode()
    assert "reader@example.net" not in page.content.decode()


# The subscribe page -------------------------------------------------------------------------------------


def test_the_subscribe_page_offers_scope_and_cadence(client, home, make_post, topics, regions):
    make_post(regions=[regions["los_angeles"]], published=timezone.now() - timedelta(days=45))
    site_settings = SubscriptionSettings.load()
    site_settings.default_cadence = "weekly"
    site_settings.save()

    response = client.get("/subscribe/")

    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert "<title>Subscribe by e-mail | " in html
    assert NOINDEX not in html  # a page worth finding
    assert 'class="stay-informed"' not in html  # the page is the box, in full
    assert 'name="email" autocomplete="email"' in html
    assert 'value="everything" id="id_scope_0" checked' in html
    assert 'value="weekly" id="id_cadence_2" checked' in html
    for topic in topics.values():
        assert f"> {topic.name}</label>" in html
    # The four scopes, and the sentence for the default one with its count (the post is 45 days old).
    for value in ["everything", "topics", "places", "both"]:
        assert f'value="{value}"' in html
    assert "All our posts, in a weekly digest." in html
    assert "No posts in the last 30 days matched" in html
    # Places with posts to tick; every other place through the box, not as hundreds of boxes.
    assert re.search(r'name="regions" value="\d+" id="id_regions_\d+"> Los Angeles, California<', html)
    for elsewhere in ["Houston", "Los Angeles County", "Mali", "> Texas<", "> United States<"]:
        assert elsewhere not in html
    assert 'name="place_names"' in html
    assert 'src="/static/subscriptions/scope.js" defer' in html


def test_a_reader_chooses_topics_places_and_cadence(client, home, topics, regions):
    response = client.post(
        "/subscribe/",
        {
            "email": "chooser@example.net",
            "scope": "chosen",
            "topics": [topics["hazmat"].pk],
            "regions": [regions["texas"].pk, regions["mali"].pk],
            "cadence": "weekly",
        },
    )

    assert response.status_code == 303
    reader = Subscriber.objects.get(email="chooser@example.net")
    assert not reader.everything and reader.cadence == "weekly"
    assert list(reader.topics.all()) == [topics["hazmat"]]
    assert set(reader.regions.all()) == {regions["texas"], regions["mali"]}


def test_choosing_only_some_needs_at_least_one_topic_or_place(client, home, topics):
    response = client.post(
        "/subscribe/", {"email": "vague@example.net", "scope": "chosen", "cadence": "instant"}
    )

    assert response.status_code == 200
    assert "Choose at least one topic or place, or choose everything." in response.content.decode()
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize("email", ["not-an-address", "", "a@b@c.org", "x" * 250 + "@example.org"])
def test_a_bad_address_shows_the_form_again_and_writes_nothing(client, people, email):
    response = client.post("/subscribe/", {"email": email, "name": "Someone"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'aria-invalid="true"' in html
    assert 'class="errorlist" id="id_email_error"' in html
    assert 'value="Someone"' in html
    assert Subscriber.objects.count() == 4
    assert not Delivery.objects.exists()


def test_a_missing_csrf_cookie_gives_the_form_back_not_a_403(home):
    browser = Client(enforce_csrf_checks=True)

    refused = browser.post("/subscribe/", {"email": "cookieless@example.net"})

    assert refused.status_code == 200
    assert "did not send this form&#x27;s security check" in refused.content.decode()
    assert 'value="cookieless@example.net"' in refused.content.decode()
    assert not Subscriber.objects.exists()
    # The page just shown set the cookie and holds a token: pressing the button again works.
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', refused.content.decode()).group(1)
    accepted = browser.post("/subscribe/", {"email": "cookieless@example.net", "csrfmiddlewaretoken": token})
    assert accepted.status_code == 303
    assert Subscriber.objects.filter(email="cookieless@example.net").exists()


# What a stranger can learn: nothing ---------------------------------------------------------------------


@pytest.mark.parametrize("url", FORMS)
def test_every_address_and_a_rate_limited_request_get_the_same_answer(
    client, people, subscriber, settings, url
):
    # Two more: one pending and one confirmed address that have had their three e-mails today.
    for state in ("pending", "confirmed"):
        busy = subscriber(f"busy-{state}@example.net", status=state)
        for _ in range(3):
            request_replies([busy], Reply.CONFIRM)
        people = {**people, f"{state}, address limit reached": busy.email}
    settings.SUBSCRIBE_IP_LIMIT = len(people)
    answers = {state: answer(client, url, email) for state, email in people.items()}
    # This client has used its hourly allowance: its next request is refused, silently.
    answers["rate-limited"] = answer(client, url, "limited@example.net")

    first = answers["new"]
    assert first[0][0] == 303 and first[1][0] == 200
    assert ("Cache-Control", "private, no-store") in first[0][1]
    assert first[0][2] == first[1][2] == ""  # no cookie at all, so no messages framework either
    for state, seen in answers.items():
        assert seen == first, state
    assert not Subscriber.objects.filter(email="limited@example.net").exists()
    assert Delivery.objects.filter(subscriber__email__startswith="busy-").count() == 6


@pytest.mark.parametrize("url", FORMS)
def test_the_answer_is_the_same_whatever_the_spelling(client, people, url):
    assert answer(client, url, "Confirmed@Example.net ") == answer(client, url, "nobody@example.net")


def test_subscribing_again_in_each_state(client, people, topics):
    for email in people.values():
        client.post(
            "/subscribe/",
            {
                "email": email.upper(),
                "name": "New name",
                "scope": "chosen",
                "topics": [topics["hazmat"].pk],
                "cadence": "weekly",
            },
        )

    def state(email):
        reader = Subscriber.objects.get(email=email)
        return (
            reader.status,
            reader.name,
            reader.everything,
            reader.cadence,
            [t.slug for t in reader.topics.all()],
        )

    chosen = ("pending", "New name", False, "weekly", ["hazmat"])
    assert state("new@example.net") == chosen
    assert state("pending@example.net") == chosen
    assert state("gone@example.net") == chosen
    # A confirmed reader's choices are theirs: a stranger's form changes nothing, they get a note.
    assert state("confirmed@example.net") == ("confirmed", "Cam", False, "daily", ["wildfire"])
    assert state("bounced@example.net")[0] == "confirmed"
    assert (
        kinds("new@example.net") == kinds("pending@example.net") == kinds("gone@example.net") == ["confirm"]
    )
    assert kinds("confirmed@example.net") == ["already"]
    assert kinds("bounced@example.net") == []


def test_the_box_brings_a_reader_back_with_the_choices_they_had(client, people):
    client.post("/subscribe/", {"email": "gone@example.net"})

    reader = Subscriber.objects.get(email="gone@example.net")
    assert reader.status == "pending"
    assert (reader.everything, reader.cadence) == (False, "weekly")
    assert [t.slug for t in reader.topics.all()] == ["flooding"]


def test_resend_queues_a_confirmation_for_pending_addresses_only(client, people):
    for email in people.values():
        client.post("/subscribe/resend/", {"email": email})

    assert kinds("pending@example.net") == ["confirm"]
    assert Delivery.objects.count() == 1
    assert not Subscriber.objects.filter(email="new@example.net").exists()


def test_leave_queues_an_unsubscribe_link_for_confirmed_addresses_only(client, people):
    for email in people.values():
        response = client.post("/subscribe/leave/", {"email": email})
        assert response["Location"] == "/subscribe/leave/sent/"

    assert kinds("confirmed@example.net") == ["link"]
    assert Delivery.objects.count() == 1
    assert Subscriber.objects.get(email="confirmed@example.net").status == "confirmed"


# Rate limits -------------------------------------------------------------------------------------------


def test_an_address_gets_at_most_three_confirmation_type_emails_a_day(client, people, settings, monkeypatch):
    assert settings.SUBSCRIBE_EMAIL_LIMIT == 3
    # A quarter of an hour between requests: the same reply twice within minutes is sent once anyway.
    start = timezone.now()
    clock = iter(start + timedelta(minutes=15 * n) for n in range(100))
    monkeypatch.setattr(timezone, "now", lambda: next(clock))
    for url in ["/subscribe/", "/subscribe/resend/", "/subscribe/", "/subscribe/resend/"]:
        # From different networks: the per-address limit holds whoever asks.
        client.post(url, {"email": "pending@example.net"}, REMOTE_ADDR=f"198.51.100.{len(url)}")
    assert kinds("pending@example.net") == ["confirm"] * 3

    for _ in range(4):
        client.post("/subscribe/leave/", {"email": "confirmed@example.net"})
        client.post("/subscribe/", {"email": "confirmed@example.net"})
    assert len(kinds("confirmed@example.net")) == 3

    # A day later the address may ask again.
    day_ago = next(clock) - timedelta(hours=24, minutes=1)
    Subscriber.objects.update(recent_replies=[[day_ago.isoformat(), Reply.CONFIRM]] * 3)
    client.post("/subscribe/resend/", {"email": "pending@example.net"})
    assert kinds("pending@example.net") == ["confirm"] * 4


def test_the_same_request_twice_within_minutes_is_answered_once(client, people):
    for email in people.values():
        for url in FORMS:
            client.post(url, {"email": email})
            client.post(url, {"email": email})

    assert (
        kinds("new@example.net") == kinds("pending@example.net") == kinds("gone@example.net") == ["confirm"]
    )
    assert kinds("confirmed@example.net") == ["already", "link"]
    assert kinds("bounced@example.net") == []


def test_one_network_gets_a_limited_number_of_requests_an_hour(client, home, settings):
    settings.SUBSCRIBE_IP_LIMIT = 3
    for n, url in enumerate(["/subscribe/", "/subscribe/resend/", "/subscribe/leave/", "/subscribe/"]):
        client.post(url, {"email": f"reader{n}@example.net"}, REMOTE_ADDR="203.0.113.7")
    assert sorted(Subscriber.objects.values_list("email", flat=True)) == ["reader0@example.net"]

    client.post("/subscribe/", {"email": "neighbour@example.net"}, REMOTE_ADDR="203.0.113.8")
    assert Subscriber.objects.filter(email="neighbour@example.net").exists()


def test_behind_a_proxy_the_limit_keys_on_the_forwarded_client_address(client, home, settings):
    settings.SUBSCRIBE_IP_LIMIT = 1
    settings.AXES_IPWARE_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    # What the client claims (the left part) is ignored; what our proxy saw (the last entry) counts.
    client.post(
        "/subscribe/", {"email": "a@example.net"}, HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.1", **proxy
    )
    client.post(
        "/subscribe/", {"email": "b@example.net"}, HTTP_X_FORWARDED_FOR="2.2.2.2, 203.0.113.1", **proxy
    )
    client.post("/subscribe/", {"email": "c@example.net"}, HTTP_X_FORWARDED_FOR="203.0.113.2", **proxy)

    assert sorted(Subscriber.objects.values_list("email", flat=True)) == ["a@example.net", "c@example.net"]


# Confirmation ------------------------------------------------------------------------------------------


def assert_link_page(response):
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert NOINDEX in response.content.decode()
    assert not response.cookies


def test_confirming_takes_a_press_of_the_button(client, people):
    reader = Subscriber.objects.get(email="pending@example.net")
    token = ConfirmationToken.issue(reader)
    url = f"/subscribe/confirm/{token}/"

    shown = client.get(url)
    assert shown.status_code == 200
    assert_link_page(shown)
    assert "<title>Confirm your subscription | " in shown.content.decode()
    assert "pending@example.net" in shown.content.decode()
    client.head(url)
    reader.refresh_from_db()
    assert reader.status == "pending"

    done = client.post(url)
    assert done.status_code == 303
    assert done["Location"] == f"/subscribe/welcome/{reader.link_token}/"
    reader.refresh_from_db()
    assert reader.status == "confirmed" and reader.confirmed_at is not None
    welcome = client.get(done["Location"])
    assert_link_page(welcome)
    assert "You're subscribed" in welcome.content.decode()
    assert f'href="/subscribe/preferences/{reader.link_token}/"' in welcome.content.decode()

    again = client.post(url)
    assert again.status_code == 404
    assert "This confirmation link does not work" in again.content.decode()
    assert 'action="/subscribe/resend/"' in again.content.decode()


@pytest.mark.parametrize("token", ["nonsense", "x" * 300, "abc-DEF_123.456:7"])
def test_an_unknown_confirmation_link_offers_a_new_one(client, people, token):
    for response in (client.get(f"/subscribe/confirm/{token}/"), client.post(f"/subscribe/confirm/{token}/")):
        assert response.status_code == 404
        assert "Send a new link" in response.content.decode()
        assert NOINDEX in response.content.decode()
    assert not Subscriber.objects.filter(status="confirmed", email="pending@example.net").exists()


# Preferences -------------------------------------------------------------------------------------------


def preferences(reader):
    return f"/subscribe/preferences/{reader.link_token}/"


def test_preferences_change_name_scope_cadence_and_pause(client, people, topics, regions):
    reader = Subscriber.objects.get(email="confirmed@example.net")
    shown = client.get(preferences(reader))
    assert shown.status_code == 200
    assert_link_page(shown)
    html = shown.content.decode()
    assert "<title>Your subscription | " in html
    assert 'value="topics" id="id_scope_1" required checked' in html  # wildfire, anywhere
    assert "Posts about Wildfire, wherever they happen, in a daily digest." in html
    assert 'value="daily" id="id_cadence_1" required checked' in html

    saved = client.post(
        preferences(reader),
        {
            "name": "Cam R.",
            "scope": "chosen",
            "topics": [topics["hazmat"].pk],
            "regions": [regions["california"].pk],
            "cadence": "weekly",
            "paused": "on",
        },
    )
    assert saved.status_code == 303
    assert saved["Location"] == preferences(reader) + "?saved=1"
    reader.refresh_from_db()
    assert (reader.name, reader.everything, reader.cadence, reader.paused) == (
        "Cam R.",
        False,
        "weekly",
        True,
    )
    assert [t.slug for t in reader.topics.all()] == ["hazmat"]
    assert [r.slug for r in reader.regions.all()] == ["california"]
    assert reader.status == "confirmed"
    page = client.get(saved["Location"]).content.decode()
    assert "Your choices are saved." in page
    assert "Your subscription is paused" in page

    client.post(preferences(reader), {"name": "", "scope": "everything", "cadence": "instant"})
    reader.refresh_from_db()
    assert (reader.name, reader.everything, reader.cadence, reader.paused) == ("", True, "instant", False)


def test_a_place_without_posts_stays_on_offer_to_the_reader_who_chose_it(client, people, regions):
    reader = Subscriber.objects.get(email="confirmed@example.net")
    reader.regions.set([regions["houston"]])

    html = client.get(preferences(reader)).content.decode()

    houston = regions["houston"].pk
    assert f'value="{houston}" id="id_regions_{houston}" checked> Houston, Texas' in html
    assert "Posts about Wildfire in Houston, Texas, in a daily digest." in html  # and, not or


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_forged_preferences_link_is_404_and_changes_nothing(client, people, method):
    reader = Subscriber.objects.get(email="confirmed@example.net")
    forged = reader.link_token[:-2] + ("AA" if not reader.link_token.endswith("AA") else "BB")
    for token in (forged, reader.key, "confirmed@example.net"):
        response = getattr(client, method)(
            f"/subscribe/preferences/{token}/", {"scope": "everything", "cadence": "weekly", "paused": "on"}
        )
        assert response.status_code == 404
        assert "This link does not work" in response.content.decode()
    reader.refresh_from_db()
    assert (reader.everything, reader.cadence, reader.paused) == (False, "daily", False)


# Unsubscribing -----------------------------------------------------------------------------------------


def test_one_click_unsubscribe_needs_no_cookie_and_can_be_repeated(people):
    reader = Subscriber.objects.get(email="confirmed@example.net")
    url = f"/subscribe/unsubscribe/{reader.link_token}/"
    mail_client = Client(enforce_csrf_checks=True)  # no cookie, no CSRF token: as a mail provider posts

    for _ in range(2):
        response = mail_client.post(
            url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 200
        assert_link_page(response)
        assert "You're unsubscribed" in response.content.decode()
        reader.refresh_from_db()
        assert reader.status == "unsubscribed"
    assert Subscriber.objects.filter(status="confirmed").count() == 1  # only the bounced one is left


def test_the_unsubscribe_page_asks_first_and_its_button_unsubscribes(client, people):
    reader = Subscriber.objects.get(email="confirmed@example.net")
    url = f"/subscribe/unsubscribe/{reader.link_token}/"

    shown = client.get(url)
    assert shown.status_code == 200
    assert_link_page(shown)
    assert "Stop all e-mail from" in shown.content.decode()
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in shown.content.decode()
    reader.refresh_from_db()
    assert reader.status == "confirmed"

    client.post(url, {"List-Unsubscribe": "One-Click"})
    reader.refresh_from_db()
    assert reader.status == "unsubscribed" and reader.unsubscribed_at is not None


def test_a_forged_unsubscribe_link_changes_nothing(client, people):
    reader = Subscriber.objects.get(email="confirmed@example.net")
    for token in (reader.key, reader.link_token + "x", "nonsense"):
        response = client.post(
            f"/subscribe/unsubscribe/{token}/",
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 404
    assert Subscriber.objects.filter(status="unsubscribed").count() == 1  # "gone", from the start


def test_an_unsubscribed_reader_can_come_back_through_preferences(client, people):
    reader = Subscriber.objects.get(email="confirmed@example.net")
    done = client.post(f"/subscribe/unsubscribe/{reader.link_token}/").content.decode()
    action = f'action="/subscribe/resubscribe/{reader.link_token}/"'
    assert action in done

    back = client.post(f"/subscribe/resubscribe/{reader.link_token}/")

    assert back.status_code == 303
    assert back["Location"] == preferences(reader) + "?resubscribed=1"
    reader.refresh_from_db()
    assert reader.status == "confirmed" and reader.unsubscribed_at is None
    assert [t.slug for t in reader.topics.all()] == ["wildfire"]
    assert "Welcome back" in client.get(back["Location"]).content.decode()
    assert not Delivery.objects.exists()


def test_a_never_confirmed_address_cannot_be_resubscribed_by_link(client, people):
    reader = Subscriber.objects.get(email="pending@example.net")
    reader.unsubscribe()

    client.post(f"/subscribe/resubscribe/{reader.link_token}/")

    reader.refresh_from_db()
    assert reader.status == "unsubscribed"


# Valid HTML --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_every_subscription_page_is_valid_html5(client, people, tmp_path, make_post, topics, regions):
    make_post(topics=[topics["wildfire"]], regions=[regions["los_angeles"]])
    reader = Subscriber.objects.get(email="confirmed@example.net")
    token = ConfirmationToken.issue(Subscriber.objects.get(email="pending@example.net"))
    pages = {
        "subscribe": client.get("/subscribe/"),
        "subscribe-errors": client.post("/subscribe/", {"email": "bad", "scope": "chosen"}),
        "sent": client.get("/subscribe/sent/"),
        "leave-sent": client.get("/subscribe/leave/sent/"),
        "resend": client.get("/subscribe/resend/"),
        "leave": client.get("/subscribe/leave/"),
        "confirm": client.get(f"/subscribe/confirm/{token}/"),
        "confirm-failed": client.get("/subscribe/confirm/nonsense/"),
        "welcome": client.get(f"/subscribe/welcome/{reader.link_token}/"),
        "preferences": client.get(preferences(reader)),
        "unsubscribe": client.get(f"/subscribe/unsubscribe/{reader.link_token}/"),
        "unsubscribed": client.post(f"/subscribe/unsubscribe/{reader.link_token}/"),
        "bad-link": client.get("/subscribe/preferences/nonsense/"),
    }
    problems = html_problems({name: response.content for name, response in pages.items()}, tmp_path)
    assert not problems, "\n".join(problems)
