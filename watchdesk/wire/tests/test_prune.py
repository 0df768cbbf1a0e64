"""Pruning the wire: old items, clusters and logs go; stories drafted into posts stay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from watchdesk.wire.models import Cluster, FetchLog, Item, SkippedEntry, SourceImport
from watchdesk.wire.tasks import prune, prune_wire

pytestmark = pytest.mark.django_db


@pytest.fixture
def old(settings):
    return timezone.now() - timedelta(days=settings.WIRE_KEEP_DAYS + 1)


def cluster(title, seen, **fields):
    return Cluster.objects.create(title=title, first_seen_at=seen, last_seen_at=seen, **fields)


def test_old_items_and_clusters_go_and_drafted_stories_stay(make_item, make_post, old):
    forgotten = cluster("Forgotten story", old)
    make_item("Forgotten story", cluster=forgotten, first_seen_at=old)
    make_item("Old item without a cluster", first_seen_at=old)
    drafted = cluster("Drafted story", old, status=Cluster.Status.DRAFTED)
    kept_by_status = make_item("Drafted story", cluster=drafted, first_seen_at=old)
    posted = cluster("Posted story", old, post=make_post("Posted story"))
    kept_by_post = make_item("Posted story", cluster=posted, first_seen_at=old)
    fresh = make_item("Fresh story")

    removed = prune_wire()

    assert removed["items"] == 2
    assert removed["clusters"] == 1
    assert set(Item.objects.values_list("pk", flat=True)) == {kept_by_status.pk, kept_by_post.pk, fresh.pk}
    assert set(Cluster.objects.values_list("title", flat=True)) == {"Drafted story", "Posted story"}


def test_an_old_cluster_with_a_recent_item_stays(make_item, old):
    ongoing = cluster("Ongoing story", old)
    make_item("Old report", cluster=ongoing, first_seen_at=old)
    recent = make_item("New report", cluster=ongoing)

    prune_wire()

    assert list(Item.objects.all()) == [recent]
    assert Cluster.objects.filter(pk=ongoing.pk).exists()


def test_old_fetch_logs_and_skipped_entries_go(old, source):
    feed = source()
    FetchLog.objects.create(source=feed, url=feed.url, status="ok", started_at=old)
    recent_log = FetchLog.objects.create(source=feed, url=feed.url, status="ok")
    SkippedEntry.objects.create(source=feed, reason="no title", seen_at=old)
    recent_skip = SkippedEntry.objects.create(source=feed, reason="no title")

    result = prune.enqueue().return_value

    assert (result["fetch_logs"], result["skipped_entries"]) == (1, 1)
    assert list(FetchLog.objects.all()) == [recent_log]
    assert list(SkippedEntry.objects.all()) == [recent_skip]


def test_old_import_reports_go_and_their_sources_stay(old, source):
    feed = source()
    SourceImport.objects.create(file_name="old.opml", created_at=old, report={"created": 1})
    recent = SourceImport.objects.create(file_name="new.opml", report={"created": 1})

    assert prune_wire()["imports"] == 1

    assert list(SourceImport.objects.all()) == [recent]
    assert feed.__class__.objects.filter(pk=feed.pk).exists()
