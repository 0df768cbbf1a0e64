"""Storing entries: upsert by (source, GUID), honest counts, guessed dates, recorded skips."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from watchdesk.wire import enrich, ingest
from watchdesk.wire.entries import Entry, FeedError
from watchdesk.wire.ingest import IngestSummary, content_hash, ingest_feed, store_entries
from watchdesk.wire.models import Item, SkippedEntry
from watchdesk.wire.tests.test_sanitize import assert_safe

FEEDS = Path(__file__).parent / "feeds"
NOW = datetime(2025, 1, 16, 12, 0, tzinfo=UTC)


def read(name):
    return (FEEDS / name).read_bytes()


@pytest.fixture(autouse=True)
def enriched(monkeypatch):
    """Record what is handed to enrichment instead of enriching it: these tests are about storing, and
    enrichment has tests of its own. Like the real one, it marks the items enriched."""
    calls = []

    def record(items, *, now=None):
        calls.append((list(items), now))
        Item.objects.filter(pk__in=[item.pk for item in items]).update(enriched_at=now)

    monkeypatch.setattr(enrich, "enrich", record)
    return calls


def entry(n, **fields):
    values = {
        "guid": f"urn:call:{n}",
        "url": f"https://news.example.org/calls/{n}",
        "title": f"Crews respond to call {n}",
        "summary": f"<p>Call {n}.</p>",
        "text": f"Call {n}.",
        "published_at": NOW - timedelta(hours=1),
    }
    return Entry(**{**values, **fields})


def test_ingest_feed_creates_items(source):
    courier = source(name="Sierra Valley Courier", language="fr")
    summary = ingest_feed(courier, read("rss20.xml"), content_type="application/rss+xml", now=NOW)
    assert (summary.created, summary.updated, summary.unchanged, summary.skipped) == (3, 0, 0, 0)
    assert summary.feed_format == "rss20"
    fire = Item.objects.get(source=courier, guid="courier-2025-0114-ridge-fire")
    assert fire.url == "https://news.example.org/public-safety/2025/01/14/ridge-fire-evacuations-lifted"
    assert fire.outlet == "Sierra Valley Courier"
    assert fire.origin == "feed"
    assert fire.author == "Maria Alvarez"
    assert fire.language == "en-us"  # the feed's own language wins over the source's setting
    assert fire.published_at == datetime(2025, 1, 15, 1, 5, tzinfo=UTC)
    assert not fire.date_guessed
    assert fire.first_seen_at == NOW
    assert fire.content_hash == content_hash(fire.title, fire.text)
    courier.refresh_from_db()
    assert courier.feed_format == "rss20"
    assert courier.site_url == "https://news.example.org/public-safety/"


def test_the_sources_language_fills_in(source):
    outlet = source(language="en")
    ingest_feed(outlet, read("rss092.xml"), now=NOW)
    assert set(Item.objects.values_list("language", flat=True)) == {"en"}


def test_re_polling_creates_no_duplicates(source):
    courier = source()
    ingest_feed(courier, read("rss20.xml"), now=NOW)
    again = ingest_feed(courier, read("rss20.xml"), now=NOW + timedelta(minutes=15))
    assert (again.created, again.updated, again.unchanged, again.skipped) == (0, 0, 3, 0)
    assert Item.objects.filter(source=courier).count() == 3


def test_a_changed_entry_is_updated(source, enriched):
    courier = source()
    ingest_feed(courier, read("rss20.xml"), now=NOW)
    changed = read("rss20.xml").replace(b"Highway 49 reopens", b"Highway 49 reopens fully")
    later = NOW + timedelta(hours=1)
    summary = ingest_feed(courier, changed, now=later)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 2)
    tanker = Item.objects.get(source=courier, guid__endswith="highway-49-tanker")
    assert tanker.title == "Highway 49 reopens fully after tanker rollover near Downieville"
    assert tanker.first_seen_at == NOW
    assert tanker.content_hash == content_hash(tanker.title, tanker.text)
    items, now = enriched[-1]
    assert [item.pk for item in items] == [tanker.pk] and now == later


def test_the_same_guid_in_two_sources_makes_two_items(source):
    one, two = source(), source()
    ingest_feed(one, read("rss20.xml"), now=NOW)
    ingest_feed(two, read("rss20.xml"), now=NOW)
    assert Item.objects.filter(guid="courier-2025-0114-ridge-fire").count() == 2


def test_items_without_a_source_are_unique_by_guid(db, enriched):
    first, _ = store_entries([entry(1)], outlet="Valley Courier", origin="article", now=NOW)
    second, _ = store_entries(
        [entry(1, title="Crews respond to call 1 (updated)")], origin="article", now=NOW
    )
    assert (first.created, second.created, second.updated) == (1, 0, 1)
    item = Item.objects.get(source=None)
    assert item.origin == "article" and item.title == "Crews respond to call 1 (updated)"
    assert item.outlet == "Valley Courier"


def test_duplicate_guids_in_one_feed_the_first_wins(source):
    scanner = source()
    summary = ingest_feed(scanner, read("duplicate_guids.xml"), now=NOW)
    assert (summary.created, summary.skipped) == (2, 1)
    assert (
        Item.objects.get(source=scanner, guid="incident-4410").title
        == "Gas leak evacuates Maple Street apartments"
    )
    skip = SkippedEntry.objects.get(source=scanner)
    assert (skip.guid, skip.reason) == (
        "incident-4410",
        "duplicate GUID: an earlier entry in this feed has the same id",
    )


def test_missing_dates_are_the_time_first_seen(source):
    company = source()
    ingest_feed(company, read("missing_dates.xml"), now=NOW)
    assert list(Item.objects.values_list("published_at", "date_guessed")) == [(NOW, True), (NOW, True)]


def test_future_dates_are_the_time_first_seen(source):
    sheriff = source()
    ingest_feed(sheriff, read("future_dates.xml"), now=NOW)
    ambulance = Item.objects.get(guid__endswith="release-88")
    scam = Item.objects.get(guid__endswith="release-87")
    assert (ambulance.published_at, ambulance.date_guessed) == (NOW, True)
    assert (scam.published_at, scam.date_guessed) == (datetime(2025, 1, 10, 12, 0, tzinfo=UTC), False)


@pytest.mark.parametrize(
    ("published_at", "stored", "guessed"),
    [
        (NOW + timedelta(minutes=4), NOW + timedelta(minutes=4), False),  # a clock a little ahead is fine
        (NOW + timedelta(minutes=6), NOW, True),
        (datetime(1970, 1, 1, tzinfo=UTC), NOW, True),  # an epoch default is not a date
        (datetime(2025, 1, 1, 12, 0), datetime(2025, 1, 1, 12, 0, tzinfo=UTC), False),  # naive means UTC
    ],
)
def test_date_rules(db, enriched, published_at, stored, guessed):
    store_entries([entry(1, published_at=published_at)], now=NOW)
    item = Item.objects.get()
    assert (item.published_at, item.date_guessed) == (stored, guessed)


def test_hostile_feed_stores_only_safe_html_and_records_skips(source):
    hostile = source()
    summary = ingest_feed(hostile, read("hostile_html.xml"), now=NOW)
    assert (summary.created, summary.skipped) == (1, 3)
    item = Item.objects.get(source=hostile)
    assert_safe(item.summary)
    assert_safe(item.content)
    assert "<script" not in item.summary + item.content
    assert sorted(SkippedEntry.objects.filter(source=hostile).values_list("reason", flat=True)) == [
        "no title and no link",
        "no usable link (only http and https): data:text/html,<script>alert(1)</script>",
        "no usable link (only http and https): javascript:alert('link')",
    ]


def test_a_skip_is_recorded_once_a_day_but_counted_every_time(source):
    hostile = source()
    ingest_feed(hostile, read("hostile_html.xml"), now=NOW)
    again = ingest_feed(hostile, read("hostile_html.xml"), now=NOW + timedelta(hours=1))
    assert again.skipped == 3
    assert SkippedEntry.objects.filter(source=hostile).count() == 3
    ingest_feed(hostile, read("hostile_html.xml"), now=NOW + timedelta(days=2))
    assert SkippedEntry.objects.filter(source=hostile).count() == 6


def test_a_truncated_feed_stores_its_finished_entries(source):
    wire = source()
    summary = ingest_feed(wire, read("truncated.xml"), now=NOW)
    assert (summary.created, summary.skipped) == (2, 1)
    assert summary.problems and summary.problems[0].startswith("not well-formed XML")
    assert SkippedEntry.objects.get(source=wire).reason == "the feed was cut off inside this entry"
    assert not Item.objects.filter(guid="mra-mission-303").exists()


@pytest.mark.parametrize(
    "document", [b"", b"<html><body>Moved</body></html>", b"\x00garbage", b'{"no": "feed"}']
)
def test_a_document_that_is_not_a_feed_loses_nothing_already_stored(source, document):
    courier = source()
    ingest_feed(courier, read("rss20.xml"), now=NOW)
    before = list(Item.objects.filter(source=courier).values_list("pk", "title", "updated_at"))
    with pytest.raises(FeedError):
        ingest_feed(courier, document, now=NOW + timedelta(hours=1))
    assert list(Item.objects.filter(source=courier).values_list("pk", "title", "updated_at")) == before
    assert not SkippedEntry.objects.exists()


def test_entries_from_other_callers_are_checked_and_cleaned_again(db, enriched):
    summary, items = store_entries(
        [
            entry(1, summary='<p onclick="x()">ok<script>alert(1)</script></p>'),
            entry(2, url="javascript:alert(1)"),
            entry(3, url="https://news.example.org/a?utm_source=x"),  # not canonical
            entry(4, title="  "),
            entry(5, guid=""),
        ],
        now=NOW,
    )
    assert (summary.created, summary.skipped) == (1, 4)
    assert items[0].summary == "<p>ok</p>"
    assert sorted(SkippedEntry.objects.values_list("reason", flat=True)) == [
        "no GUID",
        "no title",
        "no usable link (only http and https)",
        "no usable link (only http and https)",
    ]


def test_enrich_gets_created_and_updated_items(source, enriched):
    courier = source()
    summary, items = store_entries([entry(1), entry(2)], source=courier, now=NOW)
    assert [item.guid for item in enriched[-1][0]] == ["urn:call:1", "urn:call:2"]
    assert all(item.pk for item in enriched[-1][0]) and enriched[-1][1] == NOW
    assert set(Item.objects.values_list("enriched_at", flat=True)) == {NOW}
    store_entries([entry(1), entry(2, title="Changed"), entry(3)], source=courier, now=NOW)
    # call 2 changed, call 3 is new, call 1 is unchanged and was enriched, so it is left alone
    assert sorted(item.guid for item in enriched[-1][0]) == ["urn:call:2", "urn:call:3"]


def test_items_whose_enrichment_crashed_are_enriched_on_the_next_poll(source, enriched, monkeypatch):
    courier = source()

    def crash(items, *, now=None):
        raise RuntimeError("enrichment bug")

    with monkeypatch.context() as patch:
        patch.setattr(enrich, "enrich", crash)
        with pytest.raises(RuntimeError):
            store_entries([entry(1)], source=courier, now=NOW)
    item = Item.objects.get()  # stored, not lost with the crash
    assert item.enriched_at is None
    summary, changed = store_entries([entry(1)], source=courier, now=NOW + timedelta(minutes=15))
    assert (summary.unchanged, changed) == (1, [])
    assert [item.guid for item in enriched[-1][0]] == ["urn:call:1"]
    item.refresh_from_db()
    assert item.enriched_at == NOW + timedelta(minutes=15)


def test_a_concurrent_insert_of_the_same_entry_does_not_crash(source, enriched, monkeypatch):
    """Another worker stored the entry after we looked: the bulk insert fails on the unique constraint
    and we fall back to row by row inside savepoints."""
    courier = source()
    store_entries([entry(1)], source=courier, now=NOW)
    real_lookup = ingest._existing_items
    calls = []

    def stale_first_lookup(source, guids):
        calls.append(guids)
        return {} if len(calls) == 1 else real_lookup(source, guids)

    monkeypatch.setattr(ingest, "_existing_items", stale_first_lookup)
    summary, changed = store_entries([entry(1, title="Call 1, updated"), entry(2)], source=courier, now=NOW)
    assert (summary.created, summary.updated, summary.unchanged) == (1, 1, 0)
    assert Item.objects.filter(source=courier).count() == 2
    assert Item.objects.get(guid="urn:call:1").title == "Call 1, updated"
    assert sorted(item.guid for item in changed) == ["urn:call:1", "urn:call:2"]
    # the transaction is still usable after the failed bulk insert (PostgreSQL would refuse otherwise)
    assert Item.objects.count() == 2


def test_a_concurrent_identical_insert_counts_as_unchanged(source, enriched, monkeypatch):
    courier = source()
    store_entries([entry(1)], source=courier, now=NOW)
    monkeypatch.setattr(
        ingest,
        "_existing_items",
        lambda source, guids, real=ingest._existing_items: {} if len(guids) > 1 else real(source, guids),
    )
    summary, _ = store_entries([entry(1), entry(2)], source=courier, now=NOW)
    assert (summary.created, summary.updated, summary.unchanged) == (1, 0, 1)


def _store_queries(entries, source):
    with CaptureQueriesContext(connection) as queries:
        store_entries(entries, source=source, now=NOW)
    return len(queries)


def test_query_count_does_not_grow_with_the_feed(source, monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(enrich, "enrich", lambda items, *, now=None: None)  # enrichment pins its own
    small, large = source(), source()
    assert _store_queries([entry(n) for n in range(5)], small) == _store_queries(
        [entry(n) for n in range(40)], large
    )
    fresh = source()
    with django_assert_max_num_queries(7):
        store_entries([entry(n) for n in range(40)], source=fresh, now=NOW)  # all new
    with django_assert_max_num_queries(7):
        store_entries(
            [entry(n, title=f"Changed {n}") for n in range(40)], source=large, now=NOW
        )  # all updated
    with django_assert_max_num_queries(4):
        store_entries([entry(n, title=f"Changed {n}") for n in range(40)], source=large, now=NOW)  # unchanged


def test_a_huge_feed_is_stored_and_re_polled(source, enriched):
    items = "".join(
        f"<item><title>Crews respond to call {n}</title><link>https://news.example.org/calls/{n}</link>"
        f"<guid>call-{n}</guid><description>Call {n}.</description></item>"
        for n in range(2000)
    )
    content = f'<rss version="2.0"><channel><title>Big</title>{items}</channel></rss>'.encode()
    big = source(max_entries=2000)  # a source may read more than WIRE_MAX_ENTRIES per fetch
    assert ingest_feed(big, content, now=NOW).created == 2000
    assert ingest_feed(big, content, now=NOW).unchanged == 2000
    assert Item.objects.filter(source=big).count() == 2000


def test_content_hash_ignores_case_and_spacing():
    assert content_hash("Flood  Warning", "Rivers\nrising.") == content_hash(
        "flood warning", "RIVERS rising."
    )
    assert content_hash("Flood warning", "a") != content_hash("Flood warning", "b")


def test_summary_adds_up_and_prints():
    total = IngestSummary(created=2, skipped=1, problems=["cut off"]) + IngestSummary(
        updated=1, unchanged=4, errors=1
    )
    assert total.as_dict() == {
        "created": 2,
        "updated": 1,
        "unchanged": 4,
        "skipped": 1,
        "errors": 1,
        "problems": ["cut off"],
    }
    assert str(total) == "2 created, 1 updated, 4 unchanged, 1 skipped, 1 error"
    assert str(IngestSummary()) == "0 created, 0 updated, 0 unchanged, 0 skipped, 0 errors"


def test_an_entry_made_by_hand_is_sanitised_when_stored(source):
    """Entries from parse_feed and articles come cleaned; any other Entry is cleaned at the last gate."""
    hostile = entry(
        1,
        summary='<p onclick="steal()">Crews respond.</p><script>alert(1)</script>',
        content='<a href="javascript:alert(2)">More</a><iframe src="https://evil.example"></iframe>',
    )

    store_entries([hostile], source=source(), now=NOW)

    item = Item.objects.get()
    assert_safe(item.summary)
    assert_safe(item.content)
    assert item.summary == "<p>Crews respond.</p>"
    assert "javascript:" not in item.content and "iframe" not in item.content
