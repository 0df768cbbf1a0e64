"""Publishing a post e-mails exactly the subscribers who asked for it, through a real SMTP server."""

from datetime import timedelta

import pytest
from django.utils import timezone

from watchdesk.delivery import broadcasts, sender
from watchdesk.delivery.models import Broadcast, Delivery
from watchdesk.delivery.transport import open_transport
from watchdesk.posts.models import StoryPost
from watchdesk.subscriptions.models import Subscriber, Suppression


def fan_out_and_send(post):
    broadcast = Broadcast.objects.get(post=post)
    broadcasts.fan_out_broadcast(broadcast)
    return sender.send_pending()


def recipients(server):
    return sorted(server.recipients())


@pytest.fixture
def audience(subscriber, topics, regions):
    return {
        "all": subscriber("all@example.net"),
        "wildfire": subscriber("wildfire@example.net", topics=[topics["wildfire"]]),
        "california": subscriber("california@example.net", regions=[regions["california"]]),
        "texas": subscriber("texas@example.net", regions=[regions["texas"]]),
        "hazmat": subscriber("hazmat@example.net", topics=[topics["hazmat"]]),
        "pending": subscriber("pending@example.net", status=Subscriber.Status.PENDING),
        "gone": subscriber("gone@example.net", status=Subscriber.Status.UNSUBSCRIBED),
        "paused": subscriber("paused@example.net", paused=True),
        "daily": subscriber("daily@example.net", cadence="daily"),
    }


def test_publishing_writes_one_broadcast_in_the_same_transaction(make_post):
    post = make_post("Levee breach")
    assert Broadcast.objects.filter(post=post).count() == 1
    # Unpublishing and publishing again writes nothing new.
    post.unpublish()
    StoryPost.objects.get(pk=post.pk).save_revision().publish()
    assert Broadcast.objects.filter(post=post).count() == 1


def test_a_post_not_to_be_emailed_writes_no_broadcast(make_post):
    post = make_post("Quiet correction", notify_subscribers=False)
    assert not Broadcast.objects.filter(post=post).exists()


def test_a_draft_writes_no_broadcast(make_post):
    post = make_post("Draft only", live=False)
    assert not Broadcast.objects.filter(post=post).exists()


def test_each_post_reaches_exactly_the_subscribers_in_its_scope(
    make_post, topics, regions, audience, mail_server
):
    post = make_post(
        "Brush fire near Los Angeles", topics=[topics["wildfire"]], regions=[regions["los_angeles"]]
    )
    outcome = fan_out_and_send(post)
    assert outcome == {"sent": 3}
    assert recipients(mail_server) == ["all@example.net", "california@example.net", "wildfire@example.net"]
    assert Broadcast.objects.get(post=post).recipients == 3
    assert Delivery.objects.filter(broadcast__post=post).report()["sent"] == 3


def test_a_sent_row_records_when_it_went_and_which_message_it_was(make_post, audience, mail_server):
    post = make_post("Levee breach")
    before = timezone.now()
    fan_out_and_send(post)
    row = Delivery.objects.get(broadcast__post=post, subscriber=audience["all"])
    assert (row.status, row.attempts, row.error) == (Delivery.Status.SENT, 1, "")
    assert before <= row.sent_at <= timezone.now()
    assert row.message_id == mail_server.to("all@example.net")[0]["Message-ID"]
    assert (row.lease_owner, row.leased_until) == ("", None)


def test_the_message_carries_the_post_and_one_click_unsubscribe(make_post, audience, mail_server, settings):
    post = make_post("Chemical spill closes I-10", byline="Dana Ortiz and Lee Park")
    fan_out_and_send(post)
    message = mail_server.to("all@example.net")[0]
    subscriber = audience["all"]
    assert message["Subject"] == "Chemical spill closes I-10"
    assert message["List-Unsubscribe"] == f"<{subscriber.unsubscribe_url()}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"].endswith(f"@{settings.SITE_HOST}>")
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (text, html):
        assert "Chemical spill closes I-10" in body
        assert "By Dana Ortiz and Lee Park" in body
        assert post.source_url in body
        assert post.summary in body
        assert subscriber.unsubscribe_url() in body
        assert subscriber.preferences_url() in body
    # Each reader's links are their own.
    other = mail_server.to("wildfire@example.net")
    assert other == []  # no topic on this post: only "everything" subscribers get it


def test_fan_out_twice_sends_once(make_post, audience, mail_server):
    post = make_post("Flood warning")
    fan_out_and_send(post)
    first = len(mail_server.messages)
    broadcast = Broadcast.objects.get(post=post)
    Broadcast.objects.filter(pk=broadcast.pk).update(fanned_out_at=None)
    broadcasts.fan_out_broadcast(Broadcast.objects.get(pk=broadcast.pk))
    sender.send_pending()
    assert len(mail_server.messages) == first == 1


def test_eligibility_is_checked_again_just_before_sending(make_post, topics, audience, mail_server):
    post = make_post("Wildfire update", topics=[topics["wildfire"]])
    broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post))
    audience["all"].unsubscribe()
    Suppression.add("wildfire@example.net", Suppression.Reason.MANUAL)
    assert sender.send_pending() == {"skipped": 2}
    assert mail_server.messages == []


def test_a_lost_connection_is_retried_and_everything_arrives(make_post, audience, mail_server, settings):
    post = make_post("Tornado watch")
    settings.EMAIL_RETRY_SECONDS = 1
    mail_server.stop()
    broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post))
    outcome = sender.send_pending()
    assert outcome["retry"] == 1 and "sent" not in outcome
    row = Delivery.objects.get(broadcast__post=post)
    assert row.status == Delivery.Status.PENDING and row.attempts == 1
    assert "Cannot connect" in row.error
    mail_server.start()
    assert sender.send_pending() == {}  # not due yet: backoff
    Delivery.objects.update(next_attempt_at=timezone.now())
    assert sender.send_pending() == {"sent": 1}
    assert recipients(mail_server) == ["all@example.net"]


def test_a_message_that_keeps_failing_is_parked_without_blocking_the_rest(
    make_post, audience, subscriber, mail_server, settings
):
    settings.EMAIL_MAX_ATTEMPTS = 2
    subscriber("busy@example.net")
    mail_server.reject["busy@example.net"] = "452 4.2.2 Mailbox full"
    post = make_post("Evacuation order")
    broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post))
    assert sender.send_pending() == {"sent": 1, "retry": 1}
    Delivery.objects.update(next_attempt_at=timezone.now())
    assert sender.send_pending() == {"retry": 1}
    row = Delivery.objects.get(subscriber__email="busy@example.net")
    assert row.status == Delivery.Status.FAILED and row.attempts == 2
    assert "452" in row.error
    assert not Suppression.objects.exists()


def test_a_permanent_refusal_bounces_and_suppresses(make_post, audience, subscriber, mail_server):
    subscriber("nobody@example.net")
    mail_server.reject["nobody@example.net"] = "550 5.1.1 No such user"
    post = make_post("Hazmat team called")
    broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post))
    assert sender.send_pending() == {"sent": 1, "bounced": 1}
    row = Delivery.objects.get(subscriber__email="nobody@example.net")
    assert row.status == Delivery.Status.BOUNCED and "550" in row.error
    assert Suppression.objects.get().email == "nobody@example.net"
    # The next post does not even try.
    post = make_post("Second story")
    broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post))
    assert sender.send_pending() == {"sent": 1}


def test_expired_leases_are_handed_back_by_the_sweep(make_post, audience, mail_server, settings):
    post = make_post("Bridge collapse")
    broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post))
    leased = sender.claim()  # a worker that then dies
    assert len(leased) == 1
    assert sender.send_pending() == {}  # nothing for anyone else while the lease holds
    assert sender.sweep() == 0
    later = timezone.now() + timedelta(seconds=settings.EMAIL_LEASE_SECONDS + 1)
    assert sender.sweep(now=later) == 1
    assert sender.send_pending() == {"sent": 1}


def test_the_sweep_fans_out_a_broadcast_that_never_was(make_post, audience, mail_server):
    post = make_post("Missed fan-out")
    Broadcast.objects.filter(post=post).update(created_at=timezone.now() - timedelta(minutes=5))
    sender.sweep()
    assert sender.send_pending() == {"sent": 1}


def test_one_connection_per_batch(make_post, subscriber, mail_server, settings, monkeypatch):
    for n in range(7):
        subscriber(f"many{n}@example.net")
    settings.EMAIL_BATCH_SIZE = 3
    post = make_post("Many readers")
    broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post))
    opened = []
    transport = open_transport()
    original = transport._connect

    def counting_connect():
        opened.append(1)
        original()

    monkeypatch.setattr(transport, "_connect", counting_connect)
    monkeypatch.setattr(sender, "open_transport", lambda: transport)
    assert sender.send_pending() == {"sent": 7}
    assert len(opened) == 1
    assert len(mail_server.messages) == 7


def test_the_rate_cap_spaces_messages(monkeypatch):
    clock = [100.0]
    slept = []
    monkeypatch.setattr(sender.time, "monotonic", lambda: clock[0])

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(sender.time, "sleep", sleep)
    pacer = sender.Pacer(rate=4)
    for _ in range(5):
        pacer.wait()
    assert slept == [0.25, 0.25, 0.25, 0.25]


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-command-at-a-time"])
def test_both_smtp_dialogues_deliver_and_classify_refusals_alike(
    make_post, subscriber, settings, monkeypatch, pipelining
):
    from watchdesk.delivery import transport as transport_module
    from watchdesk.testing.mailserver import MailServer

    pipelined = []
    original = transport_module.pipelined_sendmail

    def counting(*args):
        pipelined.append(args[2])
        return original(*args)

    monkeypatch.setattr(transport_module, "pipelined_sendmail", counting)

    with MailServer(pipelining=pipelining) as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        subscriber("ok@example.net")
        subscriber("full@example.net")
        subscriber("gone@example.net")
        subscriber("after@example.net")
        server.reject["full@example.net"] = "452 4.2.2 Mailbox full"
        server.reject["gone@example.net"] = "550 5.1.1 No such user"
        # A line starting with a dot must survive dot-stuffing.
        post = make_post("Dots", summary=".leading dot\n.")
        broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post))
        assert sender.send_pending() == {"sent": 2, "retry": 1, "bounced": 1}
        assert sorted(server.recipients()) == ["after@example.net", "ok@example.net"]
        text = server.to("ok@example.net")[0].get_body(("plain",)).get_content()
        assert "\n.leading dot\n" in text
        assert Suppression.objects.get().email == "gone@example.net"
        assert len(pipelined) == (4 if pipelining else 0)


def test_a_message_that_kills_its_worker_every_time_is_parked(make_post, audience, settings):
    settings.EMAIL_MAX_ATTEMPTS = 3
    post = make_post("Poison message")
    broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post))
    later = timedelta(seconds=settings.EMAIL_LEASE_SECONDS + 1)
    for _ in range(3):
        assert len(sender.claim()) == 1  # the worker dies holding it
        sender.sweep(now=timezone.now() + later)
    row = Delivery.objects.get(broadcast__post=post)
    assert row.status == Delivery.Status.FAILED and row.attempts == 3
    assert "worker stopped" in row.error


def test_a_slow_batch_keeps_its_lease(make_post, subscriber, mail_server, settings, monkeypatch):
    for n in range(3):
        subscriber(f"slow{n}@example.net")
    settings.EMAIL_LEASE_SECONDS = 30
    post = make_post("Slow server")
    broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post))
    rows = sender.claim()
    start, clock = timezone.now(), [1000.0]

    def now():
        return start + timedelta(seconds=clock[0] - 1000)

    class SlowTransport:
        def send(self, outgoing):
            clock[0] += 20  # each message takes 20 s: the batch outlives one 30 s lease
            # Meanwhile another worker sweeps: it must find nothing to take.
            assert sender.sweep(now=now()) == 0

    monkeypatch.setattr(sender.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(sender.timezone, "now", now)
    assert sender.send_batch(rows, SlowTransport()) == {"sent": 3}
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 3
