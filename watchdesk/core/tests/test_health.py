from datetime import timedelta
from unittest.mock import ANY

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from watchdesk.core import tasks
from watchdesk.testing.mailserver import free_port


@pytest.mark.django_db
def test_healthz_tells_the_public_only_whether_the_site_is_up(client, database_queue):
    tasks.publish_scheduled.enqueue()

    response = client.get("/healthz")

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    assert set(response.json()) == {"status", "time"}
    assert response.json()["status"] == "ok"
    # A wrong token is the same as none.
    wrong = client.get("/healthz", headers={"Authorization": "Bearer guess"})
    assert set(wrong.json()) == {"status", "time"}


@pytest.mark.django_db
def test_healthz_shows_the_queue_to_a_monitor_holding_the_token(client, database_queue, settings):
    settings.HEALTHZ_TOKEN = "monitor-token-7f3a"
    tasks.publish_scheduled.enqueue()

    response = client.get("/healthz", headers={"Authorization": "Bearer monitor-token-7f3a"})

    assert response.json()["tasks"]["ready"] == 1
    assert set(client.get("/healthz").json()) == {"status", "time"}


@pytest.mark.django_db
def test_healthz_reports_database_and_queue_to_signed_in_editors(client, database_queue, editor):
    tasks.publish_scheduled.enqueue()
    client.force_login(editor)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["tasks"]["backend"] == "django_tasks_db.DatabaseBackend"
    assert body["tasks"]["ready"] == 1
    assert body["tasks"]["oldest_ready_age_s"] >= 0


@pytest.fixture
def unreachable_database(tmp_path):
    """The default connection pointed at a database that cannot be opened: a file in a folder that does
    not exist on SQLite, a port nobody listens on elsewhere. The test's own connection is put back after."""
    real = connections[DEFAULT_DB_ALIAS]
    if real.vendor == "sqlite":
        unreachable = {"NAME": str(tmp_path / "missing" / "watchdesk.sqlite3")}
    else:
        options = {**real.settings_dict["OPTIONS"], "connect_timeout": 5}
        unreachable = {"HOST": "127.0.0.1", "PORT": free_port(), "OPTIONS": options}
    broken = real.__class__({**real.settings_dict, **unreachable}, DEFAULT_DB_ALIAS)
    connections[DEFAULT_DB_ALIAS] = broken
    try:
        yield
    finally:
        broken.close()
        connections[DEFAULT_DB_ALIAS] = real


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_fails(client, database_queue, unreachable_database, settings):
    settings.HEALTHZ_TOKEN = "monitor-token-7f3a"
    assert client.get("/healthz").json() == {"status": "error", "time": ANY}

    response = client.get("/healthz", headers={"Authorization": "Bearer monitor-token-7f3a"})

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] == {"status": "error", "error": "OperationalError"}
    assert "tasks" not in body


@pytest.mark.django_db
def test_healthz_shows_when_the_scheduler_last_ran(client, editor):
    from watchdesk.core.models import PeriodicJob

    when = timezone.now() - timedelta(minutes=3)
    PeriodicJob.objects.create(name="publish_scheduled", next_run_at=when, last_run_at=when)
    client.force_login(editor)

    assert client.get("/healthz").json()["tasks"]["scheduler_last_run"] == when.isoformat()
