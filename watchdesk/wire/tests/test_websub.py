"""WebSub: a source whose feed names a hub is subscribed to, the hub's verification of intent is answered
only for what we asked, signed pushes are ingested by the worker like a poll, bad ones are ignored and
counted, leases are renewed, and removed or paused sources leave the hub.

The hub is ``watchdesk.testing.websubhub.LocalHub`` on a local port; it reaches our callback through
Django's test client (the ``client_transport`` below), and the outlet is the ``web_server`` fixture.
"""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from watchdesk.testing.webserver import Reply
from watchdesk.testing.websubhub import LocalHub
from watchdesk.wire import websub
from watchdesk.wire.models import FetchLog, Item, PushedDocument, Source, WebSubSubscription
from watchdesk.wire.polling import poll_source
from watchdesk.wire.tasks import prune_wire, websub_upkeep

SITE = "https://desk.example.org"
ATOM = "application/atom+xml; charset=utf-8"
State = WebSubSubscription.State


def atom(*stories, hub=None, self_url=None):
    """An Atom feed of (id, title, text) stories, published a minute ago, naming a hub if given."""
    when = (timezone.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    links = f"<link rel='hub' href='{hub}'/>" if hub else ""
    links += f"<link rel='self' href='{self_url}'/>" if self_url else ""
    entries = "".join(
        f"<entry><id>urn:bayou:{key}</id><title>{title}</title>"
        f"<link href='https://bayoufire.example/news/{key}'/><updated>{when}</updated>"
        f"<summary>{text}</summary></entry>"
        for key, title, text in stories
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
        f"<title>Bayou Fire Wire</title><id>urn:bayou</id><updated>{when}</updated>"
        f"<link href='https://bayoufire.example/'/>{links}{entries}</feed>"
    ).encode()


TANK = ("tank", "Tank fire at Deer Park terminal", "Crews cooled three naphtha tanks overnight.")
LEVEE = ("levee", "Levee patrols doubled along the bayou", "The parish doubled patrols after the rain.")


def client_transport(client):
    """How the local hub reaches our callback here: through Django's test client, in this thread."""

    def send(method, url, *, params=None, body=None, headers=None):
        path = urlsplit(url).path
        if method == "GET":
            response = client.get(path, params or {})
        else:
            headers = dict(headers or {})
            content_type = headers.pop("Content-Type", "application/octet-stream")
            response = client.post(path, body, content_type=content_type, headers=headers)
        return response.status_code, response.content

    return send


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def hub(web_server, client, settings):
    hub = LocalHub(transport=client_transport(client), lease_seconds=1000).start()
    settings.WATCHDESK_FETCH_ALLOWED_PORTS = [web_server.port, hub.server.port]
    yield hub
    hub.stop()


@pytest.fixture
def outlet(web_server, hub, source):
    """A source whose feed names the local hub, and itself at a self URL (the topic)."""
    web_server.routes["/feed.xml"] = Reply(
        200, {"Content-Type": ATOM}, atom(TANK, hub=hub.url, self_url=web_server.url("/feed.xml?self"))
    )
    return source(url=web_server.url("/feed.xml"), name="Bayou Fire Wire")


def subscribed(outlet, hub):
    """Poll the outlet (which subscribes) and let the hub verify: the live subscription."""
    poll_source(outlet)
    hub.process()
    return WebSubSubscription.objects.get(source=outlet)


def push(web_server, hub, topic, *stories, capture, execute=True):
    """The outlet publishes ``stories`` and the hub distributes its feed; the worker's task runs if
    ``execute``."""
    web_server.routes["/feed.xml"] = Reply(200, {"Content-Type": ATOM}, atom(*stories, hub=hub.url))
    with capture(execute=execute):
        hub.distribute(topic, body=None)


# Subscribing ------------------------------------------------------------------------------------------


def test_a_feed_naming_a_hub_is_subscribed_to_and_the_hub_verifies_our_intent(outlet, hub, web_server):
    poll_source(outlet)

    [request] = hub.requests
    subscription = WebSubSubscription.objects.get(source=outlet)
    assert request["hub.mode"] == "subscribe"
    assert request["hub.topic"] == web_server.url("/feed.xml?self")  # the feed's self link
    assert request["hub.callback"] == f"{SITE}/websub/{subscription.token}/"
    assert len(subscription.token) >= 32 and len(request["hub.secret"]) == 64
    assert request["hub.secret"] == subscription.secret
    assert request["hub.lease_seconds"] == str(7 * 24 * 3600)
    assert (subscription.state, subscription.pending_mode) == (State.REQUESTED, "subscribe")

    before = timezone.now()
    assert hub.process() == 1

    [(mode, topic, callback, status, confirmed)] = hub.verifications
    assert (mode, status, confirmed) == ("subscribe", 200, True)
    subscription.refresh_from_db()
    assert subscription.state == State.ACTIVE and subscription.pending_mode == ""
    assert (
        before + timedelta(seconds=1000)
        <= subscription.lease_until
        <= timezone.now() + timedelta(seconds=1000)
    )
    assert subscription.renew_at == subscription.verified_at + timedelta(seconds=800)


def test_each_subscriber_gets_its_own_secret_and_unguessable_callback(outlet, hub, web_server, source):
    web_server.routes["/other.xml"] = Reply(200, {"Content-Type": ATOM}, atom(LEVEE, hub=hub.url))
    other = source(url=web_server.url("/other.xml"))
    poll_source(outlet)
    poll_source(other)

    first, second = hub.requests
    assert first["hub.secret"] != second["hub.secret"]
    assert first["hub.callback"] != second["hub.callback"]
    assert second["hub.topic"] == web_server.url("/other.xml")  # no self link: the URL we fetch


def test_a_hub_named_in_a_link_header_comes_before_the_document(outlet, hub, web_server):
    web_server.routes["/feed.xml"] = Reply(
        200,
        {"Content-Type": ATOM, "Link": f'<{hub.url}?via=header>; rel="hub", <{outlet.url}>; rel="self"'},
        atom(TANK, hub="https://elsewhere.example/hub"),
    )
    poll_source(outlet)

    subscription = WebSubSubscription.objects.get(source=outlet)
    assert (subscription.hub, subscription.topic) == (f"{hub.url}?via=header", outlet.url)
    assert hub.requests[0]["hub.topic"] == outlet.url


def test_polling_again_keeps_the_one_subscription(outlet, hub):
    subscription = subscribed(outlet, hub)
    Source.objects.filter(pk=outlet.pk).update(next_poll_at=None)
    poll_source(outlet)

    assert list(WebSubSubscription.objects.all()) == [subscription]
    assert len(hub.requests) == 1


# Verification of intent ----------------------------------------------------------------------------------


def test_the_callback_confirms_only_what_we_asked_for(outlet, hub, client):
    poll_source(outlet)
    subscription = WebSubSubscription.objects.get(source=outlet)
    path = f"/websub/{subscription.token}/"
    asked = {"hub.mode": "subscribe", "hub.topic": subscription.topic, "hub.challenge": "c-1"}

    assert client.get(path, {**asked, "hub.topic": "https://other.example/feed"}).status_code == 404
    assert client.get(path, {**asked, "hub.mode": "unsubscribe"}).status_code == 404
    assert client.get(path, {**asked, "hub.challenge": ""}).status_code == 404
    assert client.get("/websub/not-a-token/", asked).status_code == 404
    subscription.refresh_from_db()
    assert subscription.state == State.REQUESTED

    answer = client.get(path, {**asked, "hub.lease_seconds": "600"})
    assert (answer.status_code, answer.content) == (200, b"c-1")
    assert answer["Content-Type"].startswith("text/plain")
    # Confirmed once: a replayed verification is not ours any more.
    assert client.get(path, {**asked, "hub.challenge": "c-2"}).status_code == 404


def test_a_verification_after_the_pending_window_is_refused(outlet, hub, settings, client):
    poll_source(outlet)
    subscription = WebSubSubscription.objects.get(source=outlet)
    WebSubSubscription.objects.filter(pk=subscription.pk).update(
        requested_at=timezone.now() - timedelta(seconds=settings.WEBSUB_PENDING_SECONDS + 1)
    )
    hub.process()

    assert hub.verifications[0][3:] == (404, False)
    assert hub.subscriptions == {}
    # The upkeep gives up on it, and the source goes on being polled.
    websub_upkeep.call()
    subscription.refresh_from_db()
    assert subscription.state == State.FAILED
    assert "never confirmed" in subscription.last_error and subscription.retry_at is not None


def test_a_denied_subscription_falls_back_to_polling(outlet, hub):
    subscription = subscribed(outlet, hub)
    status, _ = hub.deny(subscription.topic, subscription.callback_url, reason="topic not allowed")

    assert status == 200
    subscription.refresh_from_db()
    assert subscription.state == State.FAILED
    assert "denied the subscription: topic not allowed" in subscription.last_error
    assert websub.live_subscription(outlet) is None


# Content distribution -------------------------------------------------------------------------------------


def test_a_signed_push_is_stored_by_the_request_and_ingested_by_the_worker(
    outlet, hub, web_server, django_capture_on_commit_callbacks
):
    subscription = subscribed(outlet, hub)
    assert Item.objects.count() == 1  # the poll's story

    push(
        web_server,
        hub,
        subscription.topic,
        TANK,
        LEVEE,
        capture=django_capture_on_commit_callbacks,
        execute=False,
    )

    [delivery] = hub.deliveries
    assert delivery.status == 202
    assert delivery.headers["X-Hub-Signature"].startswith("sha256=")
    # The request only stored the document: nothing parsed, nothing new in the inbox yet.
    [document] = PushedDocument.objects.all()
    assert bytes(document.body) == atom(TANK, LEVEE, hub=hub.url)
    assert Item.objects.count() == 1

    push(web_server, hub, subscription.topic, TANK, LEVEE, capture=django_capture_on_commit_callbacks)

    levee = Item.objects.get(guid="urn:bayou:levee")
    assert (levee.source, levee.title) == (outlet, LEVEE[1])
    assert levee.enriched_at is not None
    assert PushedDocument.objects.count() == 1  # the first one waits for the upkeep to queue it again
    log = FetchLog.objects.filter(status="pushed").get()
    assert (log.source, log.created, log.url) == (outlet, 1, subscription.topic)
    subscription.refresh_from_db()
    assert (subscription.pushes, subscription.bad_signatures) == (2, 0)


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha384", "sha512"])
def test_every_signature_method_the_spec_allows_is_accepted(
    outlet, hub, web_server, algorithm, django_capture_on_commit_callbacks
):
    hub.algorithm = algorithm
    subscription = subscribed(outlet, hub)
    push(web_server, hub, subscription.topic, LEVEE, capture=django_capture_on_commit_callbacks)

    assert hub.deliveries[0].headers["X-Hub-Signature"].startswith(f"{algorithm}=")
    assert Item.objects.filter(guid="urn:bayou:levee").exists()


def test_a_push_with_a_bad_or_missing_signature_is_ignored_and_counted(
    outlet, hub, client, django_capture_on_commit_callbacks
):
    subscription = subscribed(outlet, hub)
    body = atom(LEVEE)
    path = f"/websub/{subscription.token}/"

    with django_capture_on_commit_callbacks(execute=True):
        hub.distribute(subscription.topic, body=body, content_type=ATOM, secret="not-the-secret")
        unsigned = client.post(path, body, content_type=ATOM)
        wrong_method = client.post(path, body, content_type=ATOM, headers={"X-Hub-Signature": "md5=abc"})

    # Answered 2xx as the spec asks, so a forger learns nothing; nothing stored or ingested.
    assert [hub.deliveries[0].status, unsigned.status_code, wrong_method.status_code] == [202, 202, 202]
    assert not PushedDocument.objects.exists()
    assert not Item.objects.filter(guid="urn:bayou:levee").exists()
    subscription.refresh_from_db()
    assert (subscription.bad_signatures, subscription.pushes) == (3, 0)


def test_an_unknown_callback_is_404_and_an_ended_one_410(outlet, hub, client):
    subscription = subscribed(outlet, hub)
    assert client.post("/websub/no-such-token/", b"<feed/>", content_type=ATOM).status_code == 404

    WebSubSubscription.objects.filter(pk=subscription.pk).update(state=State.ENDED)
    assert client.post(f"/websub/{subscription.token}/", b"<feed/>", content_type=ATOM).status_code == 410


def test_a_push_larger_than_the_cap_is_refused_and_nothing_kept(outlet, hub, settings, client):
    subscription = subscribed(outlet, hub)
    settings.WEBSUB_MAX_BYTES = 1024

    answer = client.post(f"/websub/{subscription.token}/", b"x" * 1025, content_type=ATOM)

    assert answer.status_code == 413
    assert not PushedDocument.objects.exists()


def test_the_callback_is_rate_limited(outlet, hub, settings, client):
    subscription = subscribed(outlet, hub)  # one GET already counted
    settings.WEBSUB_CALLBACK_RATE = 3
    path = f"/websub/{subscription.token}/"

    statuses = [client.post(path, b"<feed/>", content_type=ATOM).status_code for _ in range(3)]
    guesses = [client.get(f"/websub/guess-{n}/").status_code for n in range(4)]

    assert statuses == [202, 202, 429]
    assert guesses == [404, 404, 404, 429]  # guessing tokens is limited by address


def test_a_document_that_is_not_a_feed_is_logged_and_dropped(outlet, hub, django_capture_on_commit_callbacks):
    subscription = subscribed(outlet, hub)
    with django_capture_on_commit_callbacks(execute=True):
        hub.distribute(subscription.topic, body=b"<html><body>oops</body></html>", content_type="text/html")

    log = FetchLog.objects.get(status="push refused")
    assert "not a feed" in log.detail
    assert not PushedDocument.objects.exists()


# Leases, unsubscribing, failures ---------------------------------------------------------------------------


def test_the_lease_is_renewed_before_it_ends(outlet, hub):
    subscription = subscribed(outlet, hub)
    first_lease = subscription.lease_until

    websub.upkeep(now=subscription.renew_at - timedelta(seconds=1))
    assert len(hub.requests) == 1  # not yet

    later = subscription.renew_at + timedelta(seconds=1)
    done, _ = websub.upkeep(now=later)
    assert done["renewed"] == 1
    assert hub.requests[-1]["hub.mode"] == "subscribe"
    assert hub.requests[-1]["hub.secret"] == subscription.secret
    hub.process()
    subscription.refresh_from_db()
    assert subscription.state == State.ACTIVE and subscription.lease_until > first_lease
    assert websub.upkeep(now=subscription.renew_at - timedelta(seconds=1))[0]["renewed"] == 0


def test_pausing_a_source_unsubscribes_and_later_pushes_are_gone(
    outlet, hub, client, django_capture_on_commit_callbacks
):
    subscription = subscribed(outlet, hub)
    outlet.enabled = False
    with django_capture_on_commit_callbacks(execute=True):
        outlet.save()

    assert hub.requests[-1]["hub.mode"] == "unsubscribe"
    assert hub.requests[-1]["hub.callback"] == subscription.callback_url
    hub.process()
    assert hub.verifications[-1][0] == "unsubscribe" and hub.verifications[-1][4] is True
    subscription.refresh_from_db()
    assert subscription.state == State.ENDED
    assert hub.subscriptions == {}
    assert client.post(f"/websub/{subscription.token}/", b"<feed/>", content_type=ATOM).status_code == 410


def test_deleting_a_source_unsubscribes(outlet, hub, django_capture_on_commit_callbacks):
    subscription = subscribed(outlet, hub)
    with django_capture_on_commit_callbacks(execute=True):
        outlet.delete()
    hub.process()

    subscription.refresh_from_db()
    assert (subscription.source, subscription.state) == (None, State.ENDED)
    assert [form["hub.mode"] for form in hub.requests] == ["subscribe", "unsubscribe"]


def test_a_source_disabled_behind_the_models_back_is_unsubscribed_by_the_upkeep(outlet, hub):
    subscription = subscribed(outlet, hub)
    Source.objects.filter(pk=outlet.pk).update(enabled=False)  # as a 410 Gone does

    assert websub.upkeep()[0]["ended"] == 1
    assert hub.requests[-1]["hub.mode"] == "unsubscribe"
    subscription.refresh_from_db()
    assert subscription.state == State.UNSUBSCRIBING


def test_a_failing_hub_falls_back_to_polling_and_is_tried_again(outlet, hub):
    hub.refuse_with = 503
    poll_source(outlet)

    subscription = WebSubSubscription.objects.get(source=outlet)
    assert subscription.state == State.FAILED
    assert "answered HTTP 503" in subscription.last_error
    outlet.refresh_from_db()
    assert "hub" not in outlet.poll_note  # polled adaptively, not as a pushed source
    retry = subscription.retry_at

    hub.refuse_with = None
    assert websub.upkeep(now=retry - timedelta(seconds=1))[0]["retried"] == 0
    assert websub.upkeep(now=retry)[0]["retried"] == 1
    hub.process()
    subscription.refresh_from_db()
    assert subscription.state == State.ACTIVE and subscription.failures == 0


def test_a_feed_that_drops_its_hub_is_unsubscribed(outlet, hub, web_server):
    subscription = subscribed(outlet, hub)
    web_server.routes["/feed.xml"] = Reply(200, {"Content-Type": ATOM}, atom(TANK))
    Source.objects.filter(pk=outlet.pk).update(next_poll_at=None)
    poll_source(outlet)

    subscription.refresh_from_db()
    assert subscription.state == State.UNSUBSCRIBING
    assert hub.requests[-1]["hub.mode"] == "unsubscribe"


def test_a_source_with_a_live_subscription_is_polled_rarely(outlet, hub, settings):
    subscribed(outlet, hub)
    Source.objects.filter(pk=outlet.pk).update(next_poll_at=None)
    now = timezone.now()
    poll_source(outlet, now=now)

    outlet.refresh_from_db()
    assert outlet.next_poll_at == now + timedelta(minutes=settings.WIRE_PUSH_POLL_MINUTES)
    assert outlet.poll_note == "updates pushed by the hub: a safety-net poll"


def test_a_safety_net_poll_that_finds_what_the_hub_missed_polls_adaptively(outlet, hub, web_server):
    subscription = subscribed(outlet, hub)
    feed = atom(TANK, LEVEE, hub=hub.url, self_url=subscription.topic)
    web_server.routes["/feed.xml"] = Reply(200, {"Content-Type": ATOM}, feed)
    Source.objects.filter(pk=outlet.pk).update(next_poll_at=None)
    poll_source(outlet)

    subscription.refresh_from_db()
    assert subscription.missed == 1
    outlet.refresh_from_db()
    assert outlet.poll_note.startswith("publishing")


# The network policy ----------------------------------------------------------------------------------------


def test_a_hub_on_a_loopback_address_is_refused_unless_allowed(hub, source, settings):
    feed = source(url="https://bayoufire.example/feed.xml")
    subscription = WebSubSubscription.objects.create(source=feed, hub=hub.url, topic=feed.url)
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = []

    problem = websub.subscribe(subscription)

    assert "refused: 127.0.0.1 is a loopback address" in problem
    assert hub.requests == []
    subscription.refresh_from_db()
    assert subscription.state == State.FAILED and "loopback" in subscription.last_error

    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert websub.subscribe(subscription) is None
    assert hub.requests[0]["hub.topic"] == feed.url


# Health in the admin ------------------------------------------------------------------------------------


def test_the_sources_page_shows_the_push_state(outlet, hub, admin_client):
    poll_source(outlet)
    url = reverse("sources:inspect", args=[outlet.pk])
    page = admin_client.get(url).content.decode()
    assert f"Subscribing at hub {hub.url}" in page

    hub.process()
    page = admin_client.get(url).content.decode()
    assert f"Push via hub {hub.url}" in page
    assert "lease until" in page


def test_ended_subscriptions_are_pruned_after_the_wires_keep_days(outlet, hub, settings):
    subscription = subscribed(outlet, hub)
    long_ago = timezone.now() - timedelta(days=settings.WIRE_KEEP_DAYS + 1)
    WebSubSubscription.objects.filter(pk=subscription.pk).update(requested_at=long_ago)
    assert prune_wire()["websub"] == 0  # still current

    WebSubSubscription.objects.filter(pk=subscription.pk).update(state=State.ENDED)
    assert prune_wire()["websub"] == 1
    assert not WebSubSubscription.objects.exists()


def test_a_push_a_dead_worker_left_is_queued_again_then_given_up(outlet, hub, caplog):
    subscription = subscribed(outlet, hub)
    long_ago = timezone.now() - timedelta(minutes=5)
    left = websub.store_push(subscription, atom(LEVEE), ATOM, now=long_ago)
    hopeless = websub.store_push(subscription, atom(LEVEE), ATOM, now=long_ago)
    PushedDocument.objects.filter(pk=hopeless.pk).update(attempts=3)
    fresh = websub.store_push(subscription, atom(TANK), ATOM)

    result = websub_upkeep.call()

    assert result["requeued"] == 1
    assert Item.objects.filter(guid="urn:bayou:levee", source=outlet).exists()
    assert list(PushedDocument.objects.all()) == [fresh]  # the worker's own task will take it
    assert not PushedDocument.objects.filter(pk__in=[left.pk, hopeless.pk]).exists()
    assert "failed 3 times and was dropped" in caplog.text
