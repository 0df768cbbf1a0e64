from datetime import timedelta

from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from watchdesk.core import ratelimit
from watchdesk.subscriptions import address_requests
from watchdesk.subscriptions.models import ConfirmationToken, Subscriber


@task()
def answer_address_form(form_name, data):
    """The subscribe, resend or leave form's submission, decided away from the request
    (``address_requests``): the request took the same path whatever the address's state."""
    return address_requests.answer(form_name, data)


def purge_unconfirmed(now=None):
    """Delete addresses that never confirmed within a token's lifetime (7 days), with their tokens.
    Returns the number of subscribers removed."""
    now = now or timezone.now()
    cutoff = now - ConfirmationToken.LIFETIME
    stale = Subscriber.objects.filter(status=Subscriber.Status.PENDING, created_at__lt=cutoff).exclude(
        tokens__created_at__gte=cutoff
    )
    removed = stale.delete()[1].get("subscriptions.Subscriber", 0)
    ConfirmationToken.objects.filter(created_at__lt=now - timedelta(days=30)).delete()
    return removed


def purge_answered(now=None):
    """Forget readers' form submissions (they hold the address) a day after the worker answered them.
    Returns the number of task rows deleted."""
    now = now or timezone.now()
    done = DBTaskResult.objects.finished().filter(
        task_path=answer_address_form.module_path, finished_at__lt=now - timedelta(days=1)
    )
    return done.delete()[0]


@task()
def purge():
    """Hourly: unconfirmed subscriptions past seven days, spent tokens, answered form submissions, old
    rate-limit counters."""
    return {
        "subscribers": purge_unconfirmed(),
        "submissions": purge_answered(),
        "counters": ratelimit.purge(),
    }
