"""Timing of the three address forms by the address's state: does the answer's time tell a stranger
whether an address is subscribed?

Run ``.venv/bin/python bench/timing.py [--requests 50] [--no-write]`` (or ``make bench-timing``). Method
and caveats: bench/README.md; results: the ``timing-results`` section of bench/RESULTS.md.

1. A throwaway SQLite site in a temporary directory, on production settings (DEBUG=false, a secret key,
   allowed hosts, an smtp:// EMAIL_URL as `.ci/run`'s deploy check sets them), migrated, static files
   collected, `setup_site`, and five addresses: new (never seen), pending, confirmed, unsubscribed and
   suppressed.
2. `watchdesk serve` (gunicorn, 2 sync workers) on 127.0.0.1; no task worker runs, so the states stay as
   they are for the whole run (the queued submissions are left in the queue).
3. A client that first gets the form page (its CSRF cookie and token), then for each of ``--requests``
   rounds, for each form (subscribe, resend, leave), POSTs the form once for every state, the states in
   an order rotating from round to round, each on a new connection as a browser without keep-alive
   would; the time is from connecting to the last byte of the 303 answer. Warm-up rounds first.
4. The report: median and p90 per state and form, and per form the spread of the medians (largest less
   smallest); every answer must be the same 303 to the same page.
"""

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import NEIGHBOURS, neighbours, production_env, server, write_section  # noqa: E402

START, END = "<!-- timing-results:start -->", "<!-- timing-results:end -->"
PORT, WORKERS, WARMUP = 8767, 2, 5
STATES = ["new", "pending", "confirmed", "unsubscribed", "suppressed"]
FORMS = {"subscribe": "/subscribe/", "resend": "/subscribe/resend/", "leave": "/subscribe/leave/"}


def address(state, n):
    # A new address is new every time; the others are the fixed addresses made in their state.
    return f"new{n}@example.net" if state == "new" else f"{state}@example.net"


def prepare(env):
    """Migrate the throwaway site and make one address in each state (in a child process, so that this
    one never touches its database)."""
    script = (
        "from watchdesk.posts.setup import setup_site\n"
        "from watchdesk.subscriptions.models import Subscriber, Suppression\n"
        "setup_site()\n"
        "Subscriber.objects.create(email='pending@example.net')\n"
        "Subscriber.objects.create(email='confirmed@example.net', status='confirmed')\n"
        "Subscriber.objects.create(email='unsubscribed@example.net', status='unsubscribed')\n"
        "Subscriber.objects.create(email='suppressed@example.net', status='confirmed')\n"
        "Suppression.add('suppressed@example.net', Suppression.Reason.HARD_BOUNCE)\n"
    )
    watchdesk = str(Path(sys.executable).with_name("watchdesk"))
    steps = (["migrate", "--verbosity", "0"], ["collectstatic", "--noinput", "--verbosity", "0"])
    for command in (*steps, ["shell", "-c", script]):
        subprocess.run([watchdesk, *command], env=env, check=True, capture_output=True)


class Browser:
    """One visitor: the CSRF cookie and token from the form page, then timed POSTs."""

    def __init__(self):
        status, headers, body = self.request("GET", "/subscribe/")
        assert status == 200, status
        self.cookie = re.search(r"csrftoken=([^;]+)", headers.get("Set-Cookie", "")).group(1)
        self.token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()

    @staticmethod
    def request(method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        try:
            connection.request(method, path, body, headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def post(self, path, email):
        body = urlencode({"csrfmiddlewaretoken": self.token, "email": email})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={self.cookie}",
            "Referer": f"http://127.0.0.1:{PORT}{path}",
        }
        began = time.perf_counter()
        status, answer, _ = self.request("POST", path, body, headers)
        elapsed = (time.perf_counter() - began) * 1000
        return elapsed, (status, answer.get("Location"))


def measure(requests):
    browser = Browser()
    times = defaultdict(list)  # (form, state): [ms]
    answers = defaultdict(set)  # form: {(status, location)}
    for n in range(-WARMUP, requests):
        for form, path in FORMS.items():
            shift = n % len(STATES)
            for state in STATES[shift:] + STATES[:shift]:
                elapsed, answer = browser.post(path, address(state, n))
                answers[form].add(answer)
                if n >= 0:
                    times[form, state].append(elapsed)
    return times, answers


def render(args, times, answers, others):
    import django

    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `.venv/bin/python bench/timing.py "
        f"--requests {args.requests}`",
        "",
        f"- Machine: nproc {os.cpu_count()}; Python {sys.version.split()[0]}, Django {django.get_version()}; "
        f"others' share of the CPUs during the run: {others:.0%}",
        f"- `watchdesk serve` (gunicorn, {WORKERS} sync workers) on 127.0.0.1, production settings, SQLite "
        f"in a temporary directory; {args.requests} timed POSTs per form and state (after {WARMUP} warm-up "
        "rounds), states interleaved in rotating order, a new connection each; no worker ran.",
        "",
        "| form | " + " | ".join(STATES) + " | spread of the medians |",
        "|---|" + "---:|" * (len(STATES) + 1),
    ]
    spreads = {}
    for form in FORMS:
        medians = {state: statistics.median(times[form, state]) for state in STATES}
        p90 = {state: statistics.quantiles(times[form, state], n=10)[8] for state in STATES}
        spreads[form] = max(medians.values()) - min(medians.values())
        cells = [f"{medians[state]:.2f} (p90 {p90[state]:.2f})" for state in STATES]
        lines.append(f"| `{FORMS[form]}` | " + " | ".join(cells) + f" | {spreads[form]:.2f} |")
    same = all(len(seen) == 1 for seen in answers.values())
    lines += [
        "",
        "Milliseconds, median (p90) per state, from connecting to the answer's last byte.",
        "",
        f"Largest spread of the medians between states: **{max(spreads.values()):.2f} ms** "
        f"(`{FORMS[max(spreads, key=spreads.get)]}`). Every answer the same 303 to the same page "
        f"per form: {'yes' if same else 'NO: ' + repr(dict(answers))}. Before this change (the issue's "
        "figures, same settings) `/subscribe/leave/` answered a confirmed address in 11.5 ms and a new one "
        "in 7.9 ms (median).",
    ]
    return "\n".join(lines), same


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--no-write", action="store_true", help="Do not rewrite bench/RESULTS.md.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="watchdesk-timing-") as var:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO_", "WATCHDESK_"))
        }
        env |= production_env(
            Path(var),
            SITE_URL=f"http://127.0.0.1:{PORT}",
            ALLOWED_HOSTS="127.0.0.1",
            EMAIL_URL="smtp://127.0.0.1:1",
            SUBSCRIBE_IP_LIMIT="1000000",
        )
        os.environ.update(env)  # for django.get_version() in the report only
        prepare(env)
        pidfile = Path(var) / "gunicorn.pid"
        command = [str(Path(sys.executable).with_name("watchdesk")), "serve", "--pid", str(pidfile)]
        command += ["--control-socket", str(Path(var) / "gunicorn.ctl")]
        env |= {"BIND": f"127.0.0.1:{PORT}", "WEB_CONCURRENCY": str(WORKERS)}
        with (
            server(command, pidfile, PORT, Path(var) / "gunicorn.log", env) as proc,
            neighbours("timing", proc.pid),
        ):
            times, answers = measure(args.requests)
    report, same = render(args, times, answers, NEIGHBOURS["timing"])
    print(report)
    if not args.no_write:
        write_section(START, END, report, new_heading="\n## Subscribe-form timing (`bench/timing.py`)\n\n")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
