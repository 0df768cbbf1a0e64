"""Putting the set through the real wire and reading back what it decided.

The database is a fresh test database (Django's test utilities; in memory with SQLite) holding the whole
gazetteer and the default topics, nothing else. Each outlet is a ``Source``; each item becomes a one-entry
RSS 2.0 document handed to ``ingest.ingest_feed``, as a poll hands it a fetched feed, in published-time
order, with the clock (``now``) set just after the item was published, so the clustering window and the
date checks see the set's own times. What the wire decided is then read from the database.
"""

import platform
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import django
from django.db import connection
from django.test.utils import setup_test_environment

from watchdesk.taxonomy.gazetteer import load_gazetteer
from watchdesk.taxonomy.models import Region
from watchdesk.taxonomy.topics_loader import load_default_topics
from watchdesk.wire import places, topics
from watchdesk.wire.eval import dataset, scoring
from watchdesk.wire.ingest import ingest_feed
from watchdesk.wire.models import Cluster, Item, ItemPlace, ItemTopic, Source

INGEST_DELAY = timedelta(minutes=2)  # how long after publication a poll sees an item
RESULTS = Path(__file__).resolve().parents[3] / "bench" / "RESULTS.md"
START, END = "<!-- eval-results:start -->", "<!-- eval-results:end -->"
# (name, key in the report, target): the targets, checked and printed, never asserted in tests.
TARGETS = [
    ("topic micro-F1", ("topics", "micro", "f1"), 0.92),
    ("place accuracy", ("places", "accuracy"), 0.95),
    ("cluster precision", ("clusters", "precision"), 0.95),
    ("cluster recall", ("clusters", "recall"), 0.90),
]


def create_database():
    """A fresh test database with the full gazetteer and the default topics."""
    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    load_gazetteer()
    load_default_topics()
    places.forget_geotagger()
    topics.forget_matcher()


def feed_document(item):
    """One RSS 2.0 document holding ``item``, as its outlet's feed would serve it."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(item.outlet.name)}</title><link>{escape(item.outlet.feed)}</link>"
        f"<language>{escape(item.language)}</language><item>"
        f"<title>{escape(item.title)}</title><link>{escape(item.url)}</link>"
        f'<guid isPermaLink="false">{escape(item.id)}</guid>'
        f"<pubDate>{format_datetime(item.published, usegmt=True)}</pubDate>"
        f"<description>{escape(item.text)}</description>"
        "</item></channel></rss>"
    ).encode()


def ingest(items):
    """Sources for the items' outlets, then every item through ``ingest_feed`` in published order.
    Returns {item id: stored Item id}."""
    home_ids = dict(Region.objects.filter(code__in={i.outlet.home for i in items}).values_list("code", "pk"))
    sources = {}
    for outlet in sorted({item.outlet for item in items}, key=lambda outlet: outlet.key):
        sources[outlet.key] = Source.objects.create(
            name=outlet.name,
            url=outlet.feed,
            language=outlet.language,
            home_region_id=home_ids.get(outlet.home),
        )
    for item in sorted(items, key=lambda item: (item.published, item.id)):
        source = sources[item.outlet.key]
        # flag=False as polling does: surges are re-checked once after a polling run, not per feed.
        summary = ingest_feed(
            source,
            feed_document(item),
            content_type="application/rss+xml",
            now=item.published + INGEST_DELAY,
            flag=False,
        )
        if summary.created != 1:
            raise RuntimeError(f"{item.id} was not stored: {summary} {summary.problems}")
    stored = Item.objects.values_list("source__url", "guid", "pk")
    by_key = {(url, guid): pk for url, guid, pk in stored}
    return {item.id: by_key[(item.outlet.feed, item.id)] for item in items}


def decisions(items, stored):
    """What the wire decided, keyed by item id: topics, places (not the home-region fallback), cluster."""
    eval_id = {pk: item_id for item_id, pk in stored.items()}
    got_topics = {item.id: set() for item in items}
    for pk, slug in ItemTopic.objects.filter(item_id__in=eval_id).values_list("item_id", "topic__slug"):
        got_topics[eval_id[pk]].add(slug)
    got_places = {item.id: set() for item in items}
    links = ItemPlace.objects.filter(item_id__in=eval_id).exclude(origin=ItemPlace.Origin.HOME)
    for pk, code in links.values_list("item_id", "region__code"):
        got_places[eval_id[pk]].add(code)
    clusters = {
        eval_id[pk]: cluster
        for pk, cluster in Item.objects.filter(pk__in=eval_id).values_list("pk", "cluster_id")
    }
    outlet_counts = dict(
        Cluster.objects.filter(pk__in=set(clusters.values())).values_list("pk", "outlet_count")
    )
    return got_topics, got_places, clusters, outlet_counts


def region_info(codes):
    """{code: (name, ancestor codes)} for the codes given."""
    rows = Region.objects.filter(code__in=codes).values_list("code", "name", "path", "parent__name")
    return {
        code: (f"{name}, {parent}" if parent else name, set(Region.codes_in(path)[:-1]))
        for code, name, path, parent in rows
    }


def evaluate(items):
    """Ingest ``items`` (places resolved) into the current, empty database and score the wire. A dict."""
    stored = ingest(items)
    got_topics, got_places, clusters, outlet_counts = decisions(items, stored)
    by_id = {item.id: item for item in items}
    slugs = dataset.default_topic_slugs()

    micro, per_topic, topic_misses = scoring.topic_scores(
        {item.id: set(item.topics) for item in items}, got_topics, slugs
    )
    codes = set().union(*(item.place_codes for item in items), *got_places.values())
    info = region_info(codes)
    ancestors = {code: parents for code, (_, parents) in info.items()}
    right, total, place_misses = scoring.place_scores(
        {item.id: set(item.place_codes) for item in items}, got_places, ancestors
    )
    stories = {item.id: item.story for item in items}
    pairs, splits, merges = scoring.cluster_scores(stories, clusters)
    outlets_right, outlets_checked, outlet_misses = scoring.outlet_checks(
        stories, clusters, {item.id: item.outlet.name for item in items}, outlet_counts
    )

    def named(code_list):
        return [f"{code} {info[code][0]}" if code in info else code for code in code_list]

    def brief(item_id):
        return {"id": item_id, "title": by_id[item_id].title}

    story_sizes = Counter(stories.values())
    report = {
        "set": {
            "items": len(items),
            "themes": sorted({item.theme for item in items}),
            "stories": len(story_sizes),
            "stories_told_by_several_items": sum(1 for size in story_sizes.values() if size > 1),
            "items_without_topic": sum(1 for item in items if not item.topics),
            "languages": dict(Counter(item.language for item in items).most_common()),
        },
        "topics": {
            "micro": micro.as_dict(),
            "per_topic": {
                slug: {**ratio.as_dict(), "support": ratio.tp + ratio.fn} for slug, ratio in per_topic.items()
            },
        },
        "places": {"right": right, "total": total, "accuracy": right / total if total else 1.0},
        "clusters": {**pairs.as_dict(), "clusters": len(set(clusters.values()))},
        "outlets": {"right": outlets_right, "checked": outlets_checked},
        "misses": {
            "topics": [
                {
                    **brief(item_id),
                    "expected": sorted(by_id[item_id].topics),
                    "missing": missing,
                    "extra": extra,
                }
                for item_id, missing, extra in topic_misses
            ],
            "places": [
                {**brief(item_id), "expected": named(wanted), "got": named(found)}
                for item_id, wanted, found in place_misses
            ],
            "clusters": [{"kind": "split", "story": story, "parts": parts} for story, parts in splits]
            + [{"kind": "merged", "stories": told} for _, told in merges],
            "outlets": [
                {"story": story, "expected": wanted, "got": found} for story, wanted, found in outlet_misses
            ],
        },
    }
    report["targets"] = [
        {"name": name, "value": _dig(report, path), "target": target, "pass": _dig(report, path) >= target}
        for name, path, target in TARGETS
    ]
    return report


def _dig(report, path):
    value = report
    for key in path:
        value = value[key]
    return value


# --- Printing -------------------------------------------------------------------------------------------


def render_text(report, titles):
    """The report for a terminal: figures, targets, then every miss grouped by kind."""
    s, t, c = report["set"], report["topics"]["micro"], report["clusters"]
    p, o = report["places"], report["outlets"]
    lines = [
        f"Wire evaluation: {s['items']} items, {s['stories']} stories "
        f"({s['stories_told_by_several_items']} told "
        f"by several items), themes: {', '.join(s['themes'])}",
        "",
        f"Topics (micro)  precision {t['precision']:.3f}  recall {t['recall']:.3f}  F1 {t['f1']:.3f}  "
        f"(tp {t['tp']}, fp {t['fp']}, fn {t['fn']})",
    ]
    for slug, ratio in report["topics"]["per_topic"].items():
        lines.append(
            f"  {slug:26} P {ratio['precision']:.2f}  R {ratio['recall']:.2f}  F1 {ratio['f1']:.2f}  "
            f"support {ratio['support']:3}  fp {ratio['fp']}"
        )
    lines += [
        f"Places          accuracy {p['accuracy']:.3f}  ({p['right']} of {p['total']} items right)",
        f"Clusters (pairs) precision {c['precision']:.3f}  recall {c['recall']:.3f}  F1 {c['f1']:.3f}  "
        f"(tp {c['tp']}, fp {c['fp']}, fn {c['fn']}; {c['clusters']} clusters)",
        f"Outlet counts   {o['right']} of {o['checked']} multi-item stories are one cluster counting their "
        "distinct outlets",
        "",
    ]
    for target in report["targets"]:
        verdict = "PASS" if target["pass"] else "FAIL"
        lines.append(f"{verdict}  {target['name']} {target['value']:.3f} (target >= {target['target']})")
    misses = report["misses"]
    lines += ["", f"Topic misses ({len(misses['topics'])})"]
    for miss in misses["topics"]:
        lines.append(f"  {miss['id']}: {miss['title']}")
        lines.append(
            f"      expected {miss['expected'] or '-'}; missing {miss['missing'] or '-'}; "
            f"extra {miss['extra'] or '-'}"
        )
    lines += ["", f"Place misses ({len(misses['places'])})"]
    for miss in misses["places"]:
        lines.append(f"  {miss['id']}: {miss['title']}")
        lines.append(f"      expected {miss['expected'] or '-'}; got {miss['got'] or '-'}")
    lines += ["", f"Cluster misses ({len(misses['clusters'])})"]
    for miss in misses["clusters"]:
        if miss["kind"] == "split":
            lines.append(f"  story {miss['story']} split into {len(miss['parts'])} clusters:")
            for part in miss["parts"]:
                lines.append(f"      {', '.join(part)}: {titles[part[0]]}")
        else:
            lines.append(f"  stories merged into one cluster: {', '.join(miss['stories'])}")
            for story, part in miss["stories"].items():
                lines.append(f"      {story}: {', '.join(part)}: {titles[part[0]]}")
    lines += ["", f"Outlet count misses ({len(misses['outlets'])})"]
    for miss in misses["outlets"]:
        lines.append(f"  story {miss['story']}: expected {miss['expected']} outlets; got {miss['got']}")
    return "\n".join(lines)


def render_results(report, *, command, seconds):
    """The "Wire evaluation" section of bench/RESULTS.md, from one run."""
    s, t, c = report["set"], report["topics"]["micro"], report["clusters"]
    p, o, m = report["places"], report["outlets"], report["misses"]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    languages = ", ".join(f"{code} {count}" for code, count in s["languages"].items())
    lines = [
        f"Run {when}, `{command}` ({seconds:.1f} s: setup and ingest included), Python "
        f"{platform.python_version()}, Django {django.get_version()}.",
        "",
        f"- Set: {s['items']} items ({languages}), {s['stories']} stories of which "
        f"{s['stories_told_by_several_items']} told by several items, "
        f"{s['items_without_topic']} items with no "
        f"topic; themes: {', '.join(s['themes'])}.",
        "",
        "| measure | value | target | |",
        "|---|---:|---:|---|",
    ]
    for target in report["targets"]:
        verdict = "**PASS**" if target["pass"] else "**FAIL**"
        lines.append(f"| {target['name']} | {target['value']:.3f} | >= {target['target']} | {verdict} |")
    lines += [
        f"| topic micro precision / recall | {t['precision']:.3f} / {t['recall']:.3f} | | "
        f"tp {t['tp']}, fp {t['fp']}, fn {t['fn']} |",
        f"| places right | {p['right']} of {p['total']} | | |",
        f"| cluster pairwise F1 | {c['f1']:.3f} | | tp {c['tp']}, fp {c['fp']}, fn {c['fn']} |",
        "| multi-item stories grouped alone with the right outlet count | "
        f"{o['right']} of {o['checked']} | | |",
        "",
        "| topic | precision | recall | F1 | support |",
        "|---|---:|---:|---:|---:|",
    ]
    for slug, ratio in report["topics"]["per_topic"].items():
        lines.append(
            f"| {slug} | {ratio['precision']:.2f} | {ratio['recall']:.2f} | {ratio['f1']:.2f} "
            f"| {ratio['support']} |"
        )
    split = sum(1 for miss in m["clusters"] if miss["kind"] == "split")
    lines += [
        "",
        f"Misses: {len(m['topics'])} items with a topic wrong, {len(m['places'])} with places wrong, {split} "
        f"stories split, {len(m['clusters']) - split} clusters merging stories, {len(m['outlets'])} outlet "
        "counts wrong; `make eval` lists each one.",
    ]
    return "\n".join(lines)


def write_results(section, path=RESULTS):
    """Replace the text between the eval markers in bench/RESULTS.md (adding the section if missing)."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if START not in old:
        old = (
            old.rstrip("\n")
            + "\n\n## Wire evaluation (`make eval`)\n\n"
            + (
                "Written by `python -m watchdesk.wire.eval --write-results`; the set, the rules and how to "
                "add "
                "items are in [docs/wire.md](../docs/wire.md#evaluation-set).\n\n"
            )
            + f"{START}\n{END}\n"
        )
    head, _, rest = old.partition(START)
    path.write_text(f"{head}{START}\n{section}\n{END}{rest.partition(END)[2]}", encoding="utf-8")
