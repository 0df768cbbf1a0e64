"""Watchdesk mail benchmark: fan one post out to 100,000 subscribers and send it into Postfix's smtp-sink,
beside Postfix's own smtp-source sending to the same sink in the same run.

Run ``.venv/bin/python bench/mail.py [--subscribers 100000] [--sizes 10000,30000] [--profile]`` (or
``make bench-mail``). It needs smtp-sink and smtp-source (``apt-get install postfix``). The method and
its caveats are in bench/README.md; the last results in bench/RESULTS.md (its mail section is rewritten).

1. Reference: ``smtp-sink`` on 127.0.0.1 (accepts and discards), then ``smtp-source -d`` (one connection
   reused for every message) with 1 and 2 sessions and our message's size, three runs each, median.
2. For each size (default 10,000, 30,000 and 100,000): a fresh SQLite file copied from a migrated
   template, the subscribers bulk-inserted and one post published the way an editor does it (which
   writes its Broadcast); the fan-out (``fan_out_broadcast``) timed in its own process; then the real
   sender, ``send_pending()``, in one process, and on a copy of the same ledger in two processes at once.
   Every sending process reports its peak RSS; the ledger and the sink's counter are checked after each.
3. Django's own: the same messages built as ``EmailMultiAlternatives`` and sent over one connection.
4. Profile (when the sender is under a quarter of the reference, or with --profile): wall time per
   message inside claim, eligibility, composing, building bytes, the SMTP dialogue and the ledger UPDATE.

Traffic stays on 127.0.0.1. Everything written is under bench/out/mail/ (git-ignored).
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from run import NEIGHBOURS, neighbours, production_env, send, wait_until, write_section

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out" / "mail"
START, END = "<!-- mail-results:start -->", "<!-- mail-results:end -->"
SIZES, REFERENCE_MESSAGES, REFERENCE_RUNS, DJANGO_MESSAGES = (10_000, 30_000), 50_000, 3, 3_000
TARGET = 0.25
POSTFIX = ("smtp-sink", "smtp-source")
ENV = production_env(OUT / "var", PYTHONPATH=str(BENCH.parent))
BODY = "".join(
    f"<p>Crews from {town} responded within minutes after the call came in. Residents below the dam were "
    "told to leave by 6 pm, officials said, while volunteers opened a shelter at the high school. The "
    "cause remains under investigation; no one was seriously hurt, according to the county.</p>"
    for town in ("Riverside", "Oak Flat", "Mill Creek", "Cedar Point")
)


# Children: each phase runs in its own process, so its peak RSS is its own -------------------------
def memory():
    """(current, peak) resident set size of this process in MB."""
    status = Path("/proc/self/status").read_text()
    return tuple(
        int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1)) / 1024 for key in ("VmRSS", "VmHWM")
    )


def child(phase, argument):
    import django

    django.setup()
    rss = memory()[0]
    result = globals()[f"child_{phase}"](argument)
    result.update(rss_start=rss, rss_peak=memory()[1])
    print("RESULT " + json.dumps(result), flush=True)


def child_migrate(_):
    from django.core.management import call_command

    from watchdesk.posts.setup import setup_site

    call_command("migrate", verbosity=0)
    setup_site()
    return {}


def child_fill(subscribers):
    """N confirmed subscribers who get everything, and one published post. Returns the message size."""
    from django.utils import timezone

    from watchdesk.delivery.messages import PostFrame
    from watchdesk.posts.models import HomePage, StoryPost
    from watchdesk.subscriptions.models import Subscriber

    now, began = timezone.now(), time.perf_counter()
    for start in range(0, subscribers, 5000):
        Subscriber.objects.bulk_create(
            [
                Subscriber(email=f"reader{n:06d}@example.net", status="confirmed", confirmed_at=now)
                for n in range(start, min(start + 5000, subscribers))
            ],
            batch_size=1000,
        )
    post = StoryPost(
        title="Levee breach forces evacuations along the river valley",
        slug="levee-breach",
        summary="Residents below the dam are told to leave by 6 pm as water rises faster than forecast.",
        body=BODY,
        source_name="Valley Courier",
        source_url="https://news.example.org/story/levee-breach",
        byline="Dana Ortiz and Lee Park",
        first_published_at=now,
    )
    HomePage.objects.get().add_child(instance=post)
    post.save_revision().publish()
    size = len(PostFrame(post).for_subscriber(Subscriber.objects.first()).as_bytes())
    return {"seconds": time.perf_counter() - began, "message_bytes": size}


def child_fanout(_):
    from watchdesk.delivery.broadcasts import fan_out_broadcast
    from watchdesk.delivery.models import Broadcast

    broadcast = Broadcast.objects.select_related("post").get()
    began = time.perf_counter()
    recipients = fan_out_broadcast(broadcast)
    return {"seconds": time.perf_counter() - began, "recipients": recipients}


def child_send(_):
    from watchdesk.delivery.sender import send_pending

    began = time.time()
    outcome = send_pending()
    return {"began": began, "ended": time.time(), "outcome": outcome}


def child_django(messages):
    """Django's own path: each message an EmailMultiAlternatives, sent over one SMTP connection."""
    from django.core.mail import get_connection

    from watchdesk.delivery.messages import PostFrame
    from watchdesk.posts.models import StoryPost
    from watchdesk.subscriptions.models import Subscriber

    frame = PostFrame(StoryPost.objects.get(slug="levee-breach"))
    readers = list(Subscriber.objects.order_by("pk")[:messages])
    began = time.perf_counter()
    built = [frame.for_subscriber(reader).as_django().message().as_bytes() for reader in readers[:500]]
    build = (time.perf_counter() - began) / len(built)
    with get_connection() as connection:
        began = time.perf_counter()
        sent = sum(connection.send_messages([frame.for_subscriber(reader).as_django()]) for reader in readers)
        seconds = time.perf_counter() - began
    return {"sent": sent, "seconds": seconds, "build_ms": build * 1000}


def child_profile(_):
    """Send the ledger with timers around each step; wall time per message in each."""
    import smtplib
    from collections import defaultdict

    from django.db import connection

    from watchdesk.delivery import messages, sender

    totals = defaultdict(float)

    def timed(label, function):
        def wrapper(*args, **kwargs):
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                totals[label] += time.perf_counter() - began

        return wrapper

    def timed_sql(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            marks = sql.startswith("UPDATE") and "sent_at" in sql
            totals["sql: mark sent" if marks else "sql: other"] += time.perf_counter() - began

    patches = [
        (sender, "claim", "claim: lease UPDATE and SELECT of the batch"),
        (sender, "_eligible", "_eligible: still wanted?"),
        (sender.Composer, "__call__", "Composer: the reader's copy, links filled in"),
        (messages.Outgoing, "as_bytes", "Outgoing.as_bytes: MIME bytes"),
        (smtplib.SMTP, "sendmail", "smtplib sendmail: MAIL, RCPT, DATA, 4 round trips"),
        (sender, "_mark_sent", "_mark_sent: the row's UPDATE (autocommit)"),
    ]
    for owner, name, label in patches:
        setattr(owner, name, timed(label, getattr(owner, name)))
    with connection.execute_wrapper(timed_sql):
        began = time.perf_counter()
        outcome = sender.send_pending()
        whole = time.perf_counter() - began
    rows = [(label, totals[label]) for _, _, label in patches]
    rows.append(("everything else (send_batch loop, pacer, counting)", whole - sum(t for _, t in rows)))
    rows += [
        ("(inside the rows above) SQL: the UPDATEs marking rows sent", totals["sql: mark sent"]),
        ("(inside the rows above) SQL: all other statements", totals["sql: other"]),
    ]
    sent = outcome.get("sent", 0)
    return {
        "sent": sent,
        "seconds": whole,
        "spots": [(label, t / sent * 1e6, t / whole * 100) for label, t in rows],
    }


# The parent: servers, databases, runs --------------------------------------------------------------
def tool(name):
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def run_child(phase, database, *, argument=0, email_port=1, wait=True):
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "REDIS_URL"))
    }
    env |= ENV | {"DATABASE_URL": f"sqlite:///{database}", "EMAIL_URL": f"smtp://127.0.0.1:{email_port}"}
    command = [sys.executable, __file__, "--child", phase, "--argument", str(argument)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    return finish(process) if wait else process


def finish(process, timeout=3600):
    try:
        output, _ = process.communicate(timeout=timeout)
    finally:
        stop(process)
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    if process.returncode or not lines:
        raise RuntimeError(f"{' '.join(process.args[2:5])} failed ({process.returncode}):\n{output[-2000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def stop(process):
    if process.poll() is None:
        process.kill()
        process.wait(10)


def copy_database(source, target):
    target.unlink(missing_ok=True)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def ledger(database):
    with closing(sqlite3.connect(database)) as connection:
        return dict(connection.execute("SELECT status, COUNT(*) FROM delivery_delivery GROUP BY status"))


@contextmanager
def sink():
    """smtp-sink on a free loopback port; yields (port, a function returning messages received so far)."""
    port, log = free_port(), OUT / "smtp-sink.log"
    user = ["-u", "nobody"] if os.geteuid() == 0 else []  # it refuses to run as root without -u
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [tool("smtp-sink"), "-c", *user, f"127.0.0.1:{port}", "1000"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def received():
        with open(log, "rb") as handle:
            handle.seek(max(0, log.stat().st_size - 200))
            counts = re.findall(rb"mesg=(\d+)", handle.read())
        return int(counts[-1]) if counts else 0

    try:
        wait_until(lambda: port_open(port) or process.poll() is not None, f"smtp-sink on port {port}")
        if process.poll() is not None:
            raise RuntimeError(f"smtp-sink exited with {process.returncode}; see {log}")
        yield process, port, received
    finally:
        send([process.pid], signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            send([process.pid], signal.SIGKILL)
            process.wait(5)


def smtp_source(port, sessions, size, received):
    """Median messages/s of REFERENCE_RUNS runs of smtp-source with ``sessions`` reused connections."""
    rates = []
    for _ in range(REFERENCE_RUNS):
        before, began = received(), time.perf_counter()
        subprocess.run(
            [tool("smtp-source"), "-d", "-s", str(sessions), "-m", str(REFERENCE_MESSAGES), "-l", str(size)]
            + ["-f", "noreply@watchdesk.example.org", "-t", "reader@example.net", f"127.0.0.1:{port}"],
            check=True,
            timeout=600,
        )
        rates.append(REFERENCE_MESSAGES / (time.perf_counter() - began))
        expect_received(received, before + REFERENCE_MESSAGES)
    return {"rate": statistics.median(rates), "range": f"{min(rates):,.0f}-{max(rates):,.0f}"}


def expect_received(received, count):
    wait_until(lambda: received() >= count, f"smtp-sink to count {count:,} messages", timeout=30)
    if received() != count:
        raise RuntimeError(f"smtp-sink counted {received():,} messages, expected {count:,}")


def sending(databases, port, received, subscribers):
    """Send one ledger with one process per entry of ``databases`` (all the same file) at once."""
    before = received()
    processes = [run_child("send", database, email_port=port, wait=False) for database in databases]
    try:
        results = [finish(process) for process in processes]
    finally:
        for process in processes:
            stop(process)
    rows = ledger(databases[0])
    if rows != {"sent": subscribers}:
        raise RuntimeError(f"after sending, the ledger is {rows}, expected {subscribers:,} sent")
    expect_received(received, before + subscribers)
    seconds = max(r["ended"] for r in results) - min(r["began"] for r in results)
    return {
        "rate": subscribers / seconds,
        "seconds": seconds,
        "rss_start": max(r["rss_start"] for r in results),
        "rss_peak": max(r["rss_peak"] for r in results),
        "split": "/".join(f"{r['outcome'].get('sent', 0):,}" for r in results),
    }


def measure(sizes, profile):
    template = OUT / "template.sqlite3"
    print("Migrating a template database ...", flush=True)
    run_child("migrate", template)
    runs, reference, django, spots = {}, {}, None, None
    with sink() as (process, port, received):
        for size in sizes:
            database = OUT / f"ledger-{size}.sqlite3"
            copy_database(template, database)
            filled = run_child("fill", database, argument=size)
            if not reference:
                with neighbours("smtp-source", process.pid):
                    for sessions in (1, 2):
                        reference[sessions] = smtp_source(port, sessions, filled["message_bytes"], received)
                        print(f"  smtp-source -s {sessions}: {reference[sessions]['rate']:,.0f} messages/s")
            fanned = run_child("fanout", database)
            assert fanned["recipients"] == size, fanned
            twin = OUT / f"ledger-{size}-two.sqlite3"
            copy_database(database, twin)
            with neighbours(f"sending {size:,}", process.pid):
                one = sending([database], port, received, size)
                two = sending([twin, twin], port, received, size)
            runs[size] = {"fill": filled, "fanout": fanned, "one": one, "two": two}
            print(
                f"  {size:,} subscribers: fan-out {fanned['seconds']:.1f} s; sent by one process at "
                f"{one['rate']:,.0f}/s (peak RSS {one['rss_peak']:.0f} MB), by two at {two['rate']:,.0f}/s",
                flush=True,
            )
        first = OUT / f"ledger-{sizes[0]}.sqlite3"
        django = run_child("django", first, argument=min(DJANGO_MESSAGES, sizes[0]), email_port=port)
        print(f"  Django's EmailMultiAlternatives: {django['sent'] / django['seconds']:,.0f} messages/s")
        best_reference = max(r["rate"] for r in reference.values())
        best = max(runs[sizes[-1]]["one"]["rate"], runs[sizes[-1]]["two"]["rate"])
        if profile or best < TARGET * best_reference:
            copy_database(template, first)
            run_child("fill", first, argument=sizes[0])
            run_child("fanout", first)
            spots = run_child("profile", first, email_port=port)
    return reference, runs, django, spots


# Report -------------------------------------------------------------------------------------------
def versions():
    import django

    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    postfix = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "postfix"], capture_output=True, text=True
    )
    return (
        f"- Machine: nproc {os.cpu_count()}, {cpu.group(1) if cpu else platform.processor()}, "
        f"{platform.system()} {platform.release()}\n- Versions: Python {platform.python_version()}, Django "
        f"{django.get_version()}, SQLite {sqlite3.sqlite_version}, Postfix {postfix.stdout or 'unknown'}"
    )


def rss(result):
    return f"{result['rss_peak']:.0f} ({result['rss_start']:.0f})"


def report(sizes, reference, runs, django, spots):
    best_reference = max(r["rate"] for r in reference.values())
    largest = runs[sizes[-1]]
    best = max(largest["one"]["rate"], largest["two"]["rate"])
    verdict = "PASS" if best >= TARGET * best_reference else "FAIL"
    size = largest["fill"]["message_bytes"]
    command = " ".join([".venv/bin/python bench/mail.py", *sys.argv[1:]])
    django_rate = django["sent"] / django["seconds"]
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{command}`\n\n{versions()}",
        "- Shared machine, share of the CPUs that other sessions' processes used: "
        + ", ".join(f"{share:.0%} during {phase}" for phase, share in NEIGHBOURS.items()),
        f"- One post, {size:,} bytes a copy (text and HTML, base64), to every subscriber; a SQLite file; "
        "`DEBUG=false`, `EMAIL_BATCH_SIZE=200`, no rate limit.\n",
        "| into smtp-sink on 127.0.0.1 | messages/s | of reference | seconds | peak RSS MB (at start) |",
        "|---|---:|---:|---:|---|",
    ]
    for sessions, ref in reference.items():
        lines.append(
            f"| `smtp-source -d -s {sessions}`, {REFERENCE_MESSAGES:,} messages, median of {REFERENCE_RUNS} "
            f"({ref['range']}) | {ref['rate']:,.0f} | {ref['rate'] / best_reference:.0%} | | |"
        )
    for count, run in runs.items():
        for key, label in (("one", "one process"), ("two", "two processes")):
            r = run[key]
            lines.append(
                f"| Watchdesk `send_pending()`, {count:,} subscribers, {label} | {r['rate']:,.0f} "
                f"| {r['rate'] / best_reference:.0%} | {r['seconds']:.1f} | {rss(r)} |"
            )
    lines += [
        f"| Django: `EmailMultiAlternatives` and its SMTP backend, {django['sent']:,} messages, one "
        f"connection | {django_rate:,.0f} | {django_rate / best_reference:.1%} | {django['seconds']:.1f} "
        f"| {rss(django)} |",
        f"\n**Target: at least {TARGET:.0%} of the reference ({best_reference:,.0f} messages/s): {verdict}** "
        f"({best:,.0f} messages/s with {sizes[-1]:,} subscribers, {best / best_reference:.0%}).",
        f"\nDjango alone builds one `EmailMultiAlternatives` (`message().as_bytes()`) in "
        f"{django['build_ms']:.2f} ms.",
        "\n| fan-out (`fan_out_broadcast`, its own process) | seconds | rows/s | peak RSS MB (at start) |",
        "|---|---:|---:|---|",
    ]
    for count, run in runs.items():
        fan = run["fanout"]
        lines.append(
            f"| {count:,} subscribers | {fan['seconds']:.1f} | {count / fan['seconds']:,.0f} | {rss(fan)} |"
        )
    if spots:
        lines += [
            f"\nWhere one sending process spends its time ({spots['sent']:,} messages, wall time inside each "
            f"step; {spots['sent'] / spots['seconds']:,.0f} messages/s with the timers on):\n",
            "| step | µs/message | share |",
            "|---|---:|---:|",
            *(f"| {label} | {us:.0f} | {share:.0f}% |" for label, us, share in spots["spots"]),
        ]
    section = "\n".join(lines)
    print(f"\n{section}\n")
    write_section(
        START,
        END,
        section,
        new_heading="\n# Mail benchmark\n\nWritten by `bench/mail.py` (each run replaces it).\n\n",
    )


def interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000, help="the largest size (default 100,000)")
    parser.add_argument(
        "--sizes", default=",".join(map(str, SIZES)), help="smaller sizes to run first (default %(default)s)"
    )
    parser.add_argument("--profile", action="store_true", help="profile the sender even when it passes")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--argument", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.argument)
    missing = [name for name in POSTFIX if not tool(name)]
    if missing:
        sys.exit(
            f"{' and '.join(missing)} not found: install Postfix's test tools with `apt-get install postfix`."
        )
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip() and int(s) < args.subscribers})
    sizes.append(args.subscribers)
    signal.signal(signal.SIGTERM, interrupt)
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "var").mkdir(parents=True)
    reference, runs, django, spots = measure(sizes, args.profile)
    report(sizes, reference, runs, django, spots)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("Interrupted; everything this run started has been stopped.")
