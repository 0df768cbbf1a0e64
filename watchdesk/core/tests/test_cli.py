"""The `watchdesk` command, run as a user would: in its own process, against its own var/ folder."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import closing

import pytest

pytestmark = pytest.mark.slow


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(tmp_path, port, **extra):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "WATCHDESK_", "SITE_URL", "DEBUG"))
    }
    env.update(
        WATCHDESK_VAR_DIR=str(tmp_path),
        SITE_URL=f"http://127.0.0.1:{port}",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def wait_for(url, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, response.read()
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def port_is_closed(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def start(args, env):
    return subprocess.Popen(
        [sys.executable, "-m", "watchdesk.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process, sig=signal.SIGINT, timeout=30):
    process.send_signal(sig)
    output, _ = process.communicate(timeout=timeout)
    return output


def test_run_prepares_the_site_serves_it_and_stops_web_and_worker_on_ctrl_c(tmp_path):
    port = free_port()
    env = environment(tmp_path, port)
    process = start(["run", "--no-demo", "--no-reload", "--addr", f"127.0.0.1:{port}"], env)
    try:
        status, body = wait_for(f"http://127.0.0.1:{port}/healthz")
        assert status == 200
        assert json.loads(body)["status"] == "ok"
        status, body = wait_for(f"http://127.0.0.1:{port}/")
        assert b"Latest posts" in body
    finally:
        output = stop(process)

    assert process.returncode == 0, output
    assert f"Admin: http://127.0.0.1:{port}/admin/" in output
    assert "user name: admin" in output
    assert "password:" in output and "shown once" in output
    assert port_is_closed(port)
    # The worker went down with the web server: nothing is left holding the database.
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == ""

    # A second start reuses the administrator and never prints a password again.
    port = free_port()
    process = start(
        ["run", "--no-demo", "--no-reload", "--addr", f"127.0.0.1:{port}"],
        environment(tmp_path, port),
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
    finally:
        output = stop(process, signal.SIGTERM)
    assert "an administrator already exists" in output
    assert "password:" not in output


def test_run_uses_the_admin_password_from_the_environment(tmp_path):
    port = free_port()
    env = environment(tmp_path, port, WATCHDESK_ADMIN_PASSWORD="a long chosen passphrase")
    process = start(["run", "--no-demo", "--no-reload", "--addr", f"127.0.0.1:{port}"], env)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
    finally:
        output = stop(process)
    assert "the value of WATCHDESK_ADMIN_PASSWORD" in output
    assert "a long chosen passphrase" not in output


def test_worker_runs_the_scheduler_and_stops_on_sigterm(tmp_path):
    env = environment(tmp_path, free_port())
    subprocess.run(
        [sys.executable, "-m", "watchdesk.cli", "migrate", "--verbosity", "0"], env=env, check=True
    )
    process = start(["worker", "--tick", "0.2", "--interval", "0.2"], env)

    def scheduled_runs_done():
        with closing(sqlite3.connect(tmp_path / "watchdesk.sqlite3", timeout=20)) as db:
            return db.execute(
                "SELECT COUNT(*) FROM django_tasks_database_dbtaskresult"
                " WHERE status = 'SUCCESSFUL' AND task_path = 'watchdesk.core.tasks.publish_scheduled'"
            ).fetchone()[0]

    try:
        deadline = time.monotonic() + 60
        while not scheduled_runs_done():
            assert process.poll() is None, "the worker exited"
            assert time.monotonic() < deadline, "publish_scheduled did not run within 60 s"
            time.sleep(0.1)
    finally:
        output = stop(process, signal.SIGTERM)
    assert process.returncode == 0, output


def test_serve_runs_gunicorn_with_production_settings(tmp_path):
    port = free_port()
    env = environment(
        tmp_path,
        port,
        DEBUG="false",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="127.0.0.1",
        EMAIL_URL="smtp://127.0.0.1:2525",
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
    )
    env["SITE_URL"] = f"http://127.0.0.1:{port}"
    subprocess.run(
        [sys.executable, "-m", "watchdesk.cli", "migrate", "--verbosity", "0"], env=env, check=True
    )
    process = start(["serve"], env)
    try:
        status, body = wait_for(f"http://127.0.0.1:{port}/healthz")
        assert status == 200
    finally:
        output = stop(process, signal.SIGTERM)
    assert "gunicorn" in output.lower()
    assert port_is_closed(port)
