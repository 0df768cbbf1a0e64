"""Clustering: one story, however many outlets tell it.

``assign_clusters(items)`` files a batch of stored items in two passes.

1. Exact duplicates. An item with the same canonical URL, or the same text (``content_hash``), as an
   earlier item within the window is a copy: ``duplicate_of`` points at the earliest original and the
   copy joins that original's cluster. A copy gets no bands of its own; its original stands for it.
2. Near-duplicates. Every item gets a MinHash signature (stored in ``Item.minhash``) over the words of
   its title and lead. Originals store one ``ItemBand`` row per LSH band; items that share a band key
   with an item first seen in the last 7 days are candidates, and a candidate whose estimated Jaccard
   similarity reaches ``THRESHOLD`` is the same story, unless the two name places in different
   countries or US states (``same_area``). The item joins the cluster of its most similar candidate,
   or starts a new cluster.

The threshold, band shape and signature size are explained, with their measurements, in docs/wire.md
("Clustering: why these numbers"). Signatures are datasketch's ``MinHash(num_perm=96, seed=1)``.
"""

import json
import re
import unicodedata
from collections import defaultdict
from datetime import timedelta
from itertools import chain
from types import SimpleNamespace
from urllib.parse import urlsplit

import numpy as np
from datasketch import MinHash
from django.db import connections, router, transaction
from django.db.models import Case, Count, F, Max, Min, Q, Value, When, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from watchdesk.core.iterables import chunks
from watchdesk.wire.executemany import insert_rows, update_rows
from watchdesk.wire.models import DEFAULT_TRUST, Cluster, Item, ItemBand, ItemPlace, Source, host_of

WINDOW = timedelta(days=7)
NUM_PERM = 96
BANDS = 20  # of ROWS values each, from the first BANDS * ROWS values of the signature
ROWS = 3
THRESHOLD = 0.4
SEED = 1
LEAD_WORDS = 60
STEM_LETTERS = 5
# Identical text this short ("Read more.", "Developing story") is not enough to call two items copies.
MIN_HASHED_WORDS = 8
# A dismissed story comes back to the inbox only when its coverage at least doubles, by at least this
# many outlets that were not telling it when the editor dismissed it.
REOPEN_NEW_OUTLETS = 3
CHUNK = 250
# Earlier items compared with each new one: those sharing the most bands with it.
MAX_CANDIDATES = 24

assert BANDS * ROWS <= NUM_PERM  # noqa: S101 - bands cannot use values the signature does not have

SIGNATURE_BYTES = NUM_PERM * 4

# Common function words of English and of the other languages outlets write in most often here. Short
# alphabetic words (two letters or fewer) are dropped anyway.
_STOPWORDS_TEXT = """
    about above after again against all also among and any are around because been before being below
    between both but can could did does doing down during each few for from further had has have having
    her here hers him his how into its itself just more most near not now off once only other our ours out
    over own same she should some such than that the their theirs them then there these they this those
    through too under until very was were what when where which while who whom why will with would you
    your yours said says say according told new
    les des une dans pour par sur avec que qui est son ses aux del los las por para con una
    der die das und den dem des ein eine mit von auf ist
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

_THOUSANDS = re.compile(r"(?<=\d)[,.'\u2019](?=\d{3}(?!\d))")
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_WORD = re.compile(r"\w+")
_LONG_TOKEN = 15  # scripts that do not separate words (Chinese, Japanese, Thai): use character pairs


def _words(text):
    text = _THOUSANDS.sub("", text.casefold())
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return _WORD.findall(text)


def normalise(text):
    """Casefold, strip accents and punctuation: "Évacuation à 3,000 m!" -> "evacuation a 3000 m"."""
    return " ".join(_words(text))


def shingles(title, text):
    """The set of words a story is compared by: content words of the title and the lead, cut to five
    letters so "evacuate", "evacuation" and "evacuees" count as one word. Words of one or two letters
    are dropped unless they are numbers ("I-10", "5 percent")."""
    lead = " ".join((text or "").split(maxsplit=LEAD_WORDS)[:LEAD_WORDS])
    words = _words(f"{title or ''} {lead}")
    kept = {word[:STEM_LETTERS] for word in words if len(word) > 2 and word not in STOPWORDS}
    kept.update(word for word in words if len(word) <= 2 and word.isdigit())
    long_words = [word for word in words if len(word) > _LONG_TOKEN and not word.isascii()]
    for word in long_words:
        kept.discard(word[:STEM_LETTERS])
        kept.update(word[i : i + 2] for i in range(len(word) - 1))
    return kept


def _fmix64(values):
    values = values ^ (values >> np.uint64(33))
    values = values * np.uint64(0xFF51AFD7ED558CCD)
    values = values ^ (values >> np.uint64(33))
    values = values * np.uint64(0xC4CEB9FE1A85EC53)
    return values ^ (values >> np.uint64(33))


def signatures(word_sets):
    """MinHash signatures of many word sets: an (n, NUM_PERM) uint32 array. A set without words keeps
    the empty signature (all 0xFFFFFFFF), which matches nothing."""
    minhashes = MinHash.bulk(
        ([word.encode("utf-8") for word in words] for words in word_sets), num_perm=NUM_PERM, seed=SEED
    )
    return np.array([minhash.hashvalues for minhash in minhashes], dtype=np.uint32).reshape(-1, NUM_PERM)


def band_keys(signature_rows):
    """One 31-bit key per LSH band and item: an (n, BANDS) int64 array of values in [0, 2**31).

    Each band's ROWS values are folded FNV-style, seeded by the band's number, and mixed: equal bands give
    equal keys that fit an IntegerField; a chance collision is turned away by the similarity check."""
    banded = signature_rows[:, : BANDS * ROWS]
    values = banded.reshape(len(banded), BANDS, ROWS).astype(np.uint64)
    keys = np.broadcast_to(
        np.arange(1, BANDS + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15), values.shape[:2]
    ).copy()
    for row in range(ROWS):
        keys = (keys ^ values[:, :, row]) * np.uint64(0x100000001B3)
    return (_fmix64(keys) >> np.uint64(33)).astype(np.int64)


def similarity(signature, other):
    """Estimated Jaccard similarity of the two word sets behind two signatures."""
    return float(np.count_nonzero(signature == other)) / NUM_PERM


def _is_article_url(url):
    """A URL that names one story. Some feeds link every entry to the home page; those are not copies."""
    parts = urlsplit(url or "")
    return bool(parts.netloc) and bool(parts.path.strip("/") or parts.query)


def _hashable_text(item):
    return bool(item.content_hash) and len((item.text or "").split()) >= MIN_HASHED_WORDS


def _may_have_bands(item):
    """Whether an item may have LSH bands: only one with a signature can (the two are written together)."""
    return "minhash" in item.get_deferred_fields() or item.minhash is not None


def _order(item):
    return (item.first_seen_at, item.id)


def assign_clusters(items, *, now=None):
    """Mark copies, file every item of the batch in a cluster, and keep the touched clusters right.

    Items are taken in the order they were first seen, so the earliest item of a story is its original
    and items of one batch that tell the same story end up together. The ``cluster_id``,
    ``duplicate_of_id`` and ``minhash`` of the given objects are updated in place.
    """
    items = sorted((item for item in items if item.id), key=_order)
    if not items:
        return
    now = now or timezone.now()
    for batch in chunks(items, CHUNK):
        with transaction.atomic():
            _assign_chunk(batch, now)


def _find_originals(items, since):
    """{item pk: (original pk, matched pk, matched item's cluster id)} for the batch's copies.

    The matched item is the earliest earlier item with the same URL or text; the original is the item
    it is a copy of, or itself. Its cluster is the copy's cluster (a copy shares its original's).
    """
    urls = {item.url for item in items if _is_article_url(item.url)}
    hashes = {item.content_hash for item in items if _hashable_text(item)}
    if not urls and not hashes:
        return {}
    matches = Q(url__in=urls) if urls else Q()
    if hashes:
        matches = matches | Q(content_hash__in=hashes) if urls else Q(content_hash__in=hashes)
    rows = (
        Item.objects.filter(matches, first_seen_at__gte=since)
        .order_by()
        .values_list("pk", "url", "content_hash", "first_seen_at", "duplicate_of_id", "cluster_id")
    )
    by_url, by_hash, root_of, cluster_of = defaultdict(list), defaultdict(list), {}, {}
    for pk, url, content_hash, first_seen_at, duplicate_of_id, cluster_id in rows:
        if url in urls:
            by_url[url].append((first_seen_at, pk))
        if content_hash in hashes:
            by_hash[content_hash].append((first_seen_at, pk))
        root_of[pk] = duplicate_of_id or pk
        cluster_of[pk] = cluster_id
    found = {}
    for item in items:  # in order: an earlier copy in the batch is resolved before a later one
        root_of[item.id] = item.id  # until shown to be a copy; stale links from earlier runs do not count
        candidates = by_url.get(item.url, []) if item.url in urls else []
        if _hashable_text(item):
            candidates = candidates + by_hash.get(item.content_hash, [])
        earlier = [key for key in candidates if key[1] != item.id and key < _order(item)]
        if not earlier:
            continue
        matched = min(earlier)[1]
        root = root_of[matched]
        if root != item.id:
            found[item.id] = (root, matched, cluster_of[matched])
            root_of[item.id] = root
    return found


def _assign_chunk(items, now):
    since = min(now, items[0].first_seen_at) - WINDOW
    previous_cluster = {item.id: item.cluster_id for item in items}
    previous_original = {item.id: item.duplicate_of_id for item in items}
    originals = _find_originals(items, since)

    word_sets = [shingles(item.title, item.text) for item in items]
    sigs = signatures(word_sets)
    keys = band_keys(sigs).tolist()  # Python ints: dictionary keys and query parameters
    banded = [bool(words) and item.id not in originals for item, words in zip(items, word_sets, strict=True)]

    # Replace the batch's bands first (re-enriched items must not keep stale ones), then find every
    # other item sharing a band with the batch in one query: a subquery on the rows just written, so
    # the query has a parameter per item rather than per band.
    batch_pks = list(previous_cluster)
    # Only an item that has a signature can have bands: a new item has neither, and costs no DELETE.
    signed = [item.id for item in items if _may_have_bands(item)]
    if signed:
        ItemBand.objects.filter(item_id__in=signed).delete()
    # In key order: each row lands next to the previous one in the key index, not on a random page.
    # Each key once per item: (key, item) is the table's primary key.
    band_rows = sorted(
        (key, item.id) for index, item in enumerate(items) if banded[index] for key in set(keys[index])
    )
    insert_rows(ItemBand, ["key", "item"], band_rows)
    # Each item is compared with the earlier items sharing most bands with it (the number of shared
    # bands grows with similarity), so a story told a hundred times costs no more than one told ten.
    shortlist = _shortlists(batch_pks) if any(banded) else {}
    shortlist = {item.id: shortlist.get(item.id, []) for index, item in enumerate(items) if banded[index]}
    known = {}  # pk -> (cluster id, signature)
    wanted = set(chain.from_iterable(shortlist.values()))
    if wanted:
        # The window is exact here: bands of items older than it may linger until the hourly prune.
        candidates = Item.objects.filter(pk__in=wanted, cluster__isnull=False, first_seen_at__gte=since)
        for pk, cluster_id, minhash in candidates.order_by().values_list("pk", "cluster_id", "minhash"):
            if minhash is not None and len(minhash) == SIGNATURE_BYTES:
                known[pk] = (cluster_id, np.frombuffer(minhash, dtype=np.uint32))

    # Places matter only for pairs similar enough to join, so they are read for the batch and for the
    # earlier candidates at or above THRESHOLD with some batch item, not for every candidate.
    scores = _shortlist_similarities(items, sigs, shortlist, known)
    similar = {pk for found in scores.values() for pk, score in found.items() if score >= THRESHOLD}
    areas = _areas_of([*batch_pks, *similar])
    batch_holders = defaultdict(list)  # band key -> pks of batch items already assigned
    cluster_of = {}  # batch pk -> cluster id or a _NewCluster
    new_clusters = []
    for index, item in enumerate(items):
        target = None
        if item.id in originals:
            _, matched, matched_cluster_id = originals[item.id]
            target = cluster_of.get(matched) or matched_cluster_id
        elif banded[index]:
            in_batch = chain.from_iterable(batch_holders.get(key, ()) for key in keys[index])
            candidates = {*shortlist[item.id], *in_batch}
            target = _best_cluster(item, sigs[index], candidates, known, cluster_of, areas, scores[item.id])
            for key in keys[index]:
                batch_holders[key].append(item.id)
            known[item.id] = (None, sigs[index])
        if target is None:
            target = item.cluster_id
        if target is None:
            target = _NewCluster(item)
            new_clusters.append(target)
        cluster_of[item.id] = target

    _create_clusters(new_clusters, cluster_of, items, originals)
    for item, sig in zip(items, sigs, strict=True):
        target = cluster_of[item.id]
        item.cluster_id = target if isinstance(target, int) else target.pk
        item.duplicate_of_id = originals[item.id][0] if item.id in originals else None
        item.minhash = sig.tobytes()
    # duplicate_of is written only when some item's changes: an UPDATE naming an indexed column costs an
    # index write per row even when the value stays the same.
    if any(item.duplicate_of_id != previous_original[item.id] for item in items):
        fields, rows = (
            ["cluster", "duplicate_of", "minhash"],
            [(item.id, item.cluster_id, item.duplicate_of_id, item.minhash) for item in items],
        )
    else:
        fields, rows = ["cluster", "minhash"], [(item.id, item.cluster_id, item.minhash) for item in items]
    update_rows(Item, fields, rows)
    # Clusters started here are complete already; the others (joined or left) are summarised again.
    touched = {item.cluster_id for item in items} | {pk for pk in previous_cluster.values() if pk}
    refresh_clusters(touched - {cluster.pk for cluster in new_clusters}, now=now)


def _shortlist_similarities(items, sigs, shortlist, known):
    """{batch item pk: {shortlisted candidate pk: similarity}}, every pair of the batch in one numpy pass."""
    scores = defaultdict(dict)
    pairs = [
        (index, pk) for index, item in enumerate(items) for pk in shortlist.get(item.id, ()) if pk in known
    ]
    if not pairs:
        return scores
    rows, pks = zip(*pairs, strict=True)
    agreeing = (np.stack([known[pk][1] for pk in pks]) == sigs[list(rows)]).sum(axis=1) / NUM_PERM
    for index, pk, score in zip(rows, pks, agreeing.tolist(), strict=True):
        scores[items[index].id][pk] = score
    return scores


class _NewCluster:
    """A cluster a batch item starts; its row is written once the whole batch has been assigned."""

    __slots__ = ("item", "lead_id", "pk")

    def __init__(self, item):
        self.item, self.lead_id, self.pk = item, None, None


def _create_clusters(new_clusters, cluster_of, items, originals):
    """Insert the new clusters, their summaries already complete.

    A cluster started by this batch holds only items of this batch, so its lead, title, counts and times
    are worked out here by the rules of ``refresh_clusters`` rather than read back from the database.
    """
    if not new_clusters:
        return
    members = defaultdict(list)
    for item in items:
        target = cluster_of[item.id]
        if isinstance(target, _NewCluster):
            members[target].append(item)
    trust = _trust_of_sources(members.values(), originals)
    rows = []
    for cluster in new_clusters:
        group = members[cluster]
        originals_in = [item for item in group if item.id not in originals]
        if originals_in:
            lead = min(originals_in, key=lambda it: (-trust.get(it.source_id, DEFAULT_TRUST), _order(it)))
        else:  # only copies, whose originals are elsewhere: the starter stays the lead
            lead = cluster.item
        cluster.lead_id = lead.id
        outlets = {_outlet_of_item(item) for item in group}
        seen = [item.first_seen_at for item in group]
        rows.append(
            Cluster(
                lead_id=lead.id,
                title=lead.title[:500],
                item_count=len(group),
                outlet_count=len(outlets),
                first_seen_at=min(seen),
                last_seen_at=max(seen),
            )
        )
    Cluster.objects.bulk_create(rows)
    for cluster, row in zip(new_clusters, rows, strict=True):
        cluster.pk = row.pk


def _trust_of_sources(groups, originals):
    """{source pk: trust} for the sources whose trust decides a new cluster's lead: those of clusters
    whose originals come from more than one source. Usually none (a batch is one feed), so no query."""
    wanted = set()
    for group in groups:
        sources = {item.source_id for item in group if item.id not in originals}
        if len(sources) > 1:
            wanted |= sources
    wanted.discard(None)
    if not wanted:
        return {}
    return dict(Source.objects.filter(pk__in=wanted).values_list("pk", "trust"))


def _outlet_of_item(item):
    """``_outlet_of`` for an item in memory, with the same rule for when the link's host counts."""
    unnamed_url = item.url if item.outlet == "" and item.source_id is None else ""
    return _outlet_of({"outlet": item.outlet, "source_id": item.source_id, "unnamed_url": unnamed_url})


def _shortlists(batch_pks):
    """{batch item pk: the MAX_CANDIDATES other items sharing most LSH bands with it, the newest first
    among equals}, in one query.

    The database ranks, so a few dozen rows per item come back rather than every holder of every band.
    The batch's own bands are already written; bands of items past the window may linger until the hourly
    ``forget_old_bands``, and the caller drops those. SQLite ranks each item in a subquery of its own
    (cheaper there than one window over all pairs; see docs/wire.md); other databases use the window.
    """
    connection = connections[router.db_for_read(ItemBand)]
    table = connection.ops.quote_name(ItemBand._meta.db_table)
    lists = defaultdict(list)
    if connection.vendor == "sqlite":
        batch = json.dumps(batch_pks)
        sql = f"""
            SELECT batch.value, (
                SELECT json_group_array(other_item) FROM (
                    SELECT theirs.item_id AS other_item
                    FROM {table} mine JOIN {table} theirs ON theirs.key = mine.key
                    WHERE mine.item_id = batch.value
                      AND theirs.item_id NOT IN (SELECT value FROM json_each(%s))
                    GROUP BY theirs.item_id
                    ORDER BY COUNT(*) DESC, theirs.item_id DESC
                    LIMIT %s
                )
            )
            FROM json_each(%s) AS batch
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [batch, MAX_CANDIDATES, batch])
            for batch_item, others in cursor.fetchall():
                lists[batch_item] = json.loads(others)
        return lists
    batch = ", ".join(["%s"] * len(batch_pks))
    sql = f"""
        SELECT batch_item, other_item FROM (
            SELECT mine.item_id AS batch_item, theirs.item_id AS other_item,
                   ROW_NUMBER() OVER (
                       PARTITION BY mine.item_id ORDER BY COUNT(*) DESC, theirs.item_id DESC
                   ) AS place_in_list
            FROM {table} mine JOIN {table} theirs ON theirs.key = mine.key
            WHERE mine.item_id IN ({batch}) AND theirs.item_id NOT IN ({batch})
            GROUP BY mine.item_id, theirs.item_id
        ) ranked
        WHERE place_in_list <= %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*batch_pks, *batch_pks, MAX_CANDIDATES])
        for batch_item, other_item in cursor.fetchall():
            lists[batch_item].append(other_item)
    return lists


def _areas_of(pks):
    """{item pk: the countries and US states its places lie in}, from places named in the item.

    Two reports of different events often read alike ("Wildfire near Paradise, California: evacuation
    orders as crews respond" and the same words about Tulsa, Oklahoma) and differ only in where. Places
    are compared at country and state level, so a story told from Paradise and from nearby Chico still
    matches; the source's home region, a guess, does not count.
    """
    areas = defaultdict(set)
    rows = (
        ItemPlace.objects.filter(item_id__in=pks)
        .exclude(origin=ItemPlace.Origin.HOME)
        .order_by()
        .values_list("item_id", "region__path")
    )
    for pk, path in rows:
        areas[pk].add("/".join(path.strip("/").split("/")[:2]) + "/")
    return areas


def same_area(areas, other):
    """Whether two items' areas allow one story: either names no place, or one area holds the other."""
    if not areas or not other:
        return True
    return any(a.startswith(b) or b.startswith(a) for a in areas for b in other)


def _best_cluster(item, signature, candidates, known, cluster_of, areas, scores):
    """The cluster of the most similar candidate at or above THRESHOLD, in the same area, preferring the
    item's own cluster. ``scores`` has the similarities already worked out; the rest (candidates from
    the batch itself) are worked out here."""
    pks = sorted(pk for pk in candidates if pk in known and pk != item.id)
    if not pks:
        return None
    missing = [pk for pk in pks if pk not in scores]
    if missing:
        agreeing = (np.stack([known[pk][1] for pk in missing]) == signature).sum(axis=1) / NUM_PERM
        scores = {**scores, **dict(zip(missing, agreeing.tolist(), strict=True))}
    best, best_score = None, -1.0
    for pk in pks:
        score, target = scores[pk], cluster_of.get(pk, known[pk][0])
        if score < THRESHOLD or target is None or not same_area(areas.get(item.id), areas.get(pk)):
            continue
        if item.cluster_id is not None and target == item.cluster_id:
            return target  # re-enriched and still like its own story: do not move it
        if score > best_score:
            best, best_score = target, score
    return best


def refresh_clusters(cluster_ids, *, now=None):
    """Recompute title, lead, counts and times of these clusters from their items.

    The lead is the original (not a copy) from the most trusted source, the earliest among equals: a
    draft credits the lead's outlet, and who broke the story wins a tie. ``item_count`` counts every
    item, copies included; ``outlet_count`` counts distinct outlets (by name, else source, else link
    host). First and last seen are the earliest and latest first-seen times of the items. Editors'
    decisions stand: a drafted, snoozed or reviewed cluster keeps its status when items join, and a
    dismissed one too, unless its coverage has since at least doubled by at least ``REOPEN_NEW_OUTLETS``
    new outlets (then it is new again). A cluster left without items is deleted, unless a post was
    drafted from it.
    """
    cluster_ids = {pk for pk in cluster_ids if pk}
    if not cluster_ids:
        return
    now = now or timezone.now()
    # Plain records, not Cluster objects (building those cost more than the queries): _summarise reads
    # and sets the summary fields by their attribute names.
    attnames = [Cluster._meta.get_field(name).attname for name in _SUMMARY_FIELDS]
    clusters = {
        row["id"]: SimpleNamespace(**row)
        for row in Cluster.objects.filter(pk__in=cluster_ids).order_by().values("id", "post_id", *attnames)
    }
    # One row per cluster and outlet, not per item, so a story told 500 times costs as little as one
    # told 5 times; and the lead by a window function, one row per cluster.
    unnamed = Case(When(Q(outlet="") & Q(source__isnull=True), then=F("url")), default=Value(""))
    outlets = defaultdict(list)
    for row in (
        Item.objects.filter(cluster_id__in=cluster_ids)
        .order_by()
        .values("cluster_id", "outlet", "source_id", unnamed_url=unnamed)
        .annotate(count=Count("pk"), first=Min("first_seen_at"), last=Max("first_seen_at"))
    ):
        outlets[row["cluster_id"]].append(row)
    # The lead: rank 1 of its cluster, originals first. Originals are told apart by the ranking rather than
    # by a WHERE on duplicate_of, which SQLite would answer from the duplicate_of index: a scan of every
    # original ever stored, instead of the items of these clusters. A cluster whose rank 1 is a copy has
    # no original, and keeps its lead.
    ranked = (
        Item.objects.filter(cluster_id__in=cluster_ids)
        .order_by()
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=F("cluster_id"),
                order_by=[
                    F("duplicate_of").asc(nulls_first=True),
                    Coalesce("source__trust", DEFAULT_TRUST).desc(),
                    F("first_seen_at").asc(),
                    F("pk").asc(),
                ],
            )
        )
        .filter(rank=1)
        .values_list("cluster_id", "pk", "title", "duplicate_of")
    )
    leads = {cluster_id: (pk, title) for cluster_id, pk, title, copy_of in ranked if copy_of is None}

    # A story joined by one more report usually changes only its counts and last seen; those clusters
    # get an UPDATE of just those columns. An UPDATE naming an indexed column (lead, status, first seen)
    # rewrites its index entry even when the value stays the same. Clusters that did not change at all
    # are not written.
    light = [_SUMMARY_FIELDS.index(name) for name in _COUNT_FIELDS]
    only_counts = set(light)
    full_rows, light_rows, empty = [], [], []
    for pk, cluster in clusters.items():
        if pk in outlets:
            before = [getattr(cluster, name) for name in attnames]
            _summarise(cluster, outlets[pk], leads.get(pk), now)
            after = [getattr(cluster, name) for name in attnames]
            changed = {index for index, value in enumerate(after) if value != before[index]}
            if changed and changed <= only_counts:
                light_rows.append((pk, *(after[index] for index in light)))
            elif changed:
                full_rows.append((pk, *after))
        elif cluster.post_id is None:
            empty.append(pk)

    update_rows(Cluster, _COUNT_FIELDS, light_rows)
    update_rows(Cluster, _SUMMARY_FIELDS, full_rows)
    if empty:
        Cluster.objects.filter(pk__in=empty).delete()


_COUNT_FIELDS = ["item_count", "outlet_count", "last_seen_at"]
_SUMMARY_FIELDS = [
    "lead",
    "title",
    "item_count",
    "outlet_count",
    "first_seen_at",
    "last_seen_at",
    "status",
    "status_changed_at",
    "status_changed_by",
]


def _outlet_of(row):
    """Who told the story, for "N outlets": the outlet's name, else its source, else the link's host."""
    name = (row["outlet"] or "").strip().casefold()
    if name:
        return name
    if row["source_id"]:
        return f"source:{row['source_id']}"
    return host_of(row["unnamed_url"]) or "unknown"


def _summarise(cluster, rows, lead, now):
    first_seen = defaultdict(list)  # outlet -> when each of its groups was first seen
    for row in rows:
        first_seen[_outlet_of(row)].append(row["first"])
    earliest = {outlet: min(times) for outlet, times in first_seen.items()}

    if cluster.status == Cluster.Status.DISMISSED:
        dismissed_at = cluster.status_changed_at or cluster.last_seen_at
        before = sum(1 for when in earliest.values() if when <= dismissed_at)
        joined = len(earliest) - before
        if joined >= max(REOPEN_NEW_OUTLETS, before):
            cluster.status = Cluster.Status.NEW
            cluster.status_changed_at = now
            cluster.status_changed_by_id = None

    if lead:
        cluster.lead_id, title = lead
        cluster.title = title[:500]
    cluster.item_count = sum(row["count"] for row in rows)
    cluster.outlet_count = len(earliest)
    cluster.first_seen_at = min(row["first"] for row in rows)
    cluster.last_seen_at = max(row["last"] for row in rows)


def forget_old_bands(*, now=None):
    """Delete the LSH bands of items first seen before the matching window; nothing may match them any
    more. Returns the count. Run hourly (``tasks.prune``): until then they can take a place on a
    shortlist, and are dropped when the candidates are read."""
    cutoff = (now or timezone.now()) - WINDOW
    deleted, _ = ItemBand.objects.filter(item__first_seen_at__lt=cutoff).delete()
    return deleted
