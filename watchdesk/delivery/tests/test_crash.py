"""The sender's promises, proved on real processes: a worker killed mid-send loses nobody and repeats at
most the message in flight; a mail server that is down delays mail without losing it; two workers at
once never send one message twice.

Each test runs the real worker (``watchdesk run_worker``) in its own processes, against its own SQLite
file (never pytest-django's test database, whatever DATABASE_URL says), and a real SMTP server
(aiosmtpd) in the test process. The test reads the ledger straight from that file.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing

import pytest

from watchdesk.testing.mailserver import MailServer, free_port

pytestmark = pytest.mark.slow

BATCH = 100
# Run in a subprocess with the test's environment: N confirmed subscribers, then one post published the
# way an editor does it, which writes its Broadcast and queues the fan-out task for the worker.
SETUP = """
import sys
import django

django.setup()
from django.utils import timezone
from watchdesk.posts.models import HomePage, StoryPost
from watchdesk.subscriptions.models import Subscriber

now = timezone.now()
Subscriber.objects.bulk_create(
    [
        Subscriber(email=f"reader{n:05d}@example.net", status="confirmed", confirmed_at=now)
        for n in range(int(sys.argv[1]))
    ],
    batch_size=500,
)
post = StoryPost(
    title="Evacuation order for the river valley",
    slug="evacuation-order",
    summary="Residents below the dam are told to leave by 6 pm.",
    body="<p>The county ordered an evacuation of the valley.</p>",
    source_name="Valley Courier",
    source_url="https://news.example.org/evacuation",
    byline="Dana Ortiz",
    first_published_at=now,
)
HomePage.objects.get().add_child(instance=post)
post.save_revision().publish()
"""
MIGRATE = """
import django

django.setup()
from django.core.management import call_command
from watchdesk.posts.setup import setup_site

call_command("migrate", verbosity=0)
setup_site()
"""


def environment(var, smtp_port, **extra):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DJANGO_", "DATABASE_URL", "WATCHDESK_", "SITE_URL", "DEBUG", "EMAIL_", "TASKS_", "REDIS_URL")
        )
    }
    env.update(
        DJANGO_SETTINGS_MODULE="watchdesk.settings",
        WATCHDESK_VAR_DIR=str(var),
        DATABASE_URL=f"sqlite:///{var / 'db.sqlite3'}",
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}?timeout=5",
        EMAIL_BATCH_SIZE=str(BATCH),
        EMAIL_LEASE_SECONDS="5",
        EMAIL_SWEEP_SECONDS="1",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """A migrated database with the page tree, made once (migrate takes ~8 s) and copied by each test."""
    var = tmp_path_factory.mktemp("ledger-template")
    env = environment(var, 1)
    subprocess.run([sys.executable, "-c", MIGRATE], env=env, check=True, timeout=180)
    return var / "db.sqlite3"


@pytest.fixture
def site(tmp_path, migrated):
    """This test's var folder and database; ``site(readers)`` adds the subscribers and the post."""
    with (
        closing(sqlite3.connect(migrated)) as source,
        closing(sqlite3.connect(tmp_path / "db.sqlite3")) as copy,
    ):
        source.backup(copy)

    def populate(readers):
        env = environment(tmp_path, 1)
        subprocess.run([sys.executable, "-c", SETUP, str(readers)], env=env, check=True, timeout=120)
        return {f"reader{n:05d}@example.net" for n in range(readers)}

    return populate


@pytest.fixture
def workers(tmp_path):
    """Start ``watchdesk run_worker`` processes; whatever is still running at the end is stopped."""
    started = []

    def start(env):
        log = open(tmp_path / f"worker-{len(started) + 1}.log", "wb")  # noqa: SIM115 - closed below
        process = subprocess.Popen(
            [sys.executable, "-m", "watchdesk.cli", "run_worker", "--interval", "0.2", "--tick", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append((process, log))
        return process

    yield start
    for process, log in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        log.close()


def query(tmp_path, sql, *params):
    with closing(sqlite3.connect(tmp_path / "db.sqlite3", timeout=20)) as connection:
        return connection.execute(sql, params).fetchall()


def ledger(tmp_path):
    """Rows of the ledger by status, e.g. {"sent": 120, "pending": 3}."""
    return dict(query(tmp_path, "SELECT status, COUNT(*) FROM delivery_delivery GROUP BY status"))


def addresses(tmp_path, status):
    rows = query(
        tmp_path,
        "SELECT s.email FROM delivery_delivery d JOIN subscriptions_subscriber s ON s.id = d.subscriber_id"
        " WHERE d.status = ?",
        status,
    )
    return {email for (email,) in rows}


def logs(tmp_path):
    return "\n".join(
        path.read_text(errors="replace")[-3000:] for path in sorted(tmp_path.glob("worker-*.log"))
    )


def wait_until(check, what, tmp_path, processes=(), timeout=60):
    deadline = time.monotonic() + timeout
    while not check():
        for process in processes:
            assert process.poll() is None, f"a worker exited ({process.returncode}):\n{logs(tmp_path)}"
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; ledger {ledger(tmp_path)}")
        time.sleep(0.1)


def test_a_worker_killed_mid_send_loses_nobody_and_repeats_at_most_the_message_in_flight(
    tmp_path, site, workers
):
    readers = site(3000)
    with MailServer() as server:
        # 200 messages a second: 3,000 take ~15 s, so the kill lands mid-way.
        env = environment(tmp_path, server.port, EMAIL_RATE_LIMIT="200")
        worker = workers(env)
        wait_until(lambda: len(server.recipients()) > 500, "500 messages", tmp_path, [worker], timeout=60)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        # Until the server has seen the dead worker's connection close, a message whose last bytes were
        # already sent may still arrive; after that nothing more can.
        wait_until(lambda: server.connections == 0, "the killed worker's connection to close", tmp_path)

        received_before = set(server.recipients())
        at_kill = ledger(tmp_path)
        marked_sent = addresses(tmp_path, "sent")
        # Accepted by the server but not yet marked sent: the only messages that may go twice.
        in_flight = received_before - marked_sent
        assert marked_sent <= received_before, "a row was marked sent that the server never accepted"
        assert sum(at_kill.values()) == len(readers)
        assert set(at_kill) <= {"sent", "sending", "pending"}
        assert len(readers) > at_kill["sent"] >= 500
        assert len(in_flight) <= 1 and len(in_flight) <= at_kill.get("sending", 0) <= BATCH

        restarted = workers(env)
        wait_until(
            lambda: ledger(tmp_path) == {"sent": len(readers)},
            "every row sent after the restart",
            tmp_path,
            [restarted],
            timeout=90,
        )
    received = Counter(server.recipients())
    duplicates = {address for address, times in received.items() if times > 1}
    print(
        f"killed with {at_kill.get('sending', 0)} rows leased, {at_kill['sent']} sent and {len(in_flight)} "
        f"accepted but not yet marked sent; {len(duplicates)} message(s) sent twice"
    )
    assert set(received) == readers, "somebody was skipped"
    assert duplicates <= in_flight
    assert max(received.values()) <= 2
    assert ledger(tmp_path) == {"sent": len(readers)}
    if at_kill.get("sending"):
        assert "Handed back" in logs(tmp_path)


def test_a_mail_server_that_is_down_delays_mail_without_losing_it(tmp_path, site, workers):
    readers = site(300)
    port = free_port()  # nothing listens there yet: connections are refused
    worker = workers(environment(tmp_path, port, EMAIL_RETRY_SECONDS="1"))

    def tries():
        return query(tmp_path, "SELECT COALESCE(SUM(attempts), 0) FROM delivery_delivery")[0][0]

    wait_until(lambda: tries() >= 3, "three failed tries", tmp_path, [worker], timeout=60)
    rows = ledger(tmp_path)
    assert sum(rows.values()) == len(readers)
    assert set(rows) <= {"pending", "sending"}, rows
    tried = query(tmp_path, "SELECT attempts, error FROM delivery_delivery WHERE attempts > 0")
    assert tried and all("Cannot connect to the mail server" in error for _, error in tried)

    with MailServer(port=port) as server:
        wait_until(
            lambda: ledger(tmp_path) == {"sent": len(readers)},
            "every row sent once the server is back",
            tmp_path,
            [worker],
            timeout=60,
        )
        received = Counter(server.recipients())
    assert set(received) == readers
    assert set(received.values()) == {1}
    assert query(tmp_path, "SELECT COUNT(*) FROM delivery_delivery WHERE error != ''") == [(0,)]


def test_two_workers_at_once_send_each_message_once(tmp_path, site, workers):
    readers = site(1000)
    with MailServer() as server:
        # 100 a second each in batches of 50: ~5 s of sending with both workers, so they overlap.
        env = environment(tmp_path, server.port, EMAIL_RATE_LIMIT="100", EMAIL_BATCH_SIZE="50")
        both = [workers(env), workers(env)]
        leases_at_once = 0

        def done():
            nonlocal leases_at_once
            owners = query(
                tmp_path, "SELECT COUNT(DISTINCT lease_owner) FROM delivery_delivery WHERE status = 'sending'"
            )[0][0]
            leases_at_once = max(leases_at_once, owners)
            return ledger(tmp_path) == {"sent": len(readers)}

        wait_until(done, "every row sent", tmp_path, both, timeout=60)
        received = Counter(server.recipients())
    assert set(received) == readers
    assert set(received.values()) == {1}, [address for address, times in received.items() if times > 1]
    # One worker holds one lease at a time: two at once means both workers were sending together.
    assert leases_at_once == 2
