"""Watchdesk page-speed benchmark: uncached render time, SQL per request, throughput against nginx.

Run ``.venv/bin/python bench/run.py [--refill] [--profile] [--no-throughput]`` (or ``make bench``). The
method and its caveats are in bench/README.md; the last results in bench/RESULTS.md (rewritten by a run).

1. Data (bench/fill.py): a throwaway SQLite site in bench/out/var on the production settings path
   (DEBUG=false): 12 topics, the gazetteer's regions and 10,000 live StoryPosts, every 50th made with
   add_child + publish, the rest bulk-inserted with treebeard paths from Page._get_path; update_index,
   fixtree and checks that the newest post is served, listed and found. Reused; --refill rebuilds it.
2. Latency: the WSGI application called in process as gunicorn calls it, no page cache: after a
   warm-up, 300 requests each to 200 post pages, the home page, a topic and a region listing; median,
   p99 and SQL queries per request (CaptureQueriesContext).
3. Throughput: ``watchdesk serve`` (gunicorn, 2 workers) and nginx serving the same post bytes as a
   static file, each under ``wrk -t2 -c16 -d10s --latency`` (median of 3) on 127.0.0.1.
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
import urllib.request
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
def call(app, path):
    """One GET through the WSGI application, as gunicorn makes it; returns (status, body)."""
    environ = {"PATH_INFO": path, "HTTP_HOST": f"127.0.0.1:{APP_PORT}", "SERVER_PORT": str(APP_PORT)}
    setup_testing_defaults(environ)
    status = []
    result = app(environ, lambda s, headers, exc_info=None: status.append(s))
    try:
        body = b"".join(result)
    finally:
        result.close()  # sends request_finished: the connection is closed, as under gunicorn
    return int(status[0][:3]), body


def timings(app, paths):
    for path in paths[:WARMUP]:
        call(app, path)
    wall, cpu = [], []
    for i in range(REQUESTS):
        began, began_cpu = time.perf_counter(), time.process_time()
        status, _ = call(app, paths[i % len(paths)])
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
        assert status == 200, f"{paths[i % len(paths)]} answered {status}"
    return statistics.median(wall), statistics.quantiles(wall, n=100)[98], statistics.median(cpu)


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
    env = os.environ | {"BIND": f"127.0.0.1:{APP_PORT}", "WEB_CONCURRENCY": "2"}
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


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  our own loopback server
        return response.read()


def wrk(url, rounds=3):
    """The round with the median requests/s of ``rounds``, after a 2 s warm-up."""
    subprocess.run([*WRK[:3], "-d2s", url], check=True, capture_output=True)
    results = sorted((wrk_once(url) for _ in range(rounds)), key=lambda result: result["rps"])
    return results[rounds // 2] | {"range": f"{results[0]['rps']:.0f}-{results[-1]['rps']:.0f}"}


def wrk_once(url):
    text = subprocess.run([*WRK, url], check=True, capture_output=True, text=True).stdout
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    ms = {p: float(v) * unit[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", text, re.M)}
    errors = re.findall(r"^\s+(Non-2xx or 3xx responses: \d+|Socket errors: .*)$", text, re.M)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    return {"rps": rps, "p50": ms["50"], "p99": ms["99"], "errors": "; ".join(errors) or "none"}


def throughput(path):
    with gunicorn() as proc:
        body = fetch(f"http://127.0.0.1:{APP_PORT}{path}")
        with neighbours("wrk on gunicorn", proc.pid):
            app = wrk(f"http://127.0.0.1:{APP_PORT}{path}")
    with nginx(path, body) as proc:
        assert fetch(f"http://127.0.0.1:{NGINX_PORT}{path}") == body
        with neighbours("wrk on nginx", proc.pid):
            static = wrk(f"http://127.0.0.1:{NGINX_PORT}{path}")
    return app, static, len(body)


def cpu_by_process(exclude):
    """{pid: CPU seconds} of the processes outside the sessions in ``exclude`` (other people's work)."""
    seconds = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) not in exclude:
                seconds[stat.parent.name] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


@contextmanager
def neighbours(phase, *sessions):
    """Record in NEIGHBOURS the share of the machine's CPU that other processes used during a phase."""
    exclude = {0, os.getsid(0), *sessions}
    before, began = cpu_by_process(exclude), time.monotonic()
    yield
    after = cpu_by_process(exclude)
    used = sum(after[pid] - before.get(pid, 0) for pid in after)
    NEIGHBOURS[phase] = used / ((time.monotonic() - began) * os.cpu_count())


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


def report(fill_record, latency, tput, spots, top_sql):
    median = next(iter(latency.values()))[0]
    verdict = "PASS" if median < TARGET_MS else "FAIL"
    steps = ", ".join(f"{k} {v} s" for k, v in fill_record["steps"].items())
    command = " ".join([".venv/bin/python bench/run.py", *sys.argv[1:]])
    posts, reused = f"{fill_record['posts']:,}", " (reused by this run)" * fill_record["reused"]
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{command}`\n\n{versions()}",
        "- Shared machine, share of the CPUs that other sessions' processes used: "
        + ", ".join(f"{share:.0%} during {phase}" for phase, share in NEIGHBOURS.items()),
        f"- Data: {posts} live posts, filled in {fill_record['seconds']} s on {fill_record['date']}{reused}: "
        f"{steps}.\n  {fill_record['check']}.\n",
        "| uncached, in process (WSGI call) | median ms | p99 ms | CPU ms (median) | SQL queries |",
        "|---|---:|---:|---:|---:|",
        *(f"| {name} | {m:.1f} | {p:.1f} | {c:.1f} | {q} |" for name, (m, p, c, q) in latency.items()),
        f"\n**Target: uncached post page under {TARGET_MS:.0f} ms median with {posts} posts: {verdict}** "
        f"({median:.1f} ms).",
    ]
    if tput:
        app, static, size = tput
        row = "| {} | {rps:.0f} | {range} | {p50:.2f} | {p99:.2f} | {errors} |"
        lines += [
            f"\n| `{' '.join(WRK)}`, one post ({size:,} bytes), median of 3 runs | requests/s | range "
            "| p50 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|---|",
            row.format("Watchdesk: `watchdesk serve` (gunicorn, 2 sync workers)", **app),
            row.format("nginx, the same bytes as a static file (2 workers)", **static),
            f"| **Watchdesk / nginx** | **{app['rps'] / static['rps']:.2%}** | | | | |",
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
    urls, latency = targets(), {}
    with neighbours("the in-process runs"):
        for name, paths in urls.items():
            latency[name] = (*timings(app, paths), query_counts(app, paths))
            print(
                "  {}: median {:.1f} ms, p99 {:.1f} ms, CPU {:.1f} ms, {} queries".format(
                    name, *latency[name]
                )
            )
    post_paths = next(iter(urls.values()))
    tput = None if args.no_throughput else throughput(post_paths[0])
    median, _, _, queries = next(iter(latency.values()))
    slow = args.profile or median >= TARGET_MS or int(queries.split("-")[-1]) > MANY_QUERIES
    spots = profile(lambda path: call(app, path), post_paths, OUT) if slow else ([], [])
    report(record, latency, tput, *spots)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("Interrupted; everything this run started has been stopped.")
