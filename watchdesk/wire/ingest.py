"""Storing entries as items: an upsert by (source, GUID), in bulk, then enrichment of what changed.

Counts are honest and add up to the entries offered: every entry is exactly one of
* created   - a new item;
* updated   - an item we had, whose title, summary, content, link or author changed;
* unchanged - an item we had, exactly as the feed still gives it (re-polls are mostly these);
* skipped   - refused (malformed, a duplicate GUID in the same feed) and recorded as a ``SkippedEntry``,
              or past the limit of entries read per fetch (one ``SkippedEntry`` says how many).
``errors`` is for callers that count whole documents that failed (``FeedError``); storing never swallows
an error of its own.

Dates are aware UTC. An entry with no date, a date more than ``FUTURE_TOLERANCE`` ahead, or one before
``EARLIEST_DATE`` is dated when we first saw it and flagged ``date_guessed``.
"""

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from watchdesk.core.iterables import chunks
from watchdesk.core.sanitize import clean_html, storable
from watchdesk.wire import enrich, relevance
from watchdesk.wire.canonical import canonical_url
from watchdesk.wire.entries import MAX_AUTHOR, MAX_GUID, MAX_TITLE, MAX_URL
from watchdesk.wire.models import Item, SkippedEntry, Source
from watchdesk.wire.parsing import parse_feed

FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)
INSERT_BATCH = 500  # Django lowers it further where the database needs fewer parameters per query
SKIP_REPEAT = timedelta(days=1)  # the same skip of the same entry is recorded once a day, not every poll

# A change in any of these makes a stored item "updated" (and enriched again); the rest follows them.
COMPARED_FIELDS = ("title", "summary", "content", "url", "author", "official")
UPDATED_FIELDS = (*COMPARED_FIELDS, "text", "content_hash", "language", "updated_at")

_WHITESPACE = re.compile(r"\s+")


@dataclass
class IngestSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: int = 0
    problems: list[str] = field(default_factory=list)  # what was wrong with feeds we could still read
    feed_format: str = field(default="", compare=False)  # set by ingest_feed, e.g. "rss20"; not summed
    hubs: list[str] = field(default_factory=list, compare=False)  # the feed's WebSub hubs; not summed
    self_url: str = field(default="", compare=False)  # the feed's rel="self" link; not summed

    def __add__(self, other):
        return IngestSummary(
            created=self.created + other.created,
            updated=self.updated + other.updated,
            unchanged=self.unchanged + other.unchanged,
            skipped=self.skipped + other.skipped,
            errors=self.errors + other.errors,
            problems=self.problems + other.problems,
        )

    def as_dict(self):
        counts = asdict(self)
        for name in ("feed_format", "hubs", "self_url"):
            del counts[name]
        return counts

    def __str__(self):
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.skipped} skipped, {self.errors} error{'' if self.errors == 1 else 's'}"
        )


def content_hash(title, text):
    """Same words, same hash: casefolded and whitespace-collapsed title and text, for exact duplicates."""
    normalised = _WHITESPACE.sub(" ", f"{title}\n{text}".casefold()).strip()
    return hashlib.sha256(normalised.encode("utf-8", "replace")).hexdigest()


def ingest_feed(source, content, *, content_type="", now=None, flag=True):
    """Parse ``content`` (bytes fetched from ``source.url``) and store its entries for ``source``.

    ``FeedError`` propagates before anything is written: polling records it as the source's error.
    When the feed brought new or changed items, breaking surges are re-checked (``flag=False`` leaves
    that to the caller, e.g. once after polling many feeds): a check reads the last hour and the week
    before it, so it is run once per feed document rather than once per enrichment batch.
    """
    parsed = parse_feed(content, url=source.url, content_type=content_type, max_entries=entry_limit(source))
    summary, _ = store_entries(
        parsed.entries, source=source, now=now, skipped=parsed.skipped, not_read=parsed.not_read_pair()
    )
    if flag and (summary.created or summary.updated):
        relevance.flag_breaking(now=now)
    summary.problems += parsed.problems
    summary.feed_format = parsed.format
    summary.hubs, summary.self_url = parsed.hubs, parsed.self_url
    _remember_feed(source, parsed)
    return summary


def entry_limit(source=None):
    """How many entries of one feed document are read: the source's own limit, else WIRE_MAX_ENTRIES."""
    if source is not None and source.max_entries:
        return source.max_entries
    return settings.WIRE_MAX_ENTRIES


def _remember_feed(source, parsed):
    changes = {}
    if parsed.format and source.feed_format != parsed.format:
        changes["feed_format"] = parsed.format
    if not source.site_url and parsed.link:
        changes["site_url"] = parsed.link[:1000]
    if changes:
        Source.objects.filter(pk=source.pk).update(**changes)
        for name, value in changes.items():
            setattr(source, name, value)


def store_entries(entries, *, source=None, outlet="", origin="feed", now=None, skipped=(), not_read=(0, "")):
    """Upsert ``entries`` as items of ``source`` and enrich the created and updated ones.

    Items get ``outlet`` (default: the source's name), ``origin`` ("feed", "article" or "file") and the
    entry's language, else the source's. ``skipped`` takes (guid, reason) pairs the parser already
    refused, so they are recorded and counted with the rest. ``not_read`` is (count, reason) for the
    entries past the limit per fetch: counted as skipped, and recorded as one ``SkippedEntry`` for all of
    them. Returns (summary, created and updated items).
    """
    now = now or timezone.now()
    outlet = storable(outlet or (source.name if source else ""))[:120]
    default_language = source.language if source else ""
    summary = IngestSummary()
    skips = [(storable(guid or ""), reason) for guid, reason in skipped]

    wanted = {}  # guid -> entry; the first entry with a GUID wins
    for entry in entries:
        reason = _unstorable(entry)
        if reason:
            skips.append((storable(getattr(entry, "guid", "") or ""), reason))
        elif entry.guid in wanted:
            skips.append((entry.guid, "duplicate GUID: an earlier entry in this feed has the same id"))
        else:
            wanted[entry.guid] = entry

    created, updated, to_enrich = [], [], []
    with transaction.atomic():
        existing = _existing_items(source, list(wanted))
        new_items = []
        for guid, entry in wanted.items():
            item = existing.get(guid)
            if item is None:
                new_items.append((_new_item(entry, source, outlet, origin, default_language, now), entry))
            elif _apply(item, entry, default_language, now):
                updated.append(item)
            else:
                summary.unchanged += 1
                if item.enriched_at is None:  # enrichment of an earlier poll did not finish
                    to_enrich.append(item)
        if updated:
            Item.objects.bulk_update(updated, UPDATED_FIELDS, batch_size=INSERT_BATCH)
        created, raced_updates, raced_unchanged = _create(new_items, source, default_language, now)
        updated += raced_updates
        summary.unchanged += raced_unchanged
        cut, cut_reason = not_read
        _record_skips(source, skips + ([("", cut_reason)] if cut else []), now)

    summary.created, summary.updated, summary.skipped = len(created), len(updated), len(skips) + cut
    changed = created + updated
    # After the items are committed: a crash in enrichment leaves them stored but not marked enriched,
    # and the next poll of the feed hands them to enrichment again.
    if changed or to_enrich:
        enrich.enrich(changed + to_enrich, now=now)
    return summary, changed


def _unstorable(entry):
    """Why an entry handed to us cannot be stored, or "". Parsed entries pass; this guards other callers."""
    guid = getattr(entry, "guid", "")
    if not isinstance(guid, str) or not storable(guid).strip():
        return "no GUID"
    if len(guid) > MAX_GUID:
        return f"GUID longer than {MAX_GUID} characters"
    url = getattr(entry, "url", "")
    if not url or canonical_url(url) != url or len(url) > MAX_URL:
        return "no usable link (only http and https)"
    if not isinstance(getattr(entry, "title", None), str) or not entry.title.strip():
        return "no title"
    return ""


def _existing_items(source, guids):
    found = {}
    items = Item.objects.filter(source=source) if source else Item.objects.filter(source__isnull=True)
    for batch in chunks(guids):
        for item in items.filter(guid__in=batch):
            found[item.guid] = item
    return found


def _values(entry, default_language):
    """The stored form of an entry, cut to the columns' lengths. Its HTML is cleaned here unless the entry
    says it was already (this is the last gate before the database)."""
    title = storable(entry.title).strip()[:MAX_TITLE]
    text = storable(entry.text or "")
    sanitised = getattr(entry, "sanitised", False)
    return {
        "title": title,
        "summary": (entry.summary or "") if sanitised else clean_html(entry.summary or ""),
        "content": (entry.content or "") if sanitised else clean_html(entry.content or ""),
        "url": entry.url,
        "author": storable(entry.author or "").strip()[:MAX_AUTHOR],
        "text": text,
        "content_hash": content_hash(title, text),
        "language": (entry.language or default_language or "")[:16],
        "official": getattr(entry, "official", None) or {},
    }


def _publication_date(published_at, now):
    """(published_at, date_guessed): the entry's date when it is believable, else the time first seen."""
    if published_at is None:
        return now, True
    if timezone.is_naive(published_at):
        published_at = published_at.replace(tzinfo=UTC)
    if published_at > now + FUTURE_TOLERANCE or published_at < EARLIEST_DATE:
        return now, True
    return published_at.astimezone(UTC), False


def _new_item(entry, source, outlet, origin, default_language, now):
    published_at, guessed = _publication_date(entry.published_at, now)
    return Item(
        source=source,
        origin=origin,
        guid=entry.guid,
        outlet=outlet,
        published_at=published_at,
        date_guessed=guessed,
        first_seen_at=now,
        **_values(entry, default_language),
    )


def _apply(item, entry, default_language, now):
    """Copy a changed entry onto its stored item; False (and the item untouched) when nothing changed."""
    values = _values(entry, default_language)
    if all(getattr(item, name) == values[name] for name in COMPARED_FIELDS):
        return False
    for name, value in values.items():
        setattr(item, name, value)
    item.updated_at = now
    return True


def _create(new_items, source, default_language, now):
    """Insert new items in bulk; returns (created, updated, unchanged count).

    Another worker may have stored some of the same entries since we looked. The bulk insert then fails
    on the unique constraint inside its savepoint, and we go row by row: insert, or update the row the
    other worker made.
    """
    if not new_items:
        return [], [], 0
    items = [item for item, _ in new_items]
    try:
        with transaction.atomic():
            Item.objects.bulk_create(items)
        return items, [], 0
    except IntegrityError:
        pass
    created, updated, unchanged = [], [], 0
    for item, entry in new_items:
        item.pk = None
        item._state.adding = True
        try:
            with transaction.atomic():
                item.save(force_insert=True)
            created.append(item)
            continue
        except IntegrityError as error:
            stored = _existing_items(source, [item.guid]).get(item.guid)
            if stored is None:  # not a duplicate after all
                raise error
        if _apply(stored, entry, default_language, now):
            stored.save(update_fields=UPDATED_FIELDS)
            updated.append(stored)
        else:
            unchanged += 1
    return created, updated, unchanged


def _record_skips(source, skips, now):
    if not skips:
        return
    rows = {(guid[:MAX_GUID], reason[:300]) for guid, reason in skips}
    recent = SkippedEntry.objects.filter(seen_at__gte=now - SKIP_REPEAT)
    recent = recent.filter(source=source) if source else recent.filter(source__isnull=True)
    guids = sorted({guid for guid, _ in rows})
    for batch in chunks(guids):
        rows -= set(recent.filter(guid__in=batch).values_list("guid", "reason"))
    SkippedEntry.objects.bulk_create(
        [SkippedEntry(source=source, guid=guid, reason=reason, seen_at=now) for guid, reason in sorted(rows)],
        batch_size=INSERT_BATCH,
    )
