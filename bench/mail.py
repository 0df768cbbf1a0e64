"""Watchdesk mail benchmark: fan one post out to every subscriber and send it into Postfix's smtp-sink, in
turns with Postfix's own smtp-source sending as many messages of the same size into the same sink.

Run ``.venv/bin/python bench/mail.py`` (or ``make bench-mail``, a few minutes); ``--subscribers 100000``
for the full-size run. It needs smtp-sink and smtp-source (``apt-get install postfix``). The method and
its caveats are in bench/README.md; the last results in bench/RESULTS.md (its mail section is rewritten).

For each size, ``--rounds`` rounds (default 3). A round fans the post out afresh (timed), then runs every
configuration once on its own copy of that ledger, in an order that rotates from round to round:
smtp-source with one and with two connections (the reference), ``send_pending()`` in one process and in
two, the A/B variants (the plain way in place of a piece of machinery), and at the largest size Django's
own ``EmailMultiAlternatives``. Each figure is the median of its runs; each ratio is the median of the
rounds' ratios, each taken between runs of the same round. A last set of rounds sends through a proxy
that holds every packet for ``--latency-ms`` each way, as a mail server across a network would.

Traffic stays on 127.0.0.1. Everything written is under bench/out/mail/ (git-ignored).
"""

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import smtplib
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from run import NEIGHBOURS, neighbours, production_env, send, wait_until, write_section

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out" / "mail"
START, END = "<!-- mail-results:start -->", "<!-- mail-results:end -->"
SIZES, ROUNDS, DJANGO_MESSAGES, LATENCY_MESSAGES, LATENCY_MS = (2_000,), 3, 3_000, 500, 1.0
TARGET = 0.25
POSTFIX = ("smtp-sink", "smtp-source")
ENV = production_env(OUT / "var", PYTHONPATH=str(BENCH.parent))
BODY = "".join(
    f"<p>Crews from {town} responded within minutes after the call came in. Residents below the dam were "
    "told to leave by 6 pm, officials said, while volunteers opened a shelter at the high school. The "
    "cause remains under investigation; no one was seriously hurt, according to the county.</p>"
    for town in ("Riverside", "Oak Flat", "Mill Creek", "Cedar Point")
)
REFERENCES = {
    "source1": "`smtp-source -d -s 1` (one connection)",
    "source2": "`smtp-source -d -s 2` (two connections)",
}
OURS = {
    "one": "Watchdesk `send_pending()`, one process",
    "two": "Watchdesk `send_pending()`, two processes at once",
}
# A/B: one process with the plain way in place of one piece of machinery (patched in the child only).
VARIANTS = {
    "plain-smtp": "the same, smtplib's own `sendmail` (no pipelining)",
    "orm-mark": "the same, rows marked sent with the ORM's `update()`",
}
DJANGO = "Django: `EmailMultiAlternatives` and its SMTP backend, one connection"


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

    now, subscribers = timezone.now(), int(subscribers)
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
    return {"message_bytes": len(PostFrame(post).for_subscriber(Subscriber.objects.first()).as_bytes())}


def child_fanout(_):
    from watchdesk.delivery.broadcasts import fan_out_broadcast
    from watchdesk.delivery.models import Broadcast

    broadcast = Broadcast.objects.select_related("post").get()
    began = time.perf_counter()
    recipients = fan_out_broadcast(broadcast)
    return {"seconds": time.perf_counter() - began, "recipients": recipients}


def plain_smtp():
    from watchdesk.delivery import transport

    def sendmail(smtp, sender, recipient, raw):
        smtp.sendmail(sender, [recipient], raw)

    transport.pipelined_sendmail = sendmail


def orm_mark_sent(row, message_id):
    """The plain way to mark a row sent. ``row.attempts + 1``, not ``F("attempts") + 1``: the row is leased
    to this worker, and resolving the expression would cost another ~0.1 ms a message."""
    from django.utils import timezone

    from watchdesk.delivery.models import Delivery

    Delivery.objects.filter(pk=row.pk).update(
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
        message_id=message_id,
        error="",
        attempts=row.attempts + 1,
        lease_owner="",
        leased_until=None,
    )


def orm_mark():
    from watchdesk.delivery import sender

    sender._mark_sent = orm_mark_sent


def child_send(variant):
    from watchdesk.delivery.sender import send_pending

    if variant != "-":
        {"plain-smtp": plain_smtp, "orm-mark": orm_mark}[variant]()
    began = time.time()
    outcome = send_pending()
    return {"began": began, "ended": time.time(), "outcome": outcome}


def child_marks(_):
    """CPU time per row of ours and the plain way of marking rows sent, in alternating blocks of 100 rows
    of one ledger in one process: the cost of the statement itself, whatever the neighbours do."""
    from watchdesk.delivery.models import Delivery
    from watchdesk.delivery.sender import _mark_sent

    rows, cpu = list(Delivery.objects.order_by("pk")), {"ours": [], "orm": []}
    for number, start in enumerate(range(0, len(rows) - 99, 100)):
        name = ("ours", "orm", "orm", "ours")[number % 4]
        mark = _mark_sent if name == "ours" else orm_mark_sent
        began = time.process_time()
        for row in rows[start : start + 100]:
            mark(row, f"<{row.pk}@bench>")
        cpu[name].append((time.process_time() - began) / 100 * 1e6)
    return {name: statistics.median(values) for name, values in cpu.items()} | {"blocks": number + 1}


def child_django(messages):
    """Django's own path: each message an EmailMultiAlternatives, sent over one SMTP connection."""
    from django.core.mail import get_connection

    from watchdesk.delivery.messages import PostFrame
    from watchdesk.posts.models import StoryPost
    from watchdesk.subscriptions.models import Subscriber

    frame = PostFrame(StoryPost.objects.get(slug="levee-breach"))
    readers = list(Subscriber.objects.order_by("pk")[: int(messages)])
    began = time.perf_counter()
    built = [frame.for_subscriber(reader).as_django().message().as_bytes() for reader in readers[:500]]
    build = (time.perf_counter() - began) / len(built)
    with get_connection() as connection:
        began = time.perf_counter()
        sent = sum(connection.send_messages([frame.for_subscriber(reader).as_django()]) for reader in readers)
        ended = time.perf_counter()
    return {"messages": sent, "seconds": ended - began, "build_ms": build * 1000}


def child_profile(_):
    """Send the ledger with timers around each step; wall time per message in each."""
    from collections import defaultdict

    from django.db import connection

    from watchdesk.delivery import messages, sender, transport

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

    dialogue = "the SMTP dialogue (MAIL, RCPT, DATA, the message)"
    patches = [
        (sender, "claim", "claim: lease UPDATE and SELECT of the batch"),
        (sender, "_eligible", "_eligible: still wanted?"),
        (sender.Composer, "__call__", "Composer: the reader's copy, links filled in"),
        (messages.Outgoing, "as_bytes", "Outgoing.as_bytes: MIME bytes"),
        (smtplib.SMTP, "sendmail", dialogue),
        (transport, "pipelined_sendmail", dialogue),
        (sender, "_mark_sent", "_mark_sent: the row's UPDATE (autocommit)"),
    ]
    for owner, name, label in patches:
        if hasattr(owner, name):
            setattr(owner, name, timed(label, getattr(owner, name)))
    with connection.execute_wrapper(timed_sql):
        began = time.perf_counter()
        outcome = sender.send_pending()
        whole = time.perf_counter() - began
    labels = list(dict.fromkeys(label for owner, name, label in patches if hasattr(owner, name)))
    rows = [(label, totals[label]) for label in labels]
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


def run_child(phase, database, *, argument="-", email_port=1, wait=True):
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
        raise RuntimeError(f"{' '.join(process.args[2:6])} failed ({process.returncode}):\n{output[-2000:]}")
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
def sink(directory=None):
    """smtp-sink on a free loopback port, logging into ``directory`` (default bench/out/mail); yields
    (process, port, a function returning messages received)."""
    port, log = free_port(), (directory or OUT) / "smtp-sink.log"
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


@contextmanager
def delayed(port, seconds):
    """A TCP proxy to 127.0.0.1:``port`` that holds every chunk ``seconds`` in each direction, in order, as
    a network between the sender and its mail server would. Yields the proxy's port."""
    loop = asyncio.new_event_loop()

    async def pipe(reader, writer):
        queue = asyncio.Queue()

        async def forward():
            while (item := await queue.get()) is not None:
                await asyncio.sleep(max(0.0, item[0] - loop.time()))
                writer.write(item[1])
            writer.close()

        task = asyncio.create_task(forward())
        try:
            while data := await reader.read(65536):
                queue.put_nowait((loop.time() + seconds, data))
        except OSError:
            pass
        queue.put_nowait(None)
        await task

    async def connected(client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

    proxy = loop.run_until_complete(asyncio.start_server(connected, "127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield proxy.sockets[0].getsockname()[1]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        proxy.close()


def round_trip_ms(port, probes=50):
    """Median time of an SMTP NOOP's round trip to ``port``."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        times = []
        for _ in range(probes):
            began = time.perf_counter()
            smtp.noop()
            times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def expect_received(received, count):
    wait_until(lambda: received() >= count, f"smtp-sink to count {count:,} messages", timeout=30)
    if received() != count:
        raise RuntimeError(f"smtp-sink counted {received():,} messages, expected {count:,}")


def smtp_source(port, connections, messages, size, received):
    before, began = received(), time.perf_counter()
    subprocess.run(
        [tool("smtp-source"), "-d", "-s", str(connections), "-m", str(messages), "-l", str(size)]
        + ["-f", "noreply@watchdesk.example.org", "-t", "reader@example.net", f"127.0.0.1:{port}"],
        check=True,
        timeout=600,
    )
    seconds = time.perf_counter() - began
    expect_received(received, before + messages)
    return {"messages": messages, "seconds": seconds}


def sending(database, processes, port, received, subscribers, variant="-"):
    """Send one ledger with ``processes`` processes at once; timed from the first start to the last end
    (Django's start-up left out). The ledger and the sink's count must then both say N."""
    before = received()
    started = [
        run_child("send", database, argument=variant, email_port=port, wait=False) for _ in range(processes)
    ]
    try:
        results = [finish(process) for process in started]
    finally:
        for process in started:
            stop(process)
    rows = ledger(database)
    if rows != {"sent": subscribers}:
        raise RuntimeError(f"after sending, the ledger is {rows}, expected {subscribers:,} sent")
    expect_received(received, before + subscribers)
    return {
        "messages": subscribers,
        "seconds": max(r["ended"] for r in results) - min(r["began"] for r in results),
        "rss_start": max(r["rss_start"] for r in results),
        "rss_peak": max(r["rss_peak"] for r in results),
    }


def one_round(number, size, filled, port, received, configs, message_bytes):
    """Fan out afresh, then every configuration once, starting at a different one each round."""
    ledger_file, run_file = OUT / f"ledger-{size}.sqlite3", OUT / "run.sqlite3"
    copy_database(filled, ledger_file)
    results = {"fanout": run_child("fanout", ledger_file)}
    if results["fanout"]["recipients"] != size:
        raise RuntimeError(f"fan-out wrote {results['fanout']['recipients']:,} rows, expected {size:,}")
    shift = number % len(configs)
    for name in configs[shift:] + configs[:shift]:
        if name in REFERENCES:
            connections = int(name.removeprefix("source"))
            results[name] = smtp_source(port, connections, size, message_bytes, received)
        elif name == "django":
            messages = min(size, DJANGO_MESSAGES)
            before = received()
            results[name] = run_child("django", filled, argument=messages, email_port=port)
            expect_received(received, before + messages)
        else:
            copy_database(ledger_file, run_file)
            processes, variant = (2, "-") if name == "two" else (1, "-" if name == "one" else name)
            results[name] = sending(run_file, processes, port, received, size, variant)
    return results


def measure(sizes, rounds, latency_ms, profile):
    template = OUT / "template.sqlite3"
    print("Migrating a template database ...", flush=True)
    run_child("migrate", template)
    runs, spots = {}, None
    with sink() as (process, port, received):
        for size in sizes:
            filled = OUT / f"filled-{size}.sqlite3"
            copy_database(template, filled)
            message_bytes = run_child("fill", filled, argument=size)["message_bytes"]
            configs = [*REFERENCES, *OURS, *VARIANTS] + ["django"] * (size == sizes[-1])
            runs[size] = []
            with neighbours(f"{size:,} subscribers", process.pid):
                for number in range(rounds):
                    runs[size].append(one_round(number, size, filled, port, received, configs, message_bytes))
                    print(
                        f"  {size:,} subscribers, round {number + 1}: " + summary(runs[size][-1]), flush=True
                    )
        marks = run_child("marks", OUT / f"ledger-{sizes[-1]}.sqlite3")
        latency = None
        if latency_ms:
            filled = OUT / f"filled-{LATENCY_MESSAGES}.sqlite3"
            copy_database(template, filled)
            run_child("fill", filled, argument=LATENCY_MESSAGES)
            with (
                delayed(port, latency_ms / 1000) as proxy,
                neighbours(f"{latency_ms:g} ms away", process.pid),
            ):
                latency = {"rtt_ms": round_trip_ms(proxy), "direct_rtt_ms": round_trip_ms(port), "rounds": []}
                for number in range(rounds):
                    latency["rounds"].append(
                        one_round(number, LATENCY_MESSAGES, filled, proxy, received, ["one", "plain-smtp"], 0)
                    )
                    print(f"  {latency_ms:g} ms away, round {number + 1}: " + summary(latency["rounds"][-1]))
        largest = runs[sizes[-1]]
        best = max(median_ratio(largest, name) for name in OURS)
        if profile or best < TARGET:
            first = OUT / f"ledger-{sizes[0]}.sqlite3"
            copy_database(OUT / f"filled-{sizes[0]}.sqlite3", first)
            run_child("fanout", first)
            spots = run_child("profile", first, email_port=port)
    return runs, marks, latency, message_bytes, spots


def rate(result):
    return result["messages"] / result["seconds"]


def reference(round_):
    return max(rate(round_[name]) for name in REFERENCES)


def median_ratio(rounds, name):
    """The median over rounds of ``name``'s rate over the faster smtp-source of the same round."""
    return statistics.median(rate(r[name]) / reference(r) for r in rounds)


def summary(round_):
    names = [name for name in round_ if name != "fanout"]
    return f"fan-out {round_['fanout']['seconds']:.1f} s; " + ", ".join(
        f"{name} {rate(round_[name]):,.0f}/s" for name in names
    )


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


def listed(values, form):
    return ", ".join(form.format(value) for value in values)


def ab_rows(rounds, names, size):
    """One row per variant: the paired ratio of its time over ours and the seconds it adds."""
    lines = []
    for name in names:
        slower = [r[name]["seconds"] / r["one"]["seconds"] for r in rounds]
        added = [(r[name]["seconds"] - r["one"]["seconds"]) / size for r in rounds]
        per = statistics.median(added)
        lines.append(
            f"| {VARIANTS[name]} | {statistics.median(slower) - 1:+.0%} ({listed(slower, '{:.2f}')}) "
            f"| {per * 1e6:+.0f} | {per * 10_000:+.1f} | {per * 100_000:+.0f} |"
        )
    return lines


def report(sizes, rounds, runs, marks, latency, latency_ms, message_bytes, spots):
    largest = sizes[-1]
    shares = {name: median_ratio(runs[largest], name) for name in OURS}
    verdict = "PASS" if max(shares.values()) >= TARGET else "FAIL"
    command = " ".join([".venv/bin/python bench/mail.py", *sys.argv[1:]])
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{command}`\n\n{versions()}",
        "- Shared machine, share of the CPUs that other sessions' processes used: "
        + ", ".join(f"{share:.0%} during {phase}" for phase, share in NEIGHBOURS.items()),
        f"- One post, {message_bytes:,} bytes a copy (text and HTML, base64), to every subscriber; a SQLite "
        "file; `DEBUG=false`, `EMAIL_BATCH_SIZE=200`, no rate limit.",
        f"- {rounds} rounds per size; in each, every configuration ran once, in an order rotating from round "
        "to round. Figures are medians of the runs; each ratio is the median of the rounds' ratios to the "
        "faster smtp-source run of the same round.",
    ]
    for size in sizes:
        rows = runs[size]
        lines += [
            f"\n**{size:,} subscribers** (smtp-source sends as many messages of the same size)\n",
            "| into smtp-sink on 127.0.0.1 | messages/s | runs | of reference | seconds | peak RSS MB "
            "(at start) |",
            "|---|---:|---|---:|---:|---|",
        ]
        for name, label in (REFERENCES | OURS | VARIANTS | {"django": DJANGO}).items():
            if name not in rows[0]:
                continue
            rates = [rate(r[name]) for r in rows]
            seconds = statistics.median(r[name]["seconds"] for r in rows)
            memory = ""
            if "rss_peak" in rows[0][name]:
                memory = f"{max(r[name]['rss_peak'] for r in rows):.0f} ({rows[0][name]['rss_start']:.0f})"
            if name == "django":
                label += f", {rows[0][name]['messages']:,} messages"
            lines.append(
                f"| {label} | {statistics.median(rates):,.0f} | {listed(rates, '{:,.0f}')} "
                f"| {median_ratio(rows, name):.0%} | {seconds:.2f} | {memory} |"
            )
    lines.append(
        f"\n**Target: at least {TARGET:.0%} of the reference with {largest:,} subscribers: {verdict}** "
        f"({listed(shares.values(), '{:.0%}')} with one and two processes; the better counts)."
    )
    rows = runs[largest]
    if "django" in rows[0]:
        build = statistics.median(r["django"]["build_ms"] for r in rows)
        lines.append(
            f"\nDjango alone builds one `EmailMultiAlternatives` (`message().as_bytes()`) in {build:.2f} ms."
        )
    header = (
        "| in place of ours | time against ours (each round) | µs/message | seconds per 10,000 "
        "| seconds per 100,000 |\n|---|---:|---:|---:|---:|"
    )
    lines += [
        f"\nA/B, one process, {largest:,} subscribers, into smtp-sink on 127.0.0.1 (positive: the plain way "
        "is slower):\n",
        header,
        *ab_rows(rows, VARIANTS, largest),
        f"\nMarking a row sent, CPU time alone (one process, {marks['blocks']} alternating blocks of 100 "
        f"rows): ours {marks['ours']:.0f} µs, the ORM's `update()` {marks['orm']:.0f} µs a row.",
    ]
    if latency:
        lines += [
            f"\nA/B through a proxy holding each packet {latency_ms:g} ms each way (an SMTP round trip "
            f"{latency['rtt_ms']:.2f} ms there, {latency['direct_rtt_ms']:.2f} ms direct), "
            f"{LATENCY_MESSAGES:,} subscribers, one process:\n",
            header,
            *ab_rows(latency["rounds"], ["plain-smtp"], LATENCY_MESSAGES),
            f"\n(Ours {statistics.median(rate(r['one']) for r in latency['rounds']):,.0f} messages/s there.)",
        ]
    lines += [
        "\n| fan-out (`fan_out_broadcast`, its own process) | seconds | rows/s | runs (s) | peak RSS MB "
        "(at start) |",
        "|---|---:|---:|---|---|",
    ]
    for size in sizes:
        fans = [r["fanout"] for r in runs[size]]
        seconds = statistics.median(f["seconds"] for f in fans)
        lines.append(
            f"| {size:,} subscribers | {seconds:.2f} | {size / seconds:,.0f} | "
            f"{listed([f['seconds'] for f in fans], '{:.2f}')} | {max(f['rss_peak'] for f in fans):.0f} "
            f"({fans[0]['rss_start']:.0f}) |"
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
    return section


def interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000, help="the largest size (default 10,000)")
    parser.add_argument(
        "--sizes", default=",".join(map(str, SIZES)), help="smaller sizes to run first (default %(default)s)"
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="runs of each configuration (default 3)")
    parser.add_argument(
        "--latency-ms", type=float, default=LATENCY_MS, help="one-way delay of the proxy A/B (0: skip it)"
    )
    parser.add_argument("--profile", action="store_true", help="profile the sender even when it passes")
    parser.add_argument("--no-write", action="store_true", help="print the results, leave RESULTS.md alone")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--argument", default="-", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.argument)
    missing = [name for name in POSTFIX if not tool(name)]
    if missing:
        sys.exit(
            f"{' and '.join(missing)} not found: install Postfix's test tools with "
            "`DEBIAN_FRONTEND=noninteractive apt-get install -y postfix`."
        )
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip() and int(s) < args.subscribers})
    sizes.append(args.subscribers)
    signal.signal(signal.SIGTERM, interrupt)
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "var").mkdir(parents=True)
    runs, marks, latency, message_bytes, spots = measure(sizes, args.rounds, args.latency_ms, args.profile)
    section = report(sizes, args.rounds, runs, marks, latency, args.latency_ms, message_bytes, spots)
    if not args.no_write:
        write_section(
            START,
            END,
            section,
            new_heading="\n# Mail benchmark\n\nWritten by `bench/mail.py` (each run replaces it).\n\n",
        )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("Interrupted; everything this run started has been stopped.")
