"""Background work of the wire, run by the worker. Tasks take plain ids and read the rows again."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from watchdesk.core.fetcher import FetchError
from watchdesk.wire import clustering, polling, relevance, websub
from watchdesk.wire.articles import store_article
from watchdesk.wire.models import (
    Cluster,
    FetchLog,
    Item,
    SkippedEntry,
    Source,
    SourceImport,
    WebSubSubscription,
)
from watchdesk.wire.push_tasks import ingest_push

PRUNE_CHUNK = 500


@task()
def poll_sources():
    """Periodic: fetch the sources that are due. Returns the one-line summary."""
    return str(polling.poll_due())


@task()
def poll_source(source_id):
    """Poll one source now (due or not), unless another worker holds it or its host is busy."""
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return "no such source"
    return str(polling.poll_source(source))


@task()
def add_article(url, user_id=None):
    """The admin's "Add from URL": fetch an article page and make an item of it. Each attempt is kept in
    the fetch log (with no source), so the admin can show why one failed; a failure returns its reason
    rather than raising. ``user_id`` is who asked; it comes back with the result (the log has no user)."""
    try:
        summary, item = store_article(url)
    except (FetchError, ValueError) as error:
        FetchLog.objects.create(source=None, url=url[:2000], status=article_status(error), detail=str(error))
        return {"url": url, "user": user_id, "error": str(error)}
    FetchLog.objects.create(
        source=None,
        url=item.url,
        status="ok",
        detail=item.title,
        created=summary.created,
        updated=summary.updated,
    )
    return {"url": url, "user": user_id, "item": item.pk}


def article_status(error):
    """The short status of a failed "Add from URL" for the fetch log."""
    if isinstance(error, FetchError):
        return polling.fetch_status(error)
    return getattr(error, "status", "no article")


@task()
def refresh_scores():
    """Every few minutes: stored scores do not decay by themselves, so rescore the last week's stories
    (recency, outlets that joined since) and flag or clear breaking surges. Returns what surged."""
    return [surge._asdict() for surge in relevance.refresh()]


@task()
def prune():
    """Hourly: forget what is older than WIRE_KEEP_DAYS, except the stories drafted into posts."""
    return prune_wire()


def prune_wire(now=None):
    """Delete old items and clusters not drafted into posts, and old fetch logs, skipped entries and OPML
    import reports. Returns the numbers of rows deleted, by kind."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WIRE_KEEP_DAYS)
    kept = Q(status=Cluster.Status.DRAFTED) | Q(post__isnull=False)
    kept_clusters = Cluster.objects.filter(kept).values("pk")
    old_items = Item.objects.filter(first_seen_at__lt=cutoff).exclude(cluster__in=kept_clusters)
    kinds = ("items", "clusters", "fetch_logs", "skipped_entries", "bands", "websub", "imports")
    removed = dict.fromkeys(kinds, 0)
    # In chunks: deleting cascades to topics, places and bands, and a month of items can be large.
    while ids := list(old_items.values_list("pk", flat=True)[:PRUNE_CHUNK]):
        removed["items"] += Item.objects.filter(pk__in=ids).delete()[1].get("wire.Item", 0)
    old_clusters = Cluster.objects.filter(last_seen_at__lt=cutoff, items__isnull=True).exclude(kept)
    removed["clusters"] = old_clusters.delete()[1].get("wire.Cluster", 0)
    removed["fetch_logs"] = FetchLog.objects.filter(started_at__lt=cutoff).delete()[0]
    removed["skipped_entries"] = SkippedEntry.objects.filter(seen_at__lt=cutoff).delete()[0]
    # An import's report matters while its feeds are first fetched; the sources it made stay.
    removed["imports"] = SourceImport.objects.filter(created_at__lt=cutoff).delete()[0]
    # Ended WebSub subscriptions were kept to confirm the unsubscribe and answer 410; a month is plenty.
    ended = WebSubSubscription.objects.filter(state=WebSubSubscription.State.ENDED, requested_at__lt=cutoff)
    removed["websub"] = ended.delete()[1].get("wire.WebSubSubscription", 0)
    # LSH buckets only matter inside the 7-day clustering window, however long items are kept.
    removed["bands"] = clustering.forget_old_bands(now=now)
    return removed


@task()
def websub_upkeep():
    """Periodic: renew WebSub leases, retry failed hubs, end subscriptions of removed or paused sources,
    and queue again pushed documents a dead worker left behind."""
    done, requeue = websub.upkeep()
    for document_id in requeue:
        ingest_push.enqueue(document_id)
    return {**done, "requeued": len(requeue)}
