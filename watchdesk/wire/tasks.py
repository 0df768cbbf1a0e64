"""Background work of the wire, run by the worker."""

from django_tasks import task


@task()
def poll_sources():
    """Fetch every due source (filled in by the polling work)."""
    from watchdesk.wire.polling import poll_due

    return str(poll_due())
