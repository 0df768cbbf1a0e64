"""Settings are read once per process, so each case runs `watchdesk check` in a fresh process."""

import os
import subprocess
import sys

import pytest
from django.db import connection

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "Zq8#x!vT4@pL0m$Rw2^eN7&bY5*cF1(hJ",
    "ALLOWED_HOSTS": "news.example.org",
    "SITE_URL": "https://news.example.org",
    "EMAIL_URL": "smtp://mail.example.org:587?tls=true",
}


def watchdesk(*args, tmp_path, **env):
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DEBUG", "SECRET_KEY", "SITE_URL", "ALLOWED_HOSTS", "EMAIL_URL"))
    }
    environ.update(WATCHDESK_VAR_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-m", "watchdesk.cli", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_production_settings_pass_the_deploy_checks(tmp_path):
    result = watchdesk("check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"ALLOWED_HOSTS": "news.example.org,*"}, "watchdesk.E007"),
        ({"SECRET_KEY": "short-but-varied-key-1234"}, "watchdesk.E008"),
        ({"SECRET_KEY": "ab" * 40}, "watchdesk.E008"),
    ],
)
def test_deploy_check_refuses_a_wildcard_host_and_a_weak_secret_key(tmp_path, override, error):
    result = watchdesk("check", "--deploy", tmp_path=tmp_path, **{**PRODUCTION, **override})
    assert result.returncode != 0
    assert error in result.stderr
    # Plain `check` (every start) leaves these to the deploy check.
    assert watchdesk("check", tmp_path=tmp_path, **{**PRODUCTION, **override}).returncode == 0


@pytest.mark.slow
def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {**PRODUCTION}
    del env["SECRET_KEY"]
    result = watchdesk("check", tmp_path=tmp_path, **env)
    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) is required when DEBUG=false" in result.stderr


@pytest.mark.slow
def test_production_refuses_the_file_outbox(tmp_path):
    env = {**PRODUCTION, "EMAIL_URL": "file:///tmp/outbox"}
    result = watchdesk("check", tmp_path=tmp_path, **env)
    assert result.returncode != 0
    assert "watchdesk.E004" in result.stderr


@pytest.mark.slow
def test_site_url_host_must_be_allowed(tmp_path):
    env = {**PRODUCTION, "ALLOWED_HOSTS": "other.example.org"}
    result = watchdesk("check", tmp_path=tmp_path, **env)
    assert result.returncode != 0
    assert "watchdesk.E002" in result.stderr and "'news.example.org'" in result.stderr


@pytest.mark.slow
def test_production_warns_when_the_fetcher_may_reach_this_machine(tmp_path):
    intranet = {**PRODUCTION, "WATCHDESK_FETCH_ALLOWED_NETWORKS": "10.20.0.0/16"}
    assert watchdesk("check", "--fail-level", "WARNING", tmp_path=tmp_path, **intranet).returncode == 0
    loopback = {**PRODUCTION, "WATCHDESK_FETCH_ALLOWED_NETWORKS": "10.20.0.0/16,127.0.0.0/8"}
    result = watchdesk("check", "--fail-level", "WARNING", tmp_path=tmp_path, **loopback)
    assert result.returncode != 0
    assert "watchdesk.W002" in result.stderr and "127.0.0.0/8" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.1.2.3", "wire.internal"])
def test_production_warns_when_hubs_cannot_reach_the_websub_callback(tmp_path, host):
    local = {**PRODUCTION, "SITE_URL": f"https://{host}", "ALLOWED_HOSTS": host}
    result = watchdesk("check", "--fail-level", "WARNING", tmp_path=tmp_path, **local)
    assert result.returncode != 0
    assert "watchdesk.W004" in result.stderr and "WEBSUB_SUBSCRIBE=false" in result.stderr
    polling_only = {**local, "WEBSUB_SUBSCRIBE": "false"}
    result = watchdesk("check", "--fail-level", "WARNING", tmp_path=tmp_path, **polling_only)
    assert "watchdesk.W004" not in result.stderr


@pytest.mark.slow
def test_unknown_time_zone_is_reported(tmp_path):
    result = watchdesk("check", tmp_path=tmp_path, TIME_ZONE="Mars/Olympus_Mons")
    assert result.returncode != 0
    assert "TIME_ZONE 'Mars/Olympus_Mons' is not a known time zone" in result.stderr


@pytest.mark.slow
def test_a_typo_in_a_boolean_stops_the_process_and_names_the_variable(tmp_path):
    result = watchdesk("check", tmp_path=tmp_path, DEBUG="flase")
    assert result.returncode != 0
    assert "DEBUG must be true or false, not 'flase'" in result.stderr


@pytest.mark.slow
def test_development_defaults_need_no_configuration(tmp_path):
    result = watchdesk("check", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    # The development secret key is generated once, kept private, and reused.
    key = tmp_path / "secret_key"
    assert key.stat().st_mode & 0o077 == 0
    first = key.read_text()
    watchdesk("check", tmp_path=tmp_path)
    assert key.read_text() == first


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_immediate_transactions(settings):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite-only behaviour; this run uses PostgreSQL")
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 1
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == options["timeout"] * 1000
