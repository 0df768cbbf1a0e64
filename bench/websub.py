"""Watchdesk "hear it first" benchmark: from an outlet publishing a story to the story in the inbox, for a
source whose hub pushes (WebSub) and for one polled adaptively at its shortest wait.

Run ``.venv/bin/python bench/websub.py [--publishes 10]`` (or ``make bench-websub``). The method is in
bench/README.md; the last results in bench/RESULTS.md (its websub section is rewritten).

1. A fresh SQLite database under bench/out/websub/ (production settings), two sources on a local
   outlet (``watchdesk.testing.webserver``): "push", whose feed names a local hub
   (``watchdesk.testing.websubhub``, verifying intent and signing what it distributes), and "poll",
   which names none and whose last hour holds 60 stories, so that adaptive polling picks its shortest
   wait (WIRE_POLL_MIN_MINUTES=1, the least the settings allow).
2. ``watchdesk serve`` (gunicorn, 2 workers) answers the hub's callbacks; one ``watchdesk worker`` polls,
   subscribes and ingests, with its scheduler ticking every second and WIRE_POLL_SECONDS=5 (its minimum).
3. Each round, the two kinds take turns in the same minute: after a random pause the poll outlet publishes
   a story; after another the push outlet publishes one and pings its hub, as a publisher does. A story
   counts as arrived when its Item row is enriched (the inbox shows it), seen by reading the database
   every 20 ms. Latency is arrival minus the moment the story went into the feed.
4. Median and 95th percentile per kind over the rounds. Target: pushed stories within seconds, median
   at most 5 s (PASS/FAIL below is computed from the run).
"""

import argparse
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
from run import NEIGHBOURS, neighbours, production_env, send, server, wait_until, write_section

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from watchdesk.testing.webserver import Reply, WebServer  # noqa: E402
from watchdesk.testing.websubhub import LocalHub  # noqa: E402

OUT = BENCH / "out" / "websub"
VAR = OUT / "var"
START, END = "<!-- websub-results:start -->", "<!-- websub-results:end -->"
TARGET_SECONDS = 5.0
SEEN_EVERY = 0.02
ARRIVAL_TIMEOUT = 180


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Outlet:
    """Two feeds on one local server: their stories, an ETag that changes with them (conditional GET)."""

    def __init__(self):
        self.server = WebServer().start()
        self.stories = {"push": [], "poll": []}
        self.hub_url = ""
        now = datetime.now(UTC)
        for minute in range(60):
            self.stories["poll"].append((f"seed-{minute}", now - timedelta(minutes=minute, seconds=30)))
        for kind in self.stories:
            self.server.routes[f"/{kind}.xml"] = self._answer(kind)

    def url(self, kind):
        return self.server.url(f"/{kind}.xml")

    def publish(self, kind, key):
        self.stories[kind].insert(0, (key, datetime.now(UTC)))
        return time.time()

    def _answer(self, kind):
        def answer(request):
            body = self.feed(kind)
            etag = f'"{kind}-{len(self.stories[kind])}"'
            if request.headers.get("if-none-match") == etag:
                return Reply(304, {"ETag": etag})
            return Reply(200, {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag}, body)

        return answer

    def feed(self, kind):
        links = ""
        if kind == "push":
            links = (
                f"<atom:link rel='hub' href='{self.hub_url}'/><atom:link rel='self' href='{self.url(kind)}'/>"
            )
        items = "".join(
            f"<item><guid isPermaLink='false'>{kind}-{key}</guid>"
            f"<title>Crews answer call {key} ({kind})</title>"
            f"<link>https://outlet.example/{kind}/{key}</link><pubDate>{format_datetime(when, usegmt=True)}"
            f"</pubDate><description>Engine companies responded to incident {key} near Redding, California."
            "</description></item>"
            for key, when in self.stories[kind][:100]
        )
        return (
            "<?xml version='1.0' encoding='utf-8'?><rss version='2.0' xmlns:atom='http://www.w3.org/2005/Atom'>"
            f"<channel><title>Bench {kind}</title><link>https://outlet.example/</link>{links}{items}"
            "</channel></rss>"
        ).encode()


def database():
    connection = sqlite3.connect(VAR / "watchdesk.sqlite3", timeout=30)
    connection.execute("PRAGMA query_only = true")
    return connection


def arrived(connection, guid):
    row = connection.execute(
        "SELECT 1 FROM wire_item WHERE guid = ? AND enriched_at IS NOT NULL", (guid,)
    ).fetchone()
    return row is not None


def wait_for(connection, guid, published):
    deadline = time.monotonic() + ARRIVAL_TIMEOUT
    while time.monotonic() < deadline:
        if arrived(connection, guid):
            return time.time() - published
        time.sleep(SEEN_EVERY)
    raise RuntimeError(f"{guid} did not reach the inbox within {ARRIVAL_TIMEOUT} s; see {OUT}/*.log")


def setup(env, outlet):
    """Migrate a fresh database and add the two sources (in a child process, on the bench's settings)."""
    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True)
    manage = [sys.executable, str(BENCH.parent / "manage.py")]
    subprocess.run([*manage, "migrate", "--verbosity", "0"], env=env, check=True)
    code = (
        "from watchdesk.wire.models import Source\n"
        f"Source.objects.create(name='Push outlet', url={outlet.url('push')!r})\n"
        f"Source.objects.create(name='Poll outlet', url={outlet.url('poll')!r})\n"
    )
    subprocess.run([*manage, "shell", "--verbosity", "0", "-c", code], env=env, check=True)


def start_worker(env):
    log = open(OUT / "worker.log", "wb")  # noqa: SIM115  closed when the worker is stopped
    command = [sys.executable, str(BENCH.parent / "manage.py"), "run_worker", "--tick", "1"]
    worker = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return worker, log


def ready(connection):
    """The hub has verified our subscription and the poll source has been polled once."""
    active = connection.execute(
        "SELECT COUNT(*) FROM wire_websubsubscription WHERE state = 'active'"
    ).fetchone()
    polled = connection.execute(
        "SELECT COUNT(*) FROM wire_source WHERE name = 'Poll outlet' AND last_status = 'ok'"
    ).fetchone()
    return active[0] == 1 and polled[0] == 1


def poll_plan(connection):
    """(seconds between the poll source's last poll and its next, the reason shown in its health)."""
    fetched, following, note = connection.execute(
        "SELECT last_fetched_at, next_poll_at, poll_note FROM wire_source WHERE name = 'Poll outlet'"
    ).fetchone()
    return (datetime.fromisoformat(following) - datetime.fromisoformat(fetched)).total_seconds(), note


def measure(publishes, seed):
    rng = random.Random(seed)
    outlet = Outlet()
    app_port = free_port()
    hub = LocalHub(autorun=True, lease_seconds=3600).start()
    outlet.hub_url = hub.url
    env = production_env(
        VAR,
        SITE_URL=f"http://127.0.0.1:{app_port}",
        EMAIL_URL="smtp://127.0.0.1:1",
        WATCHDESK_FETCH_ALLOWED_NETWORKS="127.0.0.0/8",
        WATCHDESK_FETCH_ALLOWED_PORTS=f"{outlet.server.port},{hub.server.port}",
        WIRE_POLL_MIN_MINUTES="1",
        WIRE_POLL_SECONDS="5",
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")} | env
    OUT.mkdir(parents=True, exist_ok=True)
    setup(env, outlet)
    web_env = env | {"BIND": f"127.0.0.1:{app_port}", "WEB_CONCURRENCY": "2"}
    serve = [str(Path(sys.executable).with_name("watchdesk")), "serve", "--pid", str(OUT / "gunicorn.pid")]
    serve += ["--control-socket", str(OUT / "gunicorn.ctl")]
    latencies = {"push": [], "poll": []}
    with server(serve, OUT / "gunicorn.pid", app_port, OUT / "gunicorn.log", web_env) as web:
        worker, log = start_worker(env)
        try:
            connection = database()
            wait_until(lambda: ready(connection), "the subscription and the first poll", timeout=120)
            interval, note = poll_plan(connection)
            with neighbours("the publishes", os.getsid(web.pid), os.getsid(worker.pid)):
                for number in range(publishes):
                    time.sleep(rng.uniform(0, 60))
                    polled_at = outlet.publish("poll", f"p{number}")
                    time.sleep(rng.uniform(0, 20))
                    pushed_at = outlet.publish("push", f"h{number}")
                    ping = {"hub.mode": "publish", "hub.url": outlet.url("push")}
                    httpx.post(hub.url, data=ping, timeout=10)  # the publisher's ping, as a real one sends it
                    latencies["push"].append(wait_for(connection, f"push-h{number}", pushed_at))
                    latencies["poll"].append(wait_for(connection, f"poll-p{number}", polled_at))
                    print(
                        f"round {number + 1}/{publishes}: push {latencies['push'][-1]:.2f} s, "
                        f"poll {latencies['poll'][-1]:.1f} s",
                        flush=True,
                    )
            pushes = connection.execute(
                "SELECT pushes, bad_signatures FROM wire_websubsubscription"
            ).fetchone()
        finally:
            send([worker.pid], signal.SIGTERM)
            worker.wait(60)
            log.close()
    hub.stop()
    outlet.server.stop()
    return latencies, interval, note, pushes


def p95(values):
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def report(latencies, interval, note, pushes, publishes):
    push_median = statistics.median(latencies["push"])
    verdict = "PASS" if push_median <= TARGET_SECONDS else "FAIL"

    def row(label, values):
        runs = ", ".join(f"{value:.2f}" for value in values)
        return (
            f"| {label} | {statistics.median(values):.2f} | {p95(values):.2f} | {max(values):.2f} | {runs} |"
        )

    return "\n".join(
        [
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `.venv/bin/python bench/websub.py "
            f"--publishes {publishes}`\n",
            f"- Machine: nproc {os.cpu_count()}; other processes used "
            f"{NEIGHBOURS['the publishes']:.0%} of the CPUs during the publishes",
            "- One worker (`run_worker --tick 1`, queue checked every 1 s), `watchdesk serve` with 2 "
            "workers, SQLite; WIRE_POLL_SECONDS=5, WIRE_POLL_MIN_MINUTES=1",
            f"- The polled source's planned wait after its first poll: {interval:.0f} s ({note})",
            f"- The hub's signed pushes accepted: {pushes[0]}, ignored for a bad signature: {pushes[1]}\n",
            "| seconds from publishing to the inbox | median | p95 | max | each round |",
            "|---|---:|---:|---:|---|",
            row("WebSub push (hub pinged by the outlet)", latencies["push"]),
            row("adaptive polling at its shortest wait (1 min)", latencies["poll"]),
            f"\n**Target: pushed stories in the inbox within seconds, median at most {TARGET_SECONDS:g} s: "
            f"{verdict}** ({push_median:.2f} s; polling's median "
            f"{statistics.median(latencies['poll']):.1f} s).",
        ]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publishes", type=int, default=10, help="rounds; each publishes one story per kind")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    if args.publishes < 2:
        parser.error("--publishes must be at least 2")
    latencies, interval, note, pushes = measure(args.publishes, args.seed)
    section = report(latencies, interval, note, pushes, args.publishes)
    print(section)
    write_section(
        START,
        END,
        section,
        new_heading="\n## Hear it first (`bench/websub.py`)\n\nEverything between the markers is written by "
        "`bench/websub.py` (each run replaces it). Method: "
        "[README.md](README.md#hear-it-first-benchwebsubpy).\n\n",
    )
    return 0 if "PASS" in section else 1


if __name__ == "__main__":
    sys.exit(main())
