"""Watchdesk page-speed benchmark: uncached render time, SQL per request, throughput against nginx.

Run ``.venv/bin/python bench/run.py [--refill] [--profile] [--no-throughput] [--rounds N]`` (or
``make bench``). The method and its caveats are in bench/README.md; the last results in bench/RESULTS.md
(its page section is rewritten by a run).

1. Data (bench/fill.py): a throwaway SQLite site in bench/out/var on the production settings path
   (DEBUG=false): 12 topics, the gazetteer's regions and 10,000 live StoryPosts, every 50th made with
   add_child + publish, the rest bulk-inserted with treebeard paths from Page._get_path; update_index,
   fixtree and checks that the newest post is served, listed and found. Reused; --refill rebuilds it.
2. Latency: the WSGI application called in process as gunicorn calls it, no page cache, the database
   connection kept between requests as in production: after a warm-up, 300 rounds in which each of 200
   post pages (in turn), the home page, a topic and a region listing, and a same-stack reference (the
   post's bytes from a one-line Django view through the same handler and middleware) is requested once;
   median, p99 and CPU per request, SQL queries per request (CaptureQueriesContext), and the post page's
   median as a multiple of the reference's.
3. Throughput: ``watchdesk serve`` (gunicorn, 2 workers) and nginx serving the same post bytes as a
   static file, both up, measured in turns (gunicorn, nginx, gunicorn, nginx, ...) with
   ``wrk -t2 -c16 -d10s --latency`` on 127.0.0.1; each figure the median of the same number of runs, the
   ratio the median of the paired runs' ratios.
4. Profile (bench/hotspots.py) when the post page misses the target or runs over 10 queries, or with
   --profile: wall time inside chosen functions and SQL time by statement.

The machine is shared: the CPU share other sessions' processes used during each phase is reported.
"""

import argparse
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import types
import urllib.request
from collections import defaultdict
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from wsgiref.util import setup_testing_defaults

BENCH = Path(__file__).resolve().parent
OUT, RESULTS = BENCH / "out", BENCH / "RESULTS.md"
VAR = OUT / "var"
START, END = "<!-- results:start -->", "<!-- results:end -->"
APP_PORT, NGINX_PORT = 8765, 8766
REQUESTS, WARMUP, DISTINCT_POSTS = 300, 30, 200
TARGET_MS, MANY_QUERIES = 25.0, 10
WRK = ["wrk", "-t2", "-c16", "-d10s", "--latency"]
ROUNDS, WORKERS = 5, 2  # wrk runs on each server; gunicorn sync workers (one per core)
REFERENCE = "reference: the post's bytes from a one-line Django view, same handler and middleware"
NEIGHBOURS = {}  # phase: share of the CPUs used by other sessions' processes meanwhile


def production_env(var_dir, **overrides):
    """The environment every benchmark runs Watchdesk in: production settings (DEBUG off), its own
    var/ directory, quiet logs; ``overrides`` adds or replaces variables."""
    return {
        "WATCHDESK_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "watchdesk.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": "https://watchdesk.example.org",
        "LOG_LEVEL": "WARNING",
        **overrides,
    }


def write_section(start, end, section, *, new_file="", new_heading=""):
    """Replace what RESULTS.md holds between the ``start`` and ``end`` markers with ``section``.

    Without the markers, ``new_heading`` and the markers are appended first (``new_file`` is the text of
    a RESULTS.md that does not exist yet)."""
    old = RESULTS.read_text() if RESULTS.exists() else new_file
    if start not in old:
        old += f"{new_heading}{start}\n{end}\n"
    head, _, rest = old.partition(start)
    RESULTS.write_text(f"{head}{start}\n{section}\n{end}{rest.partition(end)[2]}")


ENV = production_env(VAR, SITE_URL=f"http://127.0.0.1:{APP_PORT}", EMAIL_URL="smtp://127.0.0.1:1")


def configure():
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.update(ENV)
    sys.path.insert(0, str(BENCH.parent))
    import django

    django.setup()


# In-process latency -------------------------------------------------------------------------------
def call(app, path, headers=None):
    """One GET through the WSGI application, as gunicorn makes it; returns (status, body) and puts the
    response's headers in the ``headers`` list if one is given."""
    environ = {"PATH_INFO": path, "HTTP_HOST": f"127.0.0.1:{APP_PORT}", "SERVER_PORT": str(APP_PORT)}
    setup_testing_defaults(environ)
    status, headers = [], [] if headers is None else headers
    result = app(environ, lambda s, h, exc_info=None: (status.append(s), headers.extend(h)))
    try:
        body = b"".join(result)
    finally:
        result.close()  # sends request_finished, on which Django closes or keeps the connection
    return int(status[0][:3]), body


def cache_blockers(app, path):
    """What in an anonymous response stops a shared cache from serving it to everyone."""
    headers = []
    call(app, path, headers)
    found = [f"Set-Cookie ({v.split('=')[0].strip()})" for k, v in headers if k.lower() == "set-cookie"]
    found += [f"{k}: {v}" for k, v in headers if k.lower() == "vary" and "cookie" in v.lower()]
    found += [f"{k}: {v}" for k, v in headers if k.lower() == "cache-control" and "private" in v.lower()]
    return found


def timings(kinds):
    """``kinds`` is {name: (app, paths)}. After a warm-up, each round requests every kind once, in turn, so
    all see the machine in the same state; returns {name: (median ms, p99 ms, median CPU ms)}."""
    for app, paths in kinds.values():
        for i in range(WARMUP):
            call(app, paths[i % len(paths)])
    wall, cpu = defaultdict(list), defaultdict(list)
    for i in range(REQUESTS):
        for name, (app, paths) in kinds.items():
            began, began_cpu = time.perf_counter(), time.process_time()
            status, _ = call(app, paths[i % len(paths)])
            wall[name].append((time.perf_counter() - began) * 1000)
            cpu[name].append((time.process_time() - began_cpu) * 1000)
            assert status == 200, f"{paths[i % len(paths)]} answered {status}"
    p99 = {name: statistics.quantiles(wall[name], n=100)[98] for name in kinds}
    return {name: (statistics.median(wall[name]), p99[name], statistics.median(cpu[name])) for name in kinds}


def reference_app(body):
    """The site's WSGI handler and middleware with a URLconf of one view that returns ``body``: what
    Django alone costs to answer with the post's bytes, measured beside the pages."""
    from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
    from django.http import HttpResponse
    from django.urls import path

    urls = types.ModuleType("bench_reference_urls")
    urls.urlpatterns = [path("reference/", lambda request: HttpResponse(body))]

    class Request(WSGIRequest):
        urlconf = urls  # Django resolves a request that carries a urlconf with it, not ROOT_URLCONF

    class Handler(WSGIHandler):
        request_class = Request

    return Handler()


def query_counts(app, paths):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    counts = []
    for path in paths[:20]:
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            call(app, path)
        counts.append(len(ctx.captured_queries))
    return f"{min(counts)}-{max(counts)}" if min(counts) < max(counts) else str(max(counts))


def targets():
    from watchdesk.posts.models import HomePage, StoryPost

    root = HomePage.objects.get().url_path
    urls = StoryPost.objects.live().order_by("pk").values_list("url_path", flat=True)
    posts = ["/" + u.removeprefix(root) for u in random.Random(7).sample(list(urls), DISTINCT_POSTS)]
    return {
        f"post page ({DISTINCT_POSTS} different posts)": posts,
        "home page /": ["/"],
        "topic listing /topics/wildfire/": ["/topics/wildfire/"],
        "region listing /regions/california/ (state, with its counties and cities)": ["/regions/california/"],
    }


# Throughput ---------------------------------------------------------------------------------------
def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(check, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def send(pids, sig):
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, sig)


@contextmanager
def server(command, pidfile, port, log, env=None):
    """Start a server in its own session; stop it by the pid it wrote, then the process we started."""
    if port_open(port):
        raise RuntimeError(f"127.0.0.1:{port} is already in use; stop whatever listens there first")
    pidfile.unlink(missing_ok=True)
    with open(log, "wb") as out:  # the last run's log only
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        wait_until(lambda: port_open(port) or proc.poll() is not None, f"port {port}")
        if proc.poll() is not None:
            raise RuntimeError(f"{command[0]} exited with {proc.returncode}; see {log}")
        yield proc
    finally:
        pids = [int(pidfile.read_text()), proc.pid] if pidfile.exists() else [proc.pid]
        send(pids, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            send(pids, signal.SIGKILL)
            proc.wait(5)
        wait_until(lambda: not port_open(port), f"port {port} to close", timeout=15)


def gunicorn():
    pidfile = OUT / "gunicorn.pid"
    command = [str(Path(sys.executable).with_name("watchdesk")), "serve", "--pid", str(pidfile)]
    command += ["--control-socket", str(OUT / "gunicorn.ctl")]  # not the shared ~/.gunicorn one
    env = os.environ | {"BIND": f"127.0.0.1:{APP_PORT}", "WEB_CONCURRENCY": str(WORKERS)}
    return server(command, pidfile, APP_PORT, OUT / "gunicorn.log", env)


def nginx(path, body):
    root = OUT / "nginx"
    shutil.rmtree(root / "html", ignore_errors=True)
    (root / "access.log").unlink(missing_ok=True)
    (root / "html" / path.strip("/")).mkdir(parents=True)
    (root / "html" / path.strip("/") / "index.html").write_bytes(body)
    temp = "".join(
        f"  {k}_temp_path {root}/temp/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (root / "nginx.conf").write_text(
        f"worker_processes 2;\ndaemon off;\npid {root}/nginx.pid;\nerror_log {root}/error.log warn;\n"
        f"events {{ worker_connections 256; }}\nhttp {{\n  access_log {root}/access.log;\n{temp}"
        f"  default_type text/html;\n  server {{\n    listen 127.0.0.1:{NGINX_PORT};\n    root {root}/html;\n"
        "    location / { try_files $uri $uri/index.html =404; }\n  }\n}\n"
    )
    (root / "temp").mkdir(exist_ok=True)
    command = ["nginx", "-c", str(root / "nginx.conf"), "-p", str(root), "-e", str(root / "error.log")]
    return server(command, root / "nginx.pid", NGINX_PORT, root / "stdout.log")


def fetch(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  our own loopback server
        return response.read()


def wrk_once(url):
    text = subprocess.run([*WRK, url], check=True, capture_output=True, text=True).stdout
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
    percentiles = re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)  # "1.02s " has a space
    ms = {p: float(v) * unit[u] for p, v, u in percentiles}
    errors = re.findall(r"^\s+(Non-2xx or 3xx responses: \d+|Socket errors: .*)$", text, re.M)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    return {"rps": rps, "p50": ms["50"], "p99": ms["99"], "errors": "; ".join(errors) or "none"}


def throughput(path, rounds):
    """gunicorn and nginx serving the same bytes, both up, measured in turns after a 2 s warm-up each;
    returns ([(gunicorn run, nginx run) per round], the page's size)."""
    app_url, static_url = f"http://127.0.0.1:{APP_PORT}{path}", f"http://127.0.0.1:{NGINX_PORT}{path}"
    with gunicorn() as app_proc:
        body = fetch(app_url, timeout=120)  # the workers import Django first: slow on a busy machine
        with nginx(path, body) as static_proc:
            assert fetch(static_url) == body
            for url in (app_url, static_url):
                subprocess.run([*WRK[:3], "-d2s", url], check=True, capture_output=True)
            pairs = []
            for round_ in range(1, rounds + 1):
                pair = []
                for phase, url in (("wrk on gunicorn", app_url), ("wrk on nginx", static_url)):
                    with neighbours(phase, app_proc.pid, static_proc.pid) as meanwhile:
                        result = wrk_once(url)
                    pair.append(result | {"neighbours": meanwhile["share"]})
                pairs.append(tuple(pair))
                print(
                    f"  turn {round_}: gunicorn {pair[0]['rps']:.0f} requests/s, nginx {pair[1]['rps']:.0f}; "
                    f"others used {pair[0]['neighbours']:.0%} and {pair[1]['neighbours']:.0%} of the CPUs",
                    flush=True,
                )
    return pairs, len(body)


def cpu_seconds(sessions):
    """(CPU seconds the machine has spent running processes, CPU seconds of the processes in ``sessions``
    and of the children they waited for)."""
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system = map(int, Path("/proc/stat").read_text().split(maxsplit=4)[1:4])
    ours = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) in sessions:
                ours += sum(map(int, fields[11:15]))
    return (user + nice + system) / tick, ours / tick


NEIGHBOUR_TOTALS = defaultdict(lambda: [0.0, 0.0])  # phase: [CPU seconds used by others, CPU seconds]


@contextmanager
def neighbours(phase, *sessions):
    """Record in NEIGHBOURS the share of the machine's CPU that other processes used during a phase (over
    all its entries when a phase is entered more than once); yields a dict whose "share" is this entry's.

    Others' use is the machine's busy time less this run's sessions': counting other processes one by one
    missed those that ended meanwhile (a finished test run is reaped by a process outside every session)."""
    ours = {os.getsid(0), *sessions}
    (busy, mine), began, this = cpu_seconds(ours), time.monotonic(), {}
    yield this
    busy_after, mine_after = cpu_seconds(ours)
    used = max(busy_after - busy - (mine_after - mine), 0.0)
    available = (time.monotonic() - began) * os.cpu_count()
    total = NEIGHBOUR_TOTALS[phase]
    total[0], total[1] = total[0] + used, total[1] + available
    this["share"], NEIGHBOURS[phase] = used / available, total[0] / total[1]


# Report -------------------------------------------------------------------------------------------
def versions():
    import django
    import gunicorn as gunicorn_package
    import wagtail

    nginx_v = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1]
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1]
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    return (
        f"- Machine: nproc {os.cpu_count()}, {cpu.group(1) if cpu else platform.processor()}, "
        f"{platform.system()} {platform.release()}\n- Versions: Python {platform.python_version()}, Django "
        f"{django.get_version()}, Wagtail {wagtail.__version__}, gunicorn {gunicorn_package.__version__}, "
        f"SQLite {sqlite3.sqlite_version}, nginx {nginx_v}, wrk {wrk_v}"
    )


def report(fill_record, latency, tput, spots, top_sql, blockers):
    median, _, cpu, _ = next(iter(latency.values()))
    reference, _, reference_cpu, _ = latency[REFERENCE]
    verdict = "PASS" if median < TARGET_MS else "FAIL"
    steps = ", ".join(f"{k} {v} s" for k, v in fill_record["steps"].items())
    command = " ".join([".venv/bin/python bench/run.py", *sys.argv[1:]])
    posts, reused = f"{fill_record['posts']:,}", " (reused by this run)" * fill_record["reused"]
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{command}`\n\n{versions()}",
        "- Shared machine, share of the CPUs that other sessions' processes used: "
        + ", ".join(f"{share:.0%} during {phase}" for phase, share in NEIGHBOURS.items()),
        f"- Data: {posts} live posts, filled in {fill_record['seconds']} s on {fill_record['date']}{reused}: "
        f"{steps}.\n  {fill_record['check']}.",
        "- The post page's anonymous response carries "
        + (
            f"{' and '.join(blockers)}: a shared cache in front would not serve it to everyone as it is.\n"
            if blockers
            else "no cookie and no `Vary: Cookie`: a shared cache in front can serve it to everyone.\n"
        ),
        "| uncached, in process (WSGI call) | median ms | p99 ms | CPU ms (median) | SQL queries |",
        "|---|---:|---:|---:|---:|",
        *(f"| {name} | {m:.2f} | {p:.1f} | {c:.2f} | {q} |" for name, (m, p, c, q) in latency.items()),
        f"\n**Target: uncached post page under {TARGET_MS:.0f} ms median with {posts} posts: {verdict}** "
        f"({median:.1f} ms). That is wall time on a shared machine, where others used "
        f"{NEIGHBOURS['the in-process runs']:.0%} of the CPUs meanwhile, and the post page's CPU time was "
        f"{cpu / median:.0%} of its wall time. In the same rounds the reference answered in {reference:.2f} "
        f"ms ({reference_cpu:.2f} ms of CPU): the post page takes **{median / reference:.1f}x** the time and "
        f"**{cpu / reference_cpu:.1f}x** the CPU Django takes to answer with the same bytes through the same "
        "handler and middleware.",
    ]
    if tput:
        pairs, size = tput
        ratios = [app["rps"] / static["rps"] for app, static in pairs]

        def row(label, i):
            runs = [pair[i] for pair in pairs]
            rps = sorted(run["rps"] for run in runs)
            errors = "; ".join(sorted({run["errors"] for run in runs}))
            p50, p99 = (statistics.median(run[key] for run in runs) for key in ("p50", "p99"))
            middle = f"{statistics.median(rps):.0f} | {rps[0]:.0f}-{rps[-1]:.0f}"
            return f"| {label} | {middle} | {p50:.2f} | {p99:.2f} | {errors} |"

        app_rps = statistics.median(app["rps"] for app, _ in pairs)
        ceiling = WORKERS * 1000 / cpu
        lines += [
            f"\n| `{' '.join(WRK)}`, one post ({size:,} bytes), {len(pairs)} runs each in turns "
            "| requests/s | range | p50 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|---|",
            row(f"Watchdesk: `watchdesk serve` (gunicorn, {WORKERS} sync workers)", 0),
            row("nginx, the same bytes as a static file (2 workers)", 1),
            f"| **Watchdesk / nginx**, the paired runs' ratios | **{statistics.median(ratios):.2%}** "
            f"| {min(ratios):.2%}-{max(ratios):.2%} | | | |",
            "\nEach figure is the median of its runs; the ratio is the median of the turns' ratios.\n",
            "| turn | gunicorn requests/s | nginx requests/s | ratio | others' CPU share, gunicorn / nginx |",
            "|---:|---:|---:|---:|---:|",
            *(
                f"| {i} | {app['rps']:.0f} | {static['rps']:.0f} | {ratio:.2%} | "
                f"{app['neighbours']:.0%} / {static['neighbours']:.0%} |"
                for i, ((app, static), ratio) in enumerate(zip(pairs, ratios, strict=True), 1)
            ),
            f"\nA post costs {cpu:.1f} ms of CPU in process (median), so {WORKERS} sync workers with a "
            f"core each could serve at most {WORKERS} x 1000 / {cpu:.1f} = {ceiling:.0f} requests/s; "
            f"gunicorn served {app_rps:.0f} ({app_rps / ceiling:.0%} of that), wrk running on the same "
            f"{os.cpu_count()} cores.",
        ]
    if spots:
        lines += ["\nPost page, where the time goes (100 requests, wall time inside each function):\n"]
        lines += ["| function | ms/request | share |", "|---|---:|---:|"]
        lines += [f"| {label} | {ms:.2f} | {pct:.0f}% |" for label, ms, pct in spots]
        lines += [
            "\nPost page SQL by statement, per request:\n\n| queries | ms | statement |\n|---:|---:|---|"
        ]
        lines += [f"| {n:.1f} | {ms:.2f} | `{' '.join(s.split())}` |" for n, ms, s in top_sql]
    section = "\n".join(lines)
    print(f"\n{section}\n")
    write_section(START, END, section, new_file="# Benchmark results\n\n")


def interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--refill", action="store_true", help="rebuild the 10,000-post database")
    parser.add_argument("--profile", action="store_true", help="profile the post page even if it passes")
    parser.add_argument("--no-throughput", action="store_true", help="skip gunicorn, nginx and wrk")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="wrk runs on each server, in turns")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    VAR.mkdir(parents=True, exist_ok=True)
    configure()
    print("Data:", flush=True)
    from django.core.wsgi import get_wsgi_application
    from fill import fill  # these need Django configured
    from hotspots import profile

    app = get_wsgi_application()
    record = fill(VAR, args.refill, lambda path: call(app, path))
    print(f"  {record['posts']:,} posts, filled in {record['seconds']} s{' (reused)' * record['reused']}")
    urls = targets()
    post_paths = next(iter(urls.values()))
    kinds = {name: (app, paths) for name, paths in urls.items()}
    kinds[REFERENCE] = (reference_app(call(app, post_paths[0])[1]), ["/reference/"])
    print(f"In process, {REQUESTS} rounds of {len(kinds)} kinds of request:", flush=True)
    with neighbours("the in-process runs"):
        times = timings(kinds)
        latency = {name: (*times[name], query_counts(*kinds[name])) for name in kinds}
    for name, figures in latency.items():
        print("  {}: median {:.2f} ms, p99 {:.1f} ms, CPU {:.2f} ms, {} queries".format(name, *figures))
    if not args.no_throughput:
        print(f"Throughput, {args.rounds} turns of wrk on gunicorn then nginx:", flush=True)
    tput = None if args.no_throughput else throughput(post_paths[0], args.rounds)
    median, _, _, queries = next(iter(latency.values()))
    slow = args.profile or median >= TARGET_MS or int(queries.split("-")[-1]) > MANY_QUERIES
    with neighbours("the profile"):
        spots = profile(lambda path: call(app, path), post_paths, OUT) if slow else ([], [])
    report(record, latency, tput, *spots, cache_blockers(app, post_paths[0]))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("Interrupted; everything this run started has been stopped.")
