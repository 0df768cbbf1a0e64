"""Watchdesk time-to-alert benchmark: publish a post as an editor does and time, from the publishing
transaction's commit, the first and last e-mail accepted by a local SMTP server and the first and last
signed webhook received by a local HTTP server, with the real task worker (``watchdesk worker``, as
``make run`` starts it) doing the work.

Run ``.venv/bin/python bench/alert.py`` (or ``make bench-alert``, 10-15 minutes). It needs Postfix's
smtp-sink and smtp-source (``apt-get install postfix``) for the second part. The method and its caveats are
in bench/README.md; the last results in bench/RESULTS.md (its alert section is rewritten).

1. First alert: ``--publishes`` posts (default 10, after one warm-up) to ``--first-subscribers`` readers
   and ``--first-channels`` signed webhooks; e-mail into an aiosmtpd server. Target: the median time to the
   first e-mail and to the first webhook within 2 s.
2. Fan-out: one post to ``--channels`` signed webhooks (default 1,000) and ``--subscribers`` readers
   (default 100,000), e-mail into smtp-sink, in rounds interleaved with smtp-source sending as many
   messages of the same size into the same sink (bench/mail.py's reference); after each alert run,
   bench/mail.py's ``send_pending()`` alone sends the same ledger again, for comparison. Targets: the
   last webhook within 60 s of the commit, and the worker's e-mail rate at least the share of the
   reference that bench/mail.py's 2,498 messages/s was.

Traffic stays on 127.0.0.1. Everything written is under bench/out/alert/ (git-ignored).
"""

import argparse
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import mail
from mail import BODY, POSTFIX, copy_database, expect_received, sink, smtp_source, tool, versions
from run import NEIGHBOURS, neighbours, production_env, send, wait_until, write_section

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out" / "alert"
RUN_DB = OUT / "run.sqlite3"
START, END = "<!-- alert-results:start -->", "<!-- alert-results:end -->"
FIRST_TARGET_S, WEBHOOKS_TARGET_S = 2.0, 60.0
# A chat service's webhook answers in about a tenth of a second from across the internet; a receiver on
# loopback answering at once would hide what sending one message at a time costs.
HOOK_DELAY_MS = 100.0
# bench/mail.py's run of 2026-11-29 07:29 UTC: one process sent 100,000 messages at 2,498 a second while
# `smtp-source -d -s 2` sent at 10,045 a second; the target is that share of the same run's reference.
OLD_RATE, OLD_REFERENCE = 2_498, 10_045
MAIL_TARGET = OLD_RATE / OLD_REFERENCE
REFERENCES = {"source1": "`smtp-source -d -s 1`", "source2": "`smtp-source -d -s 2`"}
WORKER = [sys.executable, "-m", "watchdesk.cli", "worker", "--tick", "5"]  # as `make run` starts it
ENV = production_env(
    OUT / "var",
    DATABASE_URL=f"sqlite:///{RUN_DB}",
    EMAIL_URL="smtp://127.0.0.1:1",
    ALLOWED_HOSTS="watchdesk.example.org,127.0.0.1,localhost",  # SITE_URL's host, or the worker refuses
    PYTHONPATH=str(BENCH.parent),
)


# Data ------------------------------------------------------------------------------------------------
def fresh_run_db():
    """Close Django's connection to the run database and remove it with its WAL files."""
    from django.db import connections

    connections.close_all()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{RUN_DB}{suffix}").unlink(missing_ok=True)


def use(database):
    """Make ``database`` (a saved copy) the run database."""
    fresh_run_db()
    copy_database(database, RUN_DB)


def save(target):
    from django.db import connections

    connections.close_all()
    copy_database(RUN_DB, target)


def migrate():
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from watchdesk.posts.setup import setup_site

    fresh_run_db()
    call_command("migrate", verbosity=0)
    setup_site()
    get_user_model().objects.create_superuser("editor", "editor@watchdesk.example.org", "bench-only")
    save(OUT / "template.sqlite3")


def fill(target, subscribers, webhooks, receiver_url, drafts):
    """Confirmed readers who get everything, signed webhook channels to ``receiver_url`` and ``drafts``
    draft posts with "E-mail subscribers" ticked. Returns the e-mail's size in bytes."""
    from django.utils import timezone

    from watchdesk.delivery.channels import new_secret
    from watchdesk.delivery.messages import PostFrame
    from watchdesk.delivery.models import Channel
    from watchdesk.posts.models import HomePage, StoryPost
    from watchdesk.subscriptions.models import Subscriber

    use(OUT / "template.sqlite3")
    now = timezone.now()
    for start in range(0, subscribers, 5000):
        Subscriber.objects.bulk_create(
            [
                Subscriber(email=f"reader{n:06d}@example.net", status="confirmed", confirmed_at=now)
                for n in range(start, min(start + 5000, subscribers))
            ],
            batch_size=1000,
        )
    Channel.objects.bulk_create(
        [
            Channel(name=f"Agency {n:04d}", kind=Channel.Kind.WEBHOOK, url=receiver_url, secret=new_secret())
            for n in range(webhooks)
        ],
        batch_size=500,
    )
    home = HomePage.objects.get()
    for number in range(drafts):
        post = StoryPost(
            title=f"Levee breach {number + 1} forces evacuations along the river valley",
            slug=f"levee-breach-{number + 1}",
            summary="Residents below the dam are told to leave by 6 pm as water rises faster than forecast.",
            body=BODY,
            source_name="Valley Courier",
            source_url=f"https://news.example.org/story/levee-breach-{number + 1}",
            byline="Dana Ortiz and Lee Park",
            notify_subscribers=True,
            live=False,
        )
        home.add_child(instance=post)
        post.save_revision(user=editor())
    size = len(PostFrame(post).for_subscriber(Subscriber.objects.first()).as_bytes()) if subscribers else 0
    save(target)
    return size


def editor():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="editor")


def publish(number):
    """Publish draft ``number`` as the admin's Publish button does (its latest revision's ``publish``, in
    one transaction). Returns the time of the commit and what to expect at the receivers."""
    from django.db import transaction

    from watchdesk.delivery.channel_sender import verify
    from watchdesk.delivery.channels import idempotency_key
    from watchdesk.delivery.models import Broadcast, Channel
    from watchdesk.posts.models import StoryPost

    post = StoryPost.objects.get(slug=f"levee-breach-{number}")
    revision, user = post.latest_revision, editor()
    committed = []
    with transaction.atomic():
        # Registered first, so it runs first once the transaction commits: before the task is enqueued.
        transaction.on_commit(lambda: committed.append(time.time()))
        revision.publish(user=user)
    broadcast = Broadcast.objects.get(post=post, kind=Broadcast.Kind.POST)
    secrets = {
        idempotency_key(pk, f"post:{broadcast.pk}"): secret
        for pk, secret in Channel.objects.values_list("pk", "secret")
    }

    def check(requests):
        """Every webhook signed with its channel's secret, each channel once."""
        keys = [request.headers.get("idempotency-key") for request in requests]
        if sorted(keys) != sorted(secrets):
            raise RuntimeError(f"{len(requests)} webhooks, {len(set(keys) & set(secrets))} of the expected")
        for request, key in zip(requests, keys, strict=True):
            header = request.headers.get("x-watchdesk-signature", "")
            if not verify(secrets[key], header, request.body, now=request.received_at):
                raise RuntimeError(f"a webhook's signature did not verify: {header}")

    return committed[0], check


# The worker ------------------------------------------------------------------------------------------
@contextmanager
def worker(email_port, receiver_port):
    """``watchdesk worker --tick 5`` on the run database, with the fetch policy opened for the local
    receiver as an operator would; ready once it has run the jobs its scheduler enqueues at start."""
    from django_tasks_db.models import DBTaskResult

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
    env |= ENV | {
        "EMAIL_URL": f"smtp://127.0.0.1:{email_port}",
        "WATCHDESK_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
        "WATCHDESK_FETCH_ALLOWED_PORTS": str(receiver_port),
    }
    log = open(OUT / "worker.log", "ab")  # noqa: SIM115 - closed in finally
    started = datetime.now(UTC)
    # In this run's session, so that its CPU time counts as ours, not as a neighbour's.
    process = subprocess.Popen(WORKER, env=env, stdout=log, stderr=subprocess.STDOUT)

    def idle():
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited with {process.returncode}; see {OUT / 'worker.log'}")
        tasks = DBTaskResult.objects
        return (
            tasks.filter(finished_at__gte=started).exists()
            and not tasks.filter(status__in=["READY", "RUNNING"]).exists()
        )

    try:
        wait_until(idle, "the worker to start and finish its first jobs", timeout=120)
        yield process
    finally:
        send([process.pid], signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            send([process.pid], signal.SIGKILL)
            process.wait(5)
        log.close()


class Arrivals(threading.Thread):
    """Polls a counter every 5 ms and notes when it first moved and when it reached ``expected``."""

    def __init__(self, count, expected):
        super().__init__(daemon=True)
        self.count, self.expected, self.start_count = count, expected, count()
        self.first = self.last = None
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            now, seen = time.time(), self.count() - self.start_count
            if seen and self.first is None:
                self.first = now
            if seen >= self.expected:
                self.last = now
                self.done.set()
            time.sleep(0.005)


# 1. First alert --------------------------------------------------------------------------------------
def first_alert(database, publishes, subscribers, webhooks, hooks):
    from watchdesk.testing.mailserver import MailServer

    use(database)
    runs = []
    with (
        MailServer() as mailbox,
        worker(mailbox.port, hooks.port),
        neighbours("the first-alert publishes"),
    ):
        for number in range(1, publishes + 2):
            hooks.requests.clear()
            with mailbox.lock:
                mailbox.arrivals.clear()
            committed, check = publish(number)
            wait_until(
                lambda: len(mailbox.arrivals) >= subscribers and len(hooks.requests) >= webhooks,
                f"publish {number}'s {subscribers} e-mails and {webhooks} webhooks",
                timeout=120,
            )
            check(hooks.requests)
            mails, calls = sorted(mailbox.arrivals), sorted(r.received_at for r in hooks.requests)
            result = {
                "first_mail": mails[0] - committed,
                "last_mail": mails[-1] - committed,
                "first_hook": calls[0] - committed,
                "last_hook": calls[-1] - committed,
            }
            label = "warm-up" if number == 1 else f"publish {number - 1}"
            print(f"  {label}: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.items()), flush=True)
            if number > 1:  # the first is a warm-up (templates, connections, the page tree in cache)
                runs.append(result)
    return runs


# 2. Fan-out ------------------------------------------------------------------------------------------
def send_again(subscribers, port, received):
    """bench/mail.py's one-process ``send_pending()`` on the ledger the alert run just sent, its rows set
    back to pending: how fast the sender alone goes in this round, for comparison with the worker."""
    from django.db import connections

    connections.close_all()
    with closing(sqlite3.connect(RUN_DB)) as connection, connection:
        connection.execute(
            "UPDATE delivery_delivery SET status = 'pending', sent_at = NULL, attempts = 0, message_id = '', "
            "lease_owner = '', leased_until = NULL"
        )
    (mail.OUT / "var").mkdir(parents=True, exist_ok=True)
    return mail.sending(RUN_DB, 1, port, received, subscribers)


def fan_out_round(number, database, subscribers, webhooks, size, hooks, port, received):
    """The alert run (then the sender alone on its ledger) and the two smtp-source runs, starting one
    further along each round."""
    results = {}
    order = ["alert", *REFERENCES]
    shift = number % len(order)
    for name in order[shift:] + order[:shift]:
        if name in REFERENCES:
            connections = int(name.removeprefix("source"))
            results[name] = smtp_source(port, connections, subscribers, size, received)
            continue
        use(database)
        hooks.requests.clear()
        with worker(port, hooks.port):
            mails = Arrivals(received, subscribers)
            calls = Arrivals(lambda: len(hooks.requests), webhooks)
            mails.start(), calls.start()
            committed, check = publish(1)
            for watcher, what in ((calls, "webhooks"), (mails, "e-mails")):
                if not watcher.done.wait(1800):
                    raise RuntimeError(f"timed out waiting for the {what}")
            check(hooks.requests)
        expect_received(received, mails.start_count + subscribers)
        results[name] = {
            "first_hook": min(r.received_at for r in hooks.requests) - committed,
            "last_hook": max(r.received_at for r in hooks.requests) - committed,
            "first_mail": mails.first - committed,
            "last_mail": mails.last - committed,
            "mail_rate": subscribers / (mails.last - mails.first),
        }
        results["alone"] = send_again(subscribers, port, received)
    return results


def rate(result):
    return result["mail_rate"] if "mail_rate" in result else result["messages"] / result["seconds"]


def ratio(round_, name="alert"):
    return rate(round_[name]) / max(rate(round_[reference]) for reference in REFERENCES)


# Report -------------------------------------------------------------------------------------------
def seconds(values):
    return f"{statistics.median(values):.2f} | {min(values):.2f}-{max(values):.2f}"


def report(args, first, fanned, size):
    first_mail = statistics.median(r["first_mail"] for r in first)
    first_hook = statistics.median(r["first_hook"] for r in first)
    last_hooks = statistics.median(r["alert"]["last_hook"] for r in fanned)
    shares = [ratio(r) for r in fanned]
    share = statistics.median(shares)
    ours = statistics.median(rate(r["alert"]) for r in fanned)

    def verdict(ok):
        return "PASS" if ok else "FAIL"

    from django.conf import settings

    command = " ".join([".venv/bin/python bench/alert.py", *sys.argv[1:]])
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{command}`\n\n{versions()}",
        "- Shared machine, share of the CPUs that other sessions' processes used: "
        + ", ".join(f"{share:.0%} during {phase}" for phase, share in NEIGHBOURS.items()),
        "- A SQLite file; `DEBUG=false`; one `watchdesk worker --tick 5` (django-tasks' database backend, "
        "polling every second), as `make run` starts it. Times run from the commit of the transaction "
        "that publishes the post (`revision.publish()`) to the moment the receiver had the message.",
        f"- The webhook receiver answers each request after {args.hook_delay_ms:g} ms, as a service across "
        f"the internet would; the worker sends up to `CHANNEL_CONCURRENCY={settings.CHANNEL_CONCURRENCY}` "
        "channel messages at once.",
        f"\n**First alert**: {len(first)} publishes (after a warm-up), each to {args.first_subscribers:,} "
        f"readers (aiosmtpd on 127.0.0.1) and {args.first_channels} signed webhooks (a local HTTP server)\n",
        "| from the commit to | median s | range s |",
        "|---|---:|---:|",
        f"| the first e-mail accepted | {seconds([r['first_mail'] for r in first])} |",
        f"| the first signed webhook received | {seconds([r['first_hook'] for r in first])} |",
        f"| the last webhook ({args.first_channels}) | {seconds([r['last_hook'] for r in first])} |",
        f"| the last e-mail ({args.first_subscribers:,}) | {seconds([r['last_mail'] for r in first])} |",
        f"\n**Target: the first e-mail and the first webhook within {FIRST_TARGET_S:g} s (median): "
        f"{verdict(max(first_mail, first_hook) <= FIRST_TARGET_S)}** ({first_mail:.2f} s and "
        f"{first_hook:.2f} s).",
        f"\n**Fan-out**: one post to {args.channels:,} signed webhooks and {args.subscribers:,} readers "
        f"(smtp-sink on 127.0.0.1), {len(fanned)} rounds; in each, the alert run and smtp-source sending "
        f"{args.subscribers:,} messages of the same size ({size:,} bytes) into the same sink with one and "
        "with two connections, in an order rotating from round to round\n",
        "| round | first webhook s | last webhook s | first e-mail s | last e-mail s | e-mails/s (first to "
        "last) | of the faster smtp-source | `send_pending()` alone, msg/s (of the faster) | smtp-source "
        "-s 1 / -s 2 msg/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for number, round_ in enumerate(fanned, 1):
        alert = round_["alert"]
        lines.append(
            f"| {number} | {alert['first_hook']:.2f} | {alert['last_hook']:.2f} | {alert['first_mail']:.2f} "
            f"| {alert['last_mail']:.2f} | {rate(alert):,.0f} | {ratio(round_):.1%} | "
            f"{rate(round_['alone']):,.0f} ({ratio(round_, 'alone'):.1%}) | {rate(round_['source1']):,.0f} / "
            f"{rate(round_['source2']):,.0f} |"
        )
    alone = statistics.median(ratio(r, "alone") for r in fanned)
    lines.append(
        "\n`send_pending()` alone: right after each alert run, bench/mail.py's one sending process sent the "
        f"same ledger again (its rows set back to pending): {alone:.1%} of the reference (median), against "
        f"the worker's {share:.1%}."
    )
    lines += [
        f"\n**Target: {args.channels:,} webhooks within {WEBHOOKS_TARGET_S:g} s: "
        f"{verdict(last_hooks <= WEBHOOKS_TARGET_S)}** (the last arrived after {last_hooks:.1f} s, median "
        "of the rounds).",
        f"\n**Target: e-mail at least {MAIL_TARGET:.1%} of the reference, the share bench/mail.py's "
        f"{OLD_RATE:,} messages/s from one process was of its smtp-source ({OLD_REFERENCE:,}/s): "
        f"{verdict(share >= MAIL_TARGET)}** ({share:.1%}, median of the rounds' ratios; {ours:,.0f} "
        "messages/s from the first e-mail to the last, with the webhooks sent before them).",
    ]
    section = "\n".join(lines)
    print(f"\n{section}\n")
    return section


def interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--publishes", type=int, default=10, help="first-alert publishes (default 10)")
    parser.add_argument("--first-subscribers", type=int, default=1_000, help="readers for the first alert")
    parser.add_argument("--first-channels", type=int, default=10, help="webhooks for the first alert")
    parser.add_argument("--subscribers", type=int, default=100_000, help="readers for the fan-out")
    parser.add_argument("--channels", type=int, default=1_000, help="webhooks for the fan-out")
    parser.add_argument("--rounds", type=int, default=3, help="fan-out rounds (default 3)")
    parser.add_argument(
        "--hook-delay-ms",
        type=float,
        default=HOOK_DELAY_MS,
        help="how long the webhook receiver takes to answer each request (default %(default)g)",
    )
    parser.add_argument("--no-write", action="store_true", help="print the results, leave RESULTS.md alone")
    args = parser.parse_args()
    missing = [name for name in POSTFIX if not tool(name)]
    if missing:
        sys.exit(
            f"{' and '.join(missing)} not found: install Postfix's test tools with "
            "`DEBIAN_FRONTEND=noninteractive apt-get install -y postfix`."
        )
    signal.signal(signal.SIGTERM, interrupt)
    import shutil

    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "var").mkdir(parents=True)
    os.environ.update(ENV)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()

    from watchdesk.testing.webserver import Reply, WebServer

    print("Migrating a template database ...", flush=True)
    migrate()
    with WebServer({"/hook": Reply(200, {}, b"ok", delay=args.hook_delay_ms / 1000)}) as hooks:
        print("Filling ...", flush=True)
        first_db, fan_db = OUT / "first.sqlite3", OUT / "fan-out.sqlite3"
        fill(first_db, args.first_subscribers, args.first_channels, hooks.url("/hook"), args.publishes + 1)
        size = fill(fan_db, args.subscribers, args.channels, hooks.url("/hook"), 1)
        print("First alert ...", flush=True)
        first = first_alert(first_db, args.publishes, args.first_subscribers, args.first_channels, hooks)
        print("Fan-out ...", flush=True)
        fanned = []
        with sink(OUT) as (process, port, received), neighbours("the fan-out rounds", process.pid):
            for number in range(args.rounds):
                sizes = (args.subscribers, args.channels, size)
                fanned.append(fan_out_round(number, fan_db, *sizes, hooks, port, received))
                alert = fanned[-1]["alert"]
                print(
                    f"  round {number + 1}: last webhook {alert['last_hook']:.1f} s, last e-mail "
                    f"{alert['last_mail']:.1f} s, {rate(alert):,.0f} e-mails/s, {ratio(fanned[-1]):.1%} of "
                    "smtp-source",
                    flush=True,
                )
    section = report(args, first, fanned, size)
    if not args.no_write:
        write_section(
            START,
            END,
            section,
            new_heading="\n# Time to alert\n\nWritten by `bench/alert.py` (each run replaces it).\n\n",
        )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("Interrupted; everything this run started has been stopped.")
