"""Editor alerts: tell the editors on duty about a story that broke or reached the alert score.

``evaluate`` runs wherever the breaking flags are re-checked (``relevance.flag_breaking``: after each
ingest, each polling run and the periodic rescoring), so every change of flag or score is looked at
within minutes. The rules, and why, are in docs/wire.md ("Editor alerts"). Each alert is a
``StoryAlert`` row; once the transaction that wrote it commits, the ``story_alert`` signal goes out
(channels connect to it) and a task e-mails the editors on duty who asked for e-mail.
"""

import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task

from watchdesk.wire.models import Cluster, StoryAlert, WireSettings
from watchdesk.wire.signals import story_alert

logger = logging.getLogger(__name__)

# A story that keeps growing alerts again at most this often, unless its outlet count doubles.
REPEAT_AFTER = timedelta(hours=1)
# Alerts go to editors: those who may work the inbox.
INBOX_PERMISSION = "wire.change_cluster"


def candidates(now, settings):
    """Open clusters that deserve an alert now: flagged breaking, or at or over the alert score."""
    wanted = Q(breaking=True)
    if settings.alert_score_threshold is not None:
        wanted |= Q(score__gte=settings.alert_score_threshold)
    return Cluster.objects.open(now).filter(wanted).order_by()


def due_alerts(*, now=None, settings=None):
    """The alerts due now, unsaved: two queries however many clusters qualify.

    A story alerts once when it first qualifies; again only when it has gained outlets since its last
    alert and either an hour has passed or the outlets have at least doubled.
    """
    now = now or timezone.now()
    settings = settings or WireSettings.load()
    found = candidates(now, settings)
    rows = list(found.values_list("pk", "breaking", "score", "outlet_count"))
    if not rows:
        return []
    last = {}
    for cluster_id, number, outlets, created_at in (
        StoryAlert.objects.filter(cluster__in=found.values("pk"))
        .order_by("number")
        .values_list("cluster_id", "number", "outlets", "created_at")
    ):
        last[cluster_id] = (number, outlets, created_at)
    due = []
    for pk, breaking, score, outlets in rows:
        number = 1
        if pk in last:
            previous, before, at = last[pk]
            grown = outlets > before
            doubled = outlets >= 2 * max(before, 1)
            if not (doubled or (grown and now - at >= REPEAT_AFTER)):
                continue
            number = previous + 1
        due.append(
            StoryAlert(
                cluster_id=pk,
                number=number,
                reason=StoryAlert.Reason.BREAKING if breaking else StoryAlert.Reason.SCORE,
                outlets=outlets,
                score=score,
                created_at=now,
            )
        )
    return due


def record(alerts):
    """Insert ``alerts``, all in one INSERT unless another worker recorded one of them first: then one by
    one, dropping those. For each one recorded, the signal and the e-mails follow the commit. Returns the
    alerts recorded."""
    if not alerts:
        return []
    try:
        with transaction.atomic():
            recorded = StoryAlert.objects.bulk_create(alerts)
    except IntegrityError:
        recorded = [alert for alert in alerts if _insert(alert)]
    for alert in recorded:
        transaction.on_commit(lambda alert=alert: announce(alert))
    return recorded


def _insert(alert):
    alert.pk = None
    try:
        with transaction.atomic():
            alert.save(force_insert=True)
    except IntegrityError:
        return False  # another worker alerted this story first
    return True


def evaluate(*, now=None, settings=None):
    """Record and announce the alerts due now. Returns them."""
    return record(due_alerts(now=now, settings=settings))


def announce(alert):
    """After the alert committed: tell the connected apps, and queue the e-mails."""
    # send_robust pairs each receiver with its return value, or with the exception it raised.
    for receiver, outcome in story_alert.send_robust(sender=StoryAlert, alert=alert):
        if isinstance(outcome, Exception):
            logger.error("story_alert receiver %r failed", receiver, exc_info=outcome)
    email_alert.enqueue(alert.pk)


# E-mail ---------------------------------------------------------------------------------------------
def recipients():
    """Active editors on duty who want alerts by e-mail and have an address."""
    return (
        get_user_model()
        .objects.with_perm(INBOX_PERMISSION, backend="django.contrib.auth.backends.ModelBackend")
        .filter(desk_alert_preference__on_duty=True, desk_alert_preference__by_email=True)
        .exclude(email="")
        .order_by("pk")
    )


def alert_message(alert, user, previous=None):
    """The e-mail of ``alert`` to ``user``: a text and an HTML part from templates."""
    context = {"alert": alert, "cluster": alert.cluster, "user": user, "previous": previous}
    subject = render_to_string("wire/email/story_alert_subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("wire/email/story_alert.txt", context),
        to=[user.email],
    )
    message.attach_alternative(render_to_string("wire/email/story_alert.html", context), "text/html")
    return message


# Here rather than in tasks.py: that module loads the ingest stack (trafilatura, feedparser, datasketch),
# which the web process, recording an alert after an editor's correction, should not carry.
@task()
def email_alert(alert_id):
    """E-mail one alert to each editor on duty who asked for e-mail, over one connection."""
    alert = StoryAlert.objects.select_related("cluster").filter(pk=alert_id).first()
    if alert is None:
        return "no such alert"
    previous = (
        StoryAlert.objects.filter(cluster_id=alert.cluster_id, number__lt=alert.number)
        .order_by("-number")
        .first()
    )
    messages = [alert_message(alert, user, previous) for user in recipients()]
    if not messages:
        return "nobody on duty by e-mail"
    sent = get_connection().send_messages(messages)
    return f"{sent} e-mailed"
