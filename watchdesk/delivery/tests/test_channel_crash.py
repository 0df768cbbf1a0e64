"""A worker killed (kill -9) while alerting channels loses none and repeats at most the messages in flight,
proved on real processes as for e-mail (test_crash): the real worker, its own SQLite file, and a local
webhook receiver the network policy is opened for."""

import json
import os
import signal
import subprocess
import sys
from collections import Counter

import pytest

from watchdesk.delivery.tests.test_crash import environment, logs, migrated, query, wait_until, workers  # noqa: F401
from watchdesk.testing.webserver import Reply, WebServer

pytestmark = pytest.mark.slow

CHANNELS = 300
THREADS = 4
SETUP = """
import sys
import django

django.setup()
from django.utils import timezone
from watchdesk.delivery.models import Channel
from watchdesk.posts.models import HomePage, StoryPost

port = int(sys.argv[1])
Channel.objects.bulk_create(
    [
        Channel(name=f"Channel {n:03d}", url=f"json://127.0.0.1:{port}/ch/{n:03d}")
        for n in range(int(sys.argv[2]))
    ]
)
post = StoryPost(
    title="Evacuation order for the river valley",
    slug="evacuation-order",
    summary="Residents below the dam are told to leave by 6 pm.",
    body="<p>The county ordered an evacuation of the valley.</p>",
    source_name="Valley Courier",
    source_url="https://news.example.org/evacuation",
    first_published_at=timezone.now(),
)
HomePage.objects.get().add_child(instance=post)
post.save_revision().publish()
"""


@pytest.fixture
def database(tmp_path, migrated):  # noqa: F811
    import sqlite3
    from contextlib import closing

    with (
        closing(sqlite3.connect(migrated)) as source,
        closing(sqlite3.connect(tmp_path / "db.sqlite3")) as copy,
    ):
        source.backup(copy)
    return tmp_path


def channel_ledger(tmp_path):
    return dict(query(tmp_path, "SELECT status, COUNT(*) FROM delivery_channeldelivery GROUP BY status"))


def channel_paths(tmp_path, status):
    rows = query(
        tmp_path,
        "SELECT c.url FROM delivery_channeldelivery d JOIN delivery_channel c ON c.id = d.channel_id"
        " WHERE d.status = ?",
        status,
    )
    return {url.split(":", 2)[2].split("/", 1)[1] for (url,) in rows}


def test_a_worker_killed_mid_alert_loses_no_channel_and_repeats_at_most_the_messages_in_flight(
    tmp_path,
    database,
    workers,  # noqa: F811
):
    # Each answer takes 80 ms, 4 at a time: 300 channels take ~6 s, so the kill lands mid-way.
    paths = [f"/ch/{n:03d}" for n in range(CHANNELS)]
    with WebServer({path: Reply(200, {}, b"ok", delay=0.08) for path in paths}) as receiver:
        env = environment(
            tmp_path,
            1,
            WATCHDESK_FETCH_ALLOWED_NETWORKS="127.0.0.0/8",
            WATCHDESK_FETCH_ALLOWED_PORTS=str(receiver.port),
            CHANNEL_LEASE_SECONDS="5",
            CHANNEL_CONCURRENCY=str(THREADS),
        )
        subprocess.run([sys.executable, "-c", SETUP, str(receiver.port), str(CHANNELS)], env=env, check=True)
        worker = workers(env)
        wait_until(lambda: len(receiver.requests) > 60, "60 alerts", tmp_path, [worker], timeout=60)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        wait_until(lambda: receiver.active == 0, "the killed worker's request to end", tmp_path)

        received_before = {request.path.lstrip("/") for request in receiver.requests}
        at_kill = channel_ledger(tmp_path)
        marked_sent = channel_paths(tmp_path, "sent")
        in_flight = received_before - marked_sent
        assert marked_sent <= received_before, "a row was marked sent that the receiver never got"
        assert sum(at_kill.values()) == CHANNELS
        assert CHANNELS > at_kill["sent"] >= 60 - THREADS
        assert len(in_flight) <= THREADS  # one message per sending thread

        restarted = workers(env)
        wait_until(
            lambda: channel_ledger(tmp_path) == {"sent": CHANNELS},
            "every channel alerted after the restart",
            tmp_path,
            [restarted],
            timeout=90,
        )
        received = Counter(request.path for request in receiver.requests)
        titles = {json.loads(request.body)["title"] for request in receiver.requests}
    duplicates = {path.lstrip("/") for path, times in received.items() if times > 1}
    print(
        f"killed with {at_kill.get('sent', 0)} sent, {len(in_flight)} in flight; {len(duplicates)} sent twice"
    )
    assert set(received) == set(paths), "a channel was skipped"
    assert duplicates <= in_flight
    assert titles == {"Evacuation order for the river valley"}
    if at_kill.get("sending"):
        assert "Handed back" in logs(tmp_path)
