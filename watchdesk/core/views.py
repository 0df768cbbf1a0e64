import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET
from django_tasks_db.models import DBTaskResult

from watchdesk.core.models import PeriodicJob


def _queue_status(now):
    tasks = DBTaskResult.objects.all()
    ready = tasks.ready()
    oldest = ready.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
    last_tick = PeriodicJob.objects.order_by("-last_run_at").values_list("last_run_at", flat=True)
    last_tick = last_tick.first()
    return {
        "backend": settings.TASKS["default"]["BACKEND"],
        "ready": ready.count(),
        "running": tasks.filter(status="RUNNING").count(),
        "failed_last_24h": tasks.filter(status="FAILED", finished_at__gte=now - timedelta(hours=24)).count(),
        "oldest_ready_age_s": round((now - oldest).total_seconds(), 1) if oldest else None,
        "scheduler_last_run": last_tick.isoformat() if last_tick else None,
    }


def _holds_token(request):
    token = settings.HEALTHZ_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return secrets.compare_digest(given.strip().encode(), token.encode())


@require_GET
@never_cache
def healthz(request):
    """Liveness for load balancers and monitors: 200 while the database answers, else 503.

    Queue sizes and the database vendor tell an outsider how busy and how built the site is: only people
    signed in to the admin, or a monitor sending HEALTHZ_TOKEN as a bearer token, see them."""
    now = timezone.now()
    started = time.perf_counter()
    body = {"status": "ok", "time": now.isoformat()}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        # Only after the database answered: a signed-in user's session is read from it.
        if _holds_token(request) or request.user.has_perm("wagtailadmin.access_admin"):
            body["database"] = {"status": "ok", "vendor": connection.vendor, "latency_ms": latency_ms}
            body["tasks"] = _queue_status(now)
    except DatabaseError as exc:
        body["status"] = "error"
        if _holds_token(request):
            body["database"] = {"status": "error", "error": exc.__class__.__name__}
        return JsonResponse(body, status=503)
    return JsonResponse(body)


@require_GET
@cache_control(max_age=3600, public=True)
def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /search/",
        "",
        f"Sitemap: {settings.SITE_URL}/sitemap.xml",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
