"""Publishing alerts each matching channel once, through the ledger: leases, retries with backoff, parking,
the network policy checked again at send time, signed webhooks, daily digests and editor alerts."""

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.utils import timezone

from watchdesk.delivery import broadcasts, channel_sender, channels, tasks
from watchdesk.delivery.models import Broadcast, Channel, ChannelDelivery
from watchdesk.testing.webserver import Reply, WebServer
from watchdesk.wire.signals import story_alert

pytestmark = pytest.mark.django_db


def publish(make_post, capture, *args, **kwargs):
    with capture(execute=True):
        return make_post(*args, **kwargs)


def bodies(server, path="/hook"):
    return [json.loads(request.body) for request in server.hits(path)]


def test_scope_is_the_subscribers_rule_topics_and_places_combine_with_and(
    make_channel, make_post, topics, regions
):
    made = {
        "everything": make_channel("Everything"),
        "wildfire": make_channel("Wildfire", topics=[topics["wildfire"]]),
        "california": make_channel("California", regions=[regions["california"]]),
        "wildfire in california": make_channel(
            "Wildfire CA", topics=[topics["wildfire"]], regions=[regions["california"]]
        ),
        "hazmat in california": make_channel(
            "Hazmat CA", topics=[topics["hazmat"]], regions=[regions["california"]]
        ),
        "wildfire in texas": make_channel(
            "Wildfire TX", topics=[topics["wildfire"]], regions=[regions["texas"]]
        ),
        "nothing chosen": make_channel("Nothing", everything=False),
    }
    post = make_post("Brush fire", topics=[topics["wildfire"]], regions=[regions["los_angeles"]], live=False)
    matched = set(Channel.objects.interested_in(post).values_list("name", flat=True))
    assert matched == {"Everything", "Wildfire", "California", "Wildfire CA"}
    assert made["hazmat in california"].name not in matched


def test_publishing_alerts_each_matching_channel_once_with_the_posts_facts(
    receiver, make_channel, make_post, topics, regions, django_capture_on_commit_callbacks
):
    make_channel("County ops", f"json://127.0.0.1:{receiver.port}/hook", regions=[regions["california"]])
    make_channel("Texas desk", f"json://127.0.0.1:{receiver.port}/other", regions=[regions["texas"]])
    make_channel("Paused", f"json://127.0.0.1:{receiver.port}/other", paused=True)
    post = publish(
        make_post,
        django_capture_on_commit_callbacks,
        "Brush fire closes the 210",
        topics=[topics["wildfire"]],
        regions=[regions["los_angeles"]],
        summary="Crews are holding the line at Sunland. Evacuation warnings remain in place.",
    )
    (sent,) = bodies(receiver)
    assert sent["title"] == "Brush fire closes the 210"
    # A generic JSON webhook shows text as it is: no Markdown asterisks.
    assert sent["message"] == (
        "Outlet: Valley Courier\nPlaces: Los Angeles\nTopics: Wildfire\n\n"
        f"Crews are holding the line at Sunland.\n\nRead the post: {post.get_full_url()}"
    )
    assert receiver.hits("/other") == []
    row = ChannelDelivery.objects.get()
    assert (row.status, row.attempts, row.key) == ("sent", 1, f"post:{Broadcast.objects.get(post=post).pk}")

    # The fan-out again (a retried task, the sweep): nothing new is written or sent.
    broadcast = Broadcast.objects.get(post=post)
    Broadcast.objects.filter(pk=broadcast.pk).update(fanned_out_at=None)
    broadcasts.fan_out_broadcast(Broadcast.objects.get(pk=broadcast.pk))
    assert channel_sender.send_pending() == {}
    assert ChannelDelivery.objects.count() == 1 and len(receiver.hits("/hook")) == 1


def test_an_update_goes_to_the_channels_its_post_went_to_and_says_so(
    receiver, make_channel, make_post, topics, regions, django_capture_on_commit_callbacks
):
    make_channel("County ops", f"json://127.0.0.1:{receiver.port}/hook", regions=[regions["california"]])
    make_channel("Texas desk", f"json://127.0.0.1:{receiver.port}/other", regions=[regions["texas"]])
    post = publish(
        make_post,
        django_capture_on_commit_callbacks,
        "Brush fire closes the 210",
        topics=[topics["wildfire"]],
        regions=[regions["los_angeles"]],
    )
    quiet = publish(
        make_post,
        django_capture_on_commit_callbacks,
        "Quiet note",
        regions=[regions["los_angeles"]],
        notify_subscribers=False,
    )
    # As the "Send an update" view does: the update's broadcast, fanned out after the commit.
    with django_capture_on_commit_callbacks(execute=True):
        update, _ = broadcasts.record_update(post, "Evacuation order lifted")
        silent, _ = broadcasts.record_update(quiet, "Road reopened")
        for broadcast in (update, silent):
            transaction.on_commit(lambda pk=broadcast.pk: tasks.fan_out.enqueue(pk))
    first, second = bodies(receiver)
    assert first["title"] == "Brush fire closes the 210"
    assert second["title"] == "Update: Brush fire closes the 210"
    assert second["message"].startswith("Update: Evacuation order lifted\n")
    assert receiver.hits("/other") == []
    # The post that was never sent to anyone: its update is not either.
    assert ChannelDelivery.objects.filter(broadcast__post=quiet).count() == 0
    assert ChannelDelivery.objects.get(broadcast=update).key == f"post:{update.pk}"


def test_a_markdown_service_gets_markdown(make_post, make_channel, regions, topics):
    post = make_post("Hazmat spill", topics=[topics["hazmat"]], regions=[regions["houston"]])
    message = channels.broadcast_message(Broadcast.objects.get(post=post))
    assert message.body.startswith("**Outlet:** Valley Courier\n**Places:** Houston\n**Topics:** Hazmat")
    assert message.body.endswith(f"[Read the post]({post.get_full_url()})")


def test_a_failing_service_is_retried_with_backoff_then_parked_with_a_masked_error(
    receiver, settings, make_channel, make_post, django_capture_on_commit_callbacks
):
    settings.CHANNEL_MAX_ATTEMPTS = 3
    settings.CHANNEL_RETRY_SECONDS = 30
    receiver.routes["/hooks/S3cretPath"] = Reply(503, {}, b"busy")
    make_channel("Flaky", f"json://ops:hunter22@127.0.0.1:{receiver.port}/hooks/S3cretPath")
    publish(make_post, django_capture_on_commit_callbacks, "Levee breach")
    row = ChannelDelivery.objects.get()
    assert (row.status, row.attempts) == ("pending", 1)
    assert timedelta(seconds=25) < row.next_attempt_at - timezone.now() <= timedelta(seconds=30)
    assert "503" in row.error

    assert channel_sender.send_pending() == {}  # not due yet
    ChannelDelivery.objects.update(next_attempt_at=timezone.now())
    assert channel_sender.send_pending() == {"retry": 1}
    row.refresh_from_db()
    assert row.attempts == 2
    assert timedelta(seconds=55) < row.next_attempt_at - timezone.now() <= timedelta(seconds=60)  # doubled

    ChannelDelivery.objects.update(next_attempt_at=timezone.now())
    assert channel_sender.send_pending() == {"failed": 1}
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 3)
    assert len(receiver.hits("/hooks/S3cretPath")) == 3
    assert "S3cretPath" not in row.error and "hunter22" not in row.error


def test_a_receiver_that_comes_back_gets_the_message_once(
    receiver, make_channel, make_post, django_capture_on_commit_callbacks
):
    receiver.routes["/hook"] = Reply(500)
    make_channel("Ops", f"json://127.0.0.1:{receiver.port}/hook")
    publish(make_post, django_capture_on_commit_callbacks, "Water main break")
    receiver.routes["/hook"] = Reply(200, {}, b"ok")
    ChannelDelivery.objects.update(next_attempt_at=timezone.now())
    assert channel_sender.send_pending() == {"sent": 1}
    assert channel_sender.send_pending() == {}
    assert len(receiver.hits("/hook")) == 2
    row = ChannelDelivery.objects.get()
    assert (row.status, row.error) == ("sent", "")


def test_a_lease_held_by_a_dead_worker_is_handed_back_and_sent_once(receiver, make_channel, make_post):
    make_channel("Ops", f"json://127.0.0.1:{receiver.port}/hook")
    make_post("Bridge closed")  # no on-commit: the fan-out task never ran
    broadcasts.fan_out_broadcast(Broadcast.objects.get())
    (leased,) = channel_sender.claim()
    assert channel_sender.claim() == []  # a second worker gets nothing while the lease holds
    later = timezone.now() + timedelta(seconds=121)
    assert channel_sender.sweep(now=later) == 1
    leased.refresh_from_db()
    assert (leased.status, leased.attempts, leased.lease_owner) == ("pending", 1, "")
    assert channel_sender.send_pending() == {"sent": 1}
    assert len(receiver.hits("/hook")) == 1


def test_the_sweep_fans_out_a_broadcast_whose_task_was_lost(receiver, make_channel, make_post):
    make_channel("Ops", f"json://127.0.0.1:{receiver.port}/hook")
    make_post("Tornado warning")
    Broadcast.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    from watchdesk.delivery.tasks import sweep_and_send

    sweep_and_send.call()
    assert len(receiver.hits("/hook")) == 1


def test_the_policy_is_checked_again_when_sending_and_a_refused_target_is_never_contacted(
    receiver, settings, make_channel, make_post, django_capture_on_commit_callbacks
):
    make_channel("Ops", f"json://127.0.0.1:{receiver.port}/hook")
    make_channel("Agency", f"watchdesk+http://127.0.0.1:{receiver.port}/agency")
    # Saved while the operator allowed the range; the operator has since closed it.
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = []
    publish(make_post, django_capture_on_commit_callbacks, "Chemical plant fire")
    assert receiver.requests == []
    rows = ChannelDelivery.objects.order_by("channel__name")
    assert [(row.status, row.attempts) for row in rows] == [("failed", 1), ("failed", 1)]
    assert all(row.error == "Refused: refused: 127.0.0.1 is a loopback address" for row in rows)


def test_a_name_that_resolves_to_a_refused_address_is_refused_at_the_connection(
    receiver, settings, make_channel, make_post, monkeypatch
):
    """DNS changed after the check: the connection itself is refused, nothing reaches the listener."""
    channel = make_channel("Ops", f"json://127.0.0.1:{receiver.port}/hook")
    monkeypatch.setattr(channel_sender, "_check", lambda channel: None)
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = []
    row = channel_sender.send_test(channel)
    assert receiver.requests == []
    assert (row.status, row.error) == (
        "failed",
        "Refused: 127.0.0.1: refused: 127.0.0.1 is a loopback address",
    )


def test_a_signed_webhook_can_be_verified_and_carries_a_stable_idempotency_key(
    receiver, make_channel, make_post, topics, regions, django_capture_on_commit_callbacks
):
    channel = make_channel("EOC dashboard", f"watchdesk+http://127.0.0.1:{receiver.port}/agency")
    post = publish(
        make_post,
        django_capture_on_commit_callbacks,
        "Shelter opens at the fairgrounds",
        topics=[topics["flooding"]],
        regions=[regions["houston"]],
    )
    (request,) = receiver.hits("/agency")
    assert verify_like_the_docs(channel.secret, request.headers["x-watchdesk-signature"], request.body)
    assert not verify_like_the_docs(
        channel.secret, request.headers["x-watchdesk-signature"], request.body + b" "
    )
    assert not verify_like_the_docs("another secret", request.headers["x-watchdesk-signature"], request.body)
    payload = json.loads(request.body)
    assert request.headers["idempotency-key"] == payload["idempotency_key"] == payload["id"]
    assert payload["schema"] == "watchdesk.alert/1"
    assert payload["kind"] == "post"
    assert payload["post"] == {
        "title": "Shelter opens at the fairgrounds",
        "url": post.get_full_url(),
        "summary": "Summary of Shelter opens at the fairgrounds.",
        "outlet": "Valley Courier",
        "source_url": post.source_url,
        "topics": [{"slug": "flooding", "name": "Flooding"}],
        "places": [{"code": "city:4699066", "name": "Houston"}],
        "published_at": post.first_published_at.isoformat(),
    }
    # A retry of the same message carries the same key; another channel gets its own.
    row = ChannelDelivery.objects.get()
    assert channels.idempotency_key(channel.pk, row.key) == payload["idempotency_key"]
    assert channels.idempotency_key(channel.pk + 1, row.key) != payload["idempotency_key"]


def verify_like_the_docs(secret, header, body, tolerance=300):
    """The receiver's check as docs/agencies.md prints it."""
    import hashlib
    import hmac
    import time

    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def test_the_signature_covers_the_timestamp():
    body = b'{"schema":"watchdesk.alert/1"}'
    header = channel_sender.signature("s3cret", 1_700_000_000, body)
    assert channel_sender.verify("s3cret", header, body, now=1_700_000_100)
    assert not channel_sender.verify(
        "s3cret", header.replace("t=1700000000", "t=1700000001"), body, now=1_700_000_100
    )
    assert not channel_sender.verify("s3cret", header, body, now=1_700_001_000)  # too old: a replay


def test_a_daily_channel_gets_one_message_a_day_listing_its_posts(
    receiver, settings, make_channel, make_post, regions
):
    settings.TIME_ZONE = "America/Chicago"
    settings.CHANNEL_DIGEST_HOUR = 7
    channel = make_channel(
        "Morning brief",
        f"json://127.0.0.1:{receiver.port}/hook",
        cadence="daily",
        regions=[regions["texas"]],
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    # 7:00 in Chicago on 3 December is 13:00 UTC.
    make_post("Refinery flare", regions=[regions["houston"]], published=datetime(2026, 12, 2, 20, tzinfo=UTC))
    make_post("Tanker crash", regions=[regions["houston"]], published=datetime(2026, 12, 3, 9, tzinfo=UTC))
    make_post("Mali flooding", regions=[regions["mali"]], published=datetime(2026, 12, 3, 10, tzinfo=UTC))
    make_post("Too late today", regions=[regions["houston"]], published=datetime(2026, 12, 3, 14, tzinfo=UTC))
    assert ChannelDelivery.objects.count() == 0  # no instant messages for a daily channel

    at = datetime(2026, 12, 3, 13, 5, tzinfo=UTC)
    assert channels.plan_channel_digests(at) == 1
    assert channels.plan_channel_digests(at + timedelta(hours=3)) == 0
    assert channel_sender.send_pending() == {"sent": 1}
    (sent,) = bodies(receiver)
    assert sent["title"] == "2 new posts on Thursday 3 December"
    assert "Refinery flare" in sent["message"] and "Tanker crash" in sent["message"]
    assert "Mali" not in sent["message"] and "Too late" not in sent["message"]
    assert ChannelDelivery.objects.get().key == "digest:2026-12-03"

    # The next day lists only what came after.
    assert channels.plan_channel_digests(at + timedelta(days=1)) == 1
    channel_sender.send_pending()
    assert "Too late today" in bodies(receiver)[1]["message"]
    assert "Tanker" not in bodies(receiver)[1]["message"]
    channel.refresh_from_db()
    assert channel.last_digest_at == at + timedelta(days=1) - timedelta(minutes=5)


def stand_in_alert(pk=41, reason="breaking"):
    cluster = SimpleNamespace(title="Gunfire reported at the mall", score=87.4)
    return SimpleNamespace(
        pk=pk, id=pk, cluster=cluster, reason=reason, outlets=6, url="http://desk.example/i/9"
    )


def test_an_editor_alert_goes_to_each_editors_channel_once(
    receiver, make_channel, django_capture_on_commit_callbacks
):
    make_channel("Desk", f"json://127.0.0.1:{receiver.port}/hook", purpose="editors")
    make_channel("Desk pager", f"json://127.0.0.1:{receiver.port}/hook", purpose="editors", paused=True)
    make_channel("Readers", f"json://127.0.0.1:{receiver.port}/other")
    alert = stand_in_alert()
    with django_capture_on_commit_callbacks(execute=True):
        story_alert.send(sender=None, alert=alert)
    with django_capture_on_commit_callbacks(execute=True):
        story_alert.send(sender=None, alert=alert)  # the same alert again adds nothing
    (sent,) = bodies(receiver)
    assert sent["title"] == "Breaking: Gunfire reported at the mall"
    assert sent["message"] == "Reported by 6 outlets · score 87\n\nOpen in the inbox: http://desk.example/i/9"
    assert receiver.hits("/other") == []
    assert ChannelDelivery.objects.get().key == "alert:41"

    with django_capture_on_commit_callbacks(execute=True):
        story_alert.send(sender=None, alert=stand_in_alert(42, reason="score"))
    assert bodies(receiver)[1]["title"] == "Over the threshold: Gunfire reported at the mall"


def test_an_editor_alert_to_a_signed_webhook_has_the_story(receiver, make_channel):
    channel = make_channel(
        "Desk hook", f"watchdesk+http://127.0.0.1:{receiver.port}/agency", purpose="editors"
    )
    channels.record_story_alert(stand_in_alert())
    channel_sender.send_pending()
    (request,) = receiver.hits("/agency")
    payload = json.loads(request.body)
    assert payload["kind"] == "story_alert"
    assert payload["story"] == {
        "title": "Gunfire reported at the mall",
        "reason": "breaking",
        "outlets": 6,
        "score": 87.4,
        "url": "http://desk.example/i/9",
    }
    assert channel_sender.verify(channel.secret, request.headers["x-watchdesk-signature"], request.body)


def test_a_channel_paused_after_the_fan_out_is_skipped(receiver, make_channel, make_post):
    channel = make_channel("Ops", f"json://127.0.0.1:{receiver.port}/hook")
    make_post("Gas leak")
    broadcasts.fan_out_broadcast(Broadcast.objects.get())
    Channel.objects.filter(pk=channel.pk).update(paused=True)
    assert channel_sender.send_pending() == {"skipped": 1}
    assert receiver.requests == []


def test_sending_a_batch_of_channels_costs_a_fixed_number_of_queries(
    receiver, make_channel, make_post, django_assert_num_queries
):
    for n in range(5):
        make_channel(f"Ops {n}", f"json://127.0.0.1:{receiver.port}/hook")
    post = make_post("Boil-water notice")
    broadcasts.fan_out_broadcast(Broadcast.objects.get())
    post.get_full_url()  # Wagtail caches the site's root paths: warm, as on a running worker
    # 3 to claim; 4 to re-check the post and the channels' scope; 2 for the message (places, topics),
    # built once; 1 per message marked sent; 1 to find nothing more to claim.
    with django_assert_num_queries(3 + 4 + 2 + 5 + 1):
        assert channel_sender.send_pending() == {"sent": 5}


def test_a_batch_goes_out_side_by_side_and_every_row_is_marked(settings, make_channel, make_post):
    """Each service is waited on in its own thread, at most CHANNEL_CONCURRENCY at once."""
    settings.CHANNEL_CONCURRENCY = 3
    with WebServer({"/slow": Reply(200, {}, b"ok", delay=0.2)}) as slow:
        settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        settings.WATCHDESK_FETCH_ALLOWED_PORTS = [slow.port]
        for n in range(7):
            make_channel(f"Ops {n}", f"watchdesk+{slow.url('/slow')}")
        make_post("Boil-water notice")
        broadcasts.fan_out_broadcast(Broadcast.objects.get())
        assert channel_sender.send_pending() == {"sent": 7}
    assert len(slow.requests) == 7
    assert slow.most_active == 3
    assert set(ChannelDelivery.objects.values_list("status", "lease_owner", "attempts")) == {("sent", "", 1)}


def test_an_unexpected_error_in_one_send_is_retried_and_the_rest_of_the_batch_goes(
    receiver, make_channel, make_post, monkeypatch
):
    broken = make_channel("Broken", f"json://127.0.0.1:{receiver.port}/other")
    for n in range(3):
        make_channel(f"Ops {n}", f"json://127.0.0.1:{receiver.port}/hook")
    real = channel_sender.send_apprise

    def send_apprise(channel, message):
        if channel.pk == broken.pk:
            raise ValueError(f"a library tripped over {channel.url}")
        return real(channel, message)

    monkeypatch.setattr(channel_sender, "send_apprise", send_apprise)
    make_post("Boil-water notice")
    broadcasts.fan_out_broadcast(Broadcast.objects.get())
    assert channel_sender.send_pending() == {"sent": 3, "retry": 1}
    row = ChannelDelivery.objects.get(channel=broken)
    assert (row.status, row.attempts, row.lease_owner) == ("pending", 1, "")
    assert row.error.startswith("ValueError: a library tripped over json://127.0.0.1:")
    assert "/other" not in row.error  # the channel's secret path is masked
    assert len(receiver.hits("/hook")) == 3 and receiver.hits("/other") == []


def test_channels_are_alerted_before_the_email_ledger_is_written(
    receiver, make_channel, make_post, monkeypatch, django_capture_on_commit_callbacks
):
    """With a hundred thousand readers, writing their rows takes seconds: the channels do not wait."""
    make_channel("Ops", f"json://127.0.0.1:{receiver.port}/hook")
    alerted_when_writing = []
    write = broadcasts._insert

    def insert(*args, **kwargs):
        alerted_when_writing.append(len(receiver.requests))
        return write(*args, **kwargs)

    monkeypatch.setattr(broadcasts, "_insert", insert)
    publish(make_post, django_capture_on_commit_callbacks, "Gas leak")
    assert alerted_when_writing == [1]
    assert ChannelDelivery.objects.get().status == "sent"
