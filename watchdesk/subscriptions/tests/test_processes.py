"""Subscribing across the real moving parts: the task queue, the sender, an SMTP server, and two web
processes sharing one database.

The request only enqueues the submission; the worker (``run_queue``) decides what it asks for, writes
the ledger rows and wakes the sender, which talks to the mail server. These tests run in real
transactions, so that ``on_commit`` enqueues happen as in production.
"""

import http.client
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from watchdesk.delivery.models import Delivery
from watchdesk.subscriptions.models import ConfirmationToken, Subscriber, Suppression
from watchdesk.testing.mailserver import free_port

transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def confirmation_link(message):
    text = message.get_body(("plain",)).get_content()
    url = re.search(r"https?://\S+/subscribe/confirm/[\w-]+/", text).group()
    assert url in message.get_body(("html",)).get_content()
    return urlsplit(url).path


def queued(task="watchdesk.delivery.tasks.send_deliveries"):
    return DBTaskResult.objects.filter(task_path=task).count()


ANSWER = "watchdesk.subscriptions.tasks.answer_address_form"


@transactional
def test_double_opt_in_through_a_real_mail_server(client, home, run_queue, mail_server):
    response = client.post(
        "/subscribe/", {"email": "Reader@Example.net", "name": "Click http://spam.example"}
    )

    assert response.status_code == 303
    # The request queued the submission; nothing was decided, nothing sent.
    assert mail_server.messages == []
    assert (queued(ANSWER), queued(), Subscriber.objects.count()) == (1, 0, 0)
    run_queue()
    assert len(mail_server.messages) == 1

    [message] = mail_server.to("reader@example.net")
    assert message["Subject"] == "Confirm your subscription to Watchdesk"
    # Not a subscription yet: nothing to unsubscribe from.
    assert message["List-Unsubscribe"] is None
    # Whoever filled in the form chose the name: the message text never repeats it.
    for body in (message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()):
        assert "spam.example" not in body
    # ... nor do its headers: the message is addressed to the bare address.
    assert message["To"] == "reader@example.net"
    assert (
        "everything we publish, as soon as a post is published" in message.get_body(("plain",)).get_content()
    )
    link = confirmation_link(message)

    reader = Subscriber.objects.get()
    assert "Confirm my subscription" in client.get(link).content.decode()
    reader.refresh_from_db()
    assert reader.status == "pending"

    confirmed = client.post(link)
    assert confirmed.status_code == 303
    reader.refresh_from_db()
    assert reader.status == "confirmed"
    assert "You're subscribed" in client.get(confirmed["Location"]).content.decode()

    # The link is single-use.
    assert client.post(link).status_code == 404
    assert client.get(link).status_code == 404


@transactional
def test_a_confirmation_link_lasts_seven_days_and_a_new_one_can_be_asked_for(
    client, home, run_queue, mail_server
):
    client.post("/subscribe/", {"email": "slow@example.net"})
    run_queue()
    old_link = confirmation_link(mail_server.to("slow@example.net")[0])

    week_ago = timezone.now() - timedelta(days=7, minutes=1)
    ConfirmationToken.objects.update(created_at=week_ago)
    Subscriber.objects.update(recent_replies=[[week_ago.isoformat(), "confirm"]])
    assert client.get(old_link).status_code == 404
    assert client.post(old_link).status_code == 404
    assert Subscriber.objects.get().status == "pending"

    client.post("/subscribe/resend/", {"email": "slow@example.net"})
    run_queue()
    new_link = confirmation_link(mail_server.to("slow@example.net")[1])
    assert new_link != old_link
    assert client.post(new_link).status_code == 303
    assert Subscriber.objects.get().status == "confirmed"


@transactional
def test_a_link_just_under_seven_days_old_still_confirms(client, home, run_queue, mail_server):
    client.post("/subscribe/", {"email": "late@example.net"})
    run_queue()
    link = confirmation_link(mail_server.to("late@example.net")[0])
    ConfirmationToken.objects.update(created_at=timezone.now() - timedelta(days=6, hours=23))

    assert client.post(link).status_code == 303
    assert Subscriber.objects.get().status == "confirmed"


@transactional
def test_a_subscriber_asking_again_gets_a_note_and_leaving_gets_a_link(
    client, home, subscriber, run_queue, mail_server
):
    reader = subscriber("cam@example.net", cadence="weekly", paused=True)

    client.post("/subscribe/", {"email": "cam@example.net", "name": "Someone else"})
    client.post("/subscribe/leave/", {"email": "cam@example.net"})
    run_queue()

    note, link = mail_server.to("cam@example.net")
    assert note["Subject"] == "You are already subscribed to Watchdesk"
    assert link["Subject"] == "Your link to unsubscribe from Watchdesk"
    for message in (note, link):
        assert message["List-Unsubscribe"] == f"<{reader.unsubscribe_url()}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        for body in (message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()):
            assert reader.preferences_url() in body
            assert reader.unsubscribe_url() in body
    assert "weekly digest (paused for now" in note.get_body(("plain",)).get_content()

    # The link in the message works, without a cookie, as a mail provider's one-click POST would.
    unsubscribe = urlsplit(reader.unsubscribe_url()).path
    response = client.post(
        unsubscribe, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    reader.refresh_from_db()
    assert (reader.status, reader.name) == ("unsubscribed", "")


@transactional
def test_a_suppressed_address_is_never_written_to(client, home, subscriber, run_queue, mail_server):
    subscriber("bounced@example.net")
    Suppression.add("bounced@example.net", Suppression.Reason.HARD_BOUNCE)
    Suppression.add("never@example.net", Suppression.Reason.COMPLAINT)

    for url in ("/subscribe/", "/subscribe/resend/", "/subscribe/leave/"):
        for email in ("bounced@example.net", "never@example.net"):
            assert client.post(url, {"email": email}).status_code == 303

    run_queue()
    assert mail_server.messages == []
    assert not Delivery.objects.exists()
    assert not Subscriber.objects.filter(email="never@example.net").exists()


@transactional
@pytest.mark.parametrize("state", ["new", "pending", "confirmed"])
def test_two_submissions_seconds_apart_send_one_email(
    client, home, subscriber, run_queue, mail_server, state
):
    if state != "new":
        subscriber("twice@example.net", status=state)

    # Both queued before a worker runs, as when a reader presses the button twice.
    client.post("/subscribe/", {"email": "twice@example.net"})
    client.post("/subscribe/", {"email": "Twice@example.net "})
    run_queue()
    # And once more after the first was sent.
    client.post("/subscribe/", {"email": "twice@example.net"})
    run_queue()

    [message] = mail_server.to("twice@example.net")
    expected = "You are already subscribed" if state == "confirmed" else "Confirm your subscription"
    assert message["Subject"].startswith(expected)
    assert Delivery.objects.filter(subscriber__email="twice@example.net").count() == 1


class SilentServer:
    """Accepts TCP connections and never says a word: an SMTP server that hangs."""

    def __enter__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        return self.socket.getsockname()[1]

    def __exit__(self, *exc):
        self.socket.close()


@transactional
@pytest.mark.parametrize("server", ["nothing listening", "a server that hangs"])
def test_the_answer_never_waits_on_the_mail_server(client, home, run_queue, settings, server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_TIMEOUT = 30
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    with SilentServer() as silent_port:
        settings.EMAIL_PORT = free_port() if server == "nothing listening" else silent_port
        started = time.monotonic()
        response = client.post("/subscribe/", {"email": "patient@example.net"})
        elapsed = time.monotonic() - started

    assert response.status_code == 303
    assert response["Location"] == "/subscribe/sent/"
    assert elapsed < 5
    assert queued(ANSWER) == 1
    if server == "nothing listening":
        # When the worker gets to it, a refused connection is retried later, not lost.
        run_queue()
        delivery = Delivery.objects.get(subscriber__email="patient@example.net")
        assert (delivery.kind, delivery.status) == ("confirm", "pending")
        assert delivery.attempts == 1 and "connect" in delivery.error.lower()


# Two web processes ------------------------------------------------------------------------------------


def environment(var_dir, **extra):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "WATCHDESK_", "SITE_URL", "DEBUG", "SUBSCRIBE_"))
    }
    # Their own SQLite file, whatever database the test run itself uses.
    env.update(
        WATCHDESK_VAR_DIR=str(var_dir),
        SECRET_KEY="two-processes-" + "k" * 40,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def comparable(headers):
    """Headers as a client compares them: no Date, and the policy's directives in a fixed order
    (django-csp writes them in each process's own set order)."""
    seen = []
    for name, value in headers:
        if name.lower() == "content-security-policy":
            value = "; ".join(sorted(value.split("; ")))
        if name.lower() != "date":
            seen.append((name, value))
    return sorted(seen)


class Visitor:
    """One browser talking to one server: its own cookies, no redirects followed."""

    def __init__(self, port):
        self.port = port
        self.cookies = {}

    def request(self, method, path, form=None, **headers):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, value = cookie.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        return response.status, comparable(response.getheaders()), content

    def subscribe(self, email, client_ip):
        _, _, page = self.request("GET", "/subscribe/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        posted = self.request(
            "POST",
            "/subscribe/",
            {"csrfmiddlewaretoken": token, "email": email},
            **{"X-Forwarded-For": client_ip},
        )
        location = dict(posted[1]).get("Location")
        followed = self.request("GET", location, **{"X-Forwarded-For": client_ip}) if location else None
        return posted, followed


def wait_for(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if Visitor(port).request("GET", "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the server on port {port} did not start")


@pytest.mark.slow
def test_rate_limits_hold_across_two_web_processes(tmp_path):
    env = environment(tmp_path, SUBSCRIBE_IP_LIMIT="4", SUBSCRIBE_EMAIL_LIMIT="3", PROXY_COUNT="1")
    for command in (["migrate", "--verbosity", "0"], ["setup_site"]):
        subprocess.run(
            [sys.executable, "-m", "watchdesk.cli", *command], env=env, check=True, capture_output=True
        )
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "watchdesk.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    try:
        for port in ports:
            wait_for(port)
        visitors = [Visitor(port) for port in ports]
        answers = []
        # One address, asked for from six networks, alternately through each process.
        for n in range(6):
            answers.append(visitors[n % 2].subscribe("target@example.net", f"198.51.100.{n + 1}"))
        # One network asking for eight addresses, alternately through each process.
        for n in range(8):
            answers.append(visitors[n % 2].subscribe(f"reader{n}@example.net", "203.0.113.50"))
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            server.communicate(timeout=30)

    posted, followed = answers[0]
    assert posted[0] == 303 and ("Location", "/subscribe/sent/") in posted[1]
    assert followed[0] == 200 and b"Check your inbox" in followed[2]
    for answer in answers:
        assert answer == (posted, followed)

    # Then a worker decides what each queued submission asks for.
    subprocess.run(
        [sys.executable, "-m", "watchdesk.cli", "db_worker", "--batch", "--no-reload", "--no-startup-delay"],
        env=env,
        check=True,
        capture_output=True,
    )
    with sqlite3.connect(tmp_path / "watchdesk.sqlite3") as db:
        target = db.execute(
            "SELECT COUNT(*) FROM delivery_delivery d JOIN subscriptions_subscriber s"
            " ON s.id = d.subscriber_id WHERE s.email = 'target@example.net'"
        ).fetchone()[0]
        readers = db.execute(
            "SELECT email FROM subscriptions_subscriber WHERE email LIKE 'reader%'"
        ).fetchall()
    # Six requests within seconds for one address: one confirmation, not six (nor the daily three).
    assert target == 1
    assert sorted(email for (email,) in readers) == [f"reader{n}@example.net" for n in range(4)]
