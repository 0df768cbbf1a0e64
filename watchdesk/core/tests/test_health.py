from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.utils import timezone

from watchdesk.core import tasks


@pytest.mark.django_db
def test_healthz_reports_database_and_queue(client, database_queue):
    tasks.publish_scheduled.enqueue()

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


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_fails(client, monkeypatch):
    def broken(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr("watchdesk.core.views._queue_status", broken)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == {"status": "error", "error": "DatabaseError"}


@pytest.mark.django_db
def test_healthz_shows_when_the_scheduler_last_ran(client):
    from watchdesk.core.models import PeriodicJob

    when = timezone.now() - timedelta(minutes=3)
    PeriodicJob.objects.create(name="publish_scheduled", next_run_at=when, last_run_at=when)

    assert client.get("/healthz").json()["tasks"]["scheduler_last_run"] == when.isoformat()
