"""Watchdesk wire benchmark: 10,000 feed items through the whole pipeline, beside feedparser alone.

Run ``.venv/bin/python bench/wire.py [--items 10000] [--runs 3]`` (or ``make bench-wire``). The method and
its caveats are in bench/README.md; the last results in bench/RESULTS.md (its wire section is rewritten).

1. Feeds: 100 generated feeds (RSS 2.0 and Atom 1.0 in turn) of 100 entries each, written
   here from a fixed seed: first-responder headlines and two to four sentences of HTML (links, emphasis,
   the odd hostile tag) naming real places, with three stories in five retold by two to four
   outlets in their own words, so that clustering has work to do.
2. Reference: ``feedparser.parse`` configured exactly as the pipeline configures it (the bytes, headers
   and options ``parsing.feedparser_input`` and ``parsing.FEEDPARSER_OPTIONS`` give, from memory, no
   network), items per second. feedparser with its default options (its own sanitiser and URI resolver
   on) is measured too and reported beside it, labelled, but the target is against the first.
3. Pipeline: for each feed, ``parse_feed`` (feedparser, normalising, nh3 sanitising, canonical URLs),
   then ``store_entries`` (upsert by GUID) and enrichment: topic rules (one automaton), geotagging
   against the full gazetteer, exact-duplicate merging and MinHash LSH clustering, relevance scores.
   Into a SQLite file on the production settings path, emptied before each run.
4. The references and the pipeline take turns feed by feed (both references parse a feed, then the
   pipeline takes it), so that all see the machine in the same state; a run is all the feeds, ``--runs``
   runs, the same runs for all three. Each run's ratio is its reference time over its pipeline time;
   each figure is the median over the runs, with the time spent inside each stage of the pipeline.
   Target: the pipeline at least a third of parse-only speed.

The machine is shared: the CPU share other sessions' processes used during the runs is reported.
"""

import argparse
import io
import os
import platform
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from run import NEIGHBOURS, neighbours, production_env, write_section

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out" / "wire"
START, END = "<!-- wire-results:start -->", "<!-- wire-results:end -->"
TARGET = 1 / 3
FEEDS = 100
ENV = production_env(OUT / "var")

# The stories: a hazard, a place, and sentences that retell them -----------------------------------
HAZARDS = [
    ("Wildfire", "wildfire", ["evacuation orders", "red flag warning", "acres burned", "containment lines"]),
    ("Flood", "flash flooding", ["water rescues", "the river crested", "levee", "road closures"]),
    ("Hurricane", "hurricane", ["storm surge", "landfall", "shelters opened", "tropical storm warning"]),
    ("Tornado", "tornado", ["the National Weather Service", "damage survey", "EF-2", "debris"]),
    ("Hazmat", "chemical leak", ["hazmat crews", "shelter in place", "ammonia", "decontamination"]),
    ("Shooting", "active shooter", ["lockdown", "tactical teams", "victims", "the gunman"]),
    ("Cyber", "ransomware attack", ["911 dispatch", "computer-aided dispatch", "backup radios", "systems"]),
    (
        "Outbreak",
        "measles outbreak",
        ["health officials", "confirmed cases", "vaccination clinic", "exposure"],
    ),
    (
        "Derailment",
        "train derailment",
        ["tank cars", "the railroad", "NTSB investigators", "evacuation zone"],
    ),
    ("Collapse", "bridge collapse", ["structural engineers", "rescue divers", "the span", "traffic"]),
    ("Quake", "earthquake", ["magnitude 5.8", "aftershocks", "USGS", "building inspections"]),
    ("Rescue", "search and rescue", ["hikers", "helicopter hoist", "the trailhead", "volunteers"]),
]
PLACES = [
    "Redding, California",
    "Yuba City, California",
    "Lubbock, Texas",
    "Amarillo, Texas",
    "Laredo, Texas",
    "Waco, Texas",
    "Pensacola, Florida",
    "Ocala, Florida",
    "Macon, Georgia",
    "Joplin, Missouri",
    "Wichita, Kansas",
    "Omaha, Nebraska",
    "Billings, Montana",
    "Flagstaff, Arizona",
    "Yakima, Washington",
    "Medford, Oregon",
    "Provo, Utah",
    "Pueblo, Colorado",
    "Casper, Wyoming",
    "Rapid City, South Dakota",
    "Paradise, California",
    "Harris County, Texas",
    "Mobile, Alabama",
    "Tulsa, Oklahoma",
    "Cedar Rapids, Iowa",
    "Asheville, North Carolina",
    "Fresno, California",
    "Baton Rouge, Louisiana",
    "Spokane, Washington",
    "Boise, Idaho",
    "Savannah, Georgia",
    "Duluth, Minnesota",
    "Mexico City",
    "Ottawa, Canada",
    "Springfield, Illinois",
    "Portland, Oregon",
    "Miami-Dade County",
    "Anchorage, Alaska",
]
OPENERS = ["Officials said", "Authorities confirmed", "Emergency managers reported", "Crews said"]
FILLER = [
    "The cause remains under investigation.",
    "Residents were urged to follow instructions from local officials.",
    "No injuries were reported among responders.",
    "Mutual aid crews from neighbouring counties joined the response.",
    "A shelter opened at the high school gym on Tuesday evening.",
    "The sheriff's office asked drivers to avoid the area.",
]
STREETS = [
    "Oak",
    "Mill Creek",
    "Juniper",
    "Canal",
    "Granite",
    "Lakeshore",
    "Orchard",
    "Ridge",
    "Depot",
    "Sycamore",
    "Harbor",
    "Quarry",
    "Willow",
    "Bluff",
    "Meadow",
    "Cedar",
    "Foundry",
    "Pioneer",
]
FIRST_NAMES = [
    "Dana",
    "Lee",
    "Maria",
    "Tom",
    "Aisha",
    "Carlos",
    "Grace",
    "Omar",
    "Nina",
    "Ray",
    "Jin",
    "Beth",
]
LAST_NAMES = ["Ortiz", "Park", "Nguyen", "Brennan", "Okafor", "Silva", "Haddad", "Kowalski", "Reyes", "Lund"]
ROLES = [
    "fire chief",
    "county emergency manager",
    "sheriff's spokesperson",
    "battalion chief",
    "EMS director",
    "public information officer",
    "incident commander",
    "police chief",
]
COUNTED = ["homes", "residents", "acres", "customers", "students", "patients", "vehicles", "households"]
WHEN = [
    "early Monday",
    "late Tuesday",
    "on Wednesday afternoon",
    "overnight Thursday",
    "before dawn Friday",
    "on Saturday",
    "Sunday evening",
    "at midday",
]
AGENCIES = [
    "The state patrol",
    "Volunteer firefighters",
    "The Red Cross",
    "Public works crews",
    "Deputies",
    "The Coast Guard",
    "National Guard soldiers",
    "Utility linemen",
    "Paramedics",
    "School officials",
    "The transit authority",
    "Game wardens",
    "Hospital staff",
    "The water district",
    "Animal control",
]
ACTIONS = [
    "staged",
    "cleared",
    "inspected",
    "evacuated",
    "reopened",
    "sandbagged",
    "searched",
    "secured",
    "closed",
    "rerouted",
    "treated",
    "sheltered",
    "barricaded",
    "monitored",
    "restored",
]
OBJECTS = [
    "a nursing home",
    "two schools",
    "the fairgrounds",
    "a trailer park",
    "the marina",
    "a stockyard",
    "the courthouse",
    "an apartment complex",
    "the interchange",
    "a grain elevator",
    "the library",
    "a warehouse district",
    "the airport terminal",
    "a campground",
    "the water treatment plant",
]
LANDMARKS = [
    "the old mill",
    "Exit 42",
    "the county line",
    "the rail yard",
    "Memorial Park",
    "the levee road",
    "the mission church",
    "Lookout Point",
    "the feed store",
    "Pier 7",
    "the tribal casino",
    "the quarry gate",
    "the stadium lot",
    "Founders Bridge",
    "the ranger station",
]
CAUSES = [
    "a power line failure",
    "heavy overnight rain",
    "a lightning strike",
    "a tanker rollover",
    "a gas main rupture",
    "high winds",
    "a 911 call from a neighbor",
    "a sensor alarm",
    "a drone sighting",
    "a welding spark",
    "a washed-out culvert",
    "a transformer explosion",
]
AFTERMATH = [
    "a boil-water notice was issued",
    "a curfew took effect at 9 pm",
    "cell service dropped",
    "a cooling center opened",
    "detours added an hour to commutes",
    "livestock were moved",
    "an air quality alert followed",
    "a donation drive began",
    "classes moved online",
    "insurers sent adjusters",
    "the governor toured the site",
    "a town hall was scheduled",
]
OUTLET_WORDS = ["Valley", "Coast", "Prairie", "Metro", "River", "Mountain", "Harbor", "County", "Tri-State"]


def story_text(rng, hazard, place, number):
    """One story: the hazard and place are shared by many stories, the particulars are its own."""
    label, noun, details = hazard
    facts = rng.sample(details, 3)
    street = f"{rng.choice(STREETS)} {rng.choice(['Road', 'Avenue', 'Street', 'Highway'])}"
    official = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    count = rng.randrange(2, 900)
    title = f"{noun.capitalize()} near {street} in {place}: {facts[0]}, {count} {rng.choice(COUNTED)}"
    lead = rng.choice(
        [
            f"{rng.choice(OPENERS)} a {noun} near {street} in {place} prompted {facts[0]} "
            f"{rng.choice(WHEN)}, affecting {count} {rng.choice(COUNTED)}.",
            f"{facts[0].capitalize()} followed a {noun} along {street} in {place} {rng.choice(WHEN)}; "
            f"{count} {rng.choice(COUNTED)} were in the zone.",
            f"A {noun} reported {rng.choice(WHEN)} on {street} left {count} {rng.choice(COUNTED)} under "
            f"{facts[0]} in {place}.",
            f"In {place}, {count} {rng.choice(COUNTED)} faced {facts[0]} after a {noun} broke out near "
            f"{street} {rng.choice(WHEN)}.",
        ]
    )
    quote = rng.choice(
        [
            f"<b>{facts[1].capitalize()}</b> were reported, and {facts[2]} followed, said {official}, "
            f"the {rng.choice(ROLES)}.",
            f"“We saw {facts[1]} early and planned for {facts[2]},” {official}, the {rng.choice(ROLES)}, "
            "told reporters.",
            f"{official}, the {rng.choice(ROLES)}, pointed to {facts[1]} and warned of {facts[2]}.",
        ]
    )
    link = rng.choice(["Updates", "Road closures", "Shelter list", "Maps", "Official notice", "Live blog"])
    sentences = [
        lead,
        quote,
        detail(rng),
        rng.choice(FILLER),
        f'<a href="https://alerts.example.gov/{label.lower()}/{number}">{link}</a>.',
    ]
    return title, sentences


def detail(rng):
    """A sentence of particulars, so that two stories about the same hazard in the same place differ."""
    return (
        f"{rng.choice(AGENCIES)} {rng.choice(ACTIONS)} {rng.choice(OBJECTS)} at {rng.choice(LANDMARKS)} "
        f"after {rng.choice(CAUSES)}, and {rng.choice(AFTERMATH)}."
    )


def retell(rng, title, sentences):
    """Another outlet's version: reordered sentences, a new opener, a slightly different title."""
    words = title.split()
    if len(words) > 6:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    body = sentences[:]
    body[0] = body[0].replace(body[0].split(" a ")[0], rng.choice(OPENERS), 1)
    body.insert(rng.randrange(1, len(body)), rng.choice(FILLER))
    return " ".join(words), body


def make_feeds(items, seed=7):
    """FEEDS feeds of items/FEEDS entries each: (name, bytes, content_type)."""
    rng = random.Random(seed)
    per_feed = items // FEEDS
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    entries = defaultdict(list)
    number = 0
    while sum(len(e) for e in entries.values()) < items:
        number += 1
        title, sentences = story_text(rng, rng.choice(HAZARDS), rng.choice(PLACES), number)
        outlets = rng.sample(range(FEEDS), rng.choice([1, 1, 2, 3, 4]))
        for k, outlet in enumerate(outlets):
            if len(entries[outlet]) >= per_feed:
                continue
            t, s = (title, sentences) if k == 0 else retell(rng, title, sentences)
            if rng.random() < 0.05:
                s = [*s, '<script>alert(1)</script><img src=x onerror="alert(2)">']
            when = now - timedelta(minutes=rng.randrange(0, 6 * 24 * 60))
            entries[outlet].append((f"{number}-{outlet}", t, " ".join(f"<p>{x}</p>" for x in s), when))
    feeds = []
    for outlet in range(FEEDS):
        name = f"{OUTLET_WORDS[outlet % len(OUTLET_WORDS)]} News {outlet}"
        site = f"https://news{outlet}.example.org"
        render = (rss, atom)[outlet % 2]
        body, content_type = render(name, site, entries[outlet])
        feeds.append((name, body, content_type))
    return feeds


def rss(name, site, entries):
    out = [f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{escape(name)}</title>"]
    out.append(f"<link>{site}/</link><description>News</description>")
    for guid, title, html, when in entries:
        out.append(
            f"<item><title>{escape(title)}</title><link>{site}/story/{guid}?utm_source=rss</link>"
            f"<guid isPermaLink='false'>{guid}</guid><author>desk@example.org (Dana Ortiz)</author>"
            f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
            f"<description>{escape(html)}</description></item>"
        )
    out.append("</channel></rss>")
    return "".join(out).encode(), "application/rss+xml; charset=utf-8"


def atom(name, site, entries):
    out = [
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>",
        f"<title>{escape(name)}</title><id>{site}/</id><updated>2026-11-29T12:00:00Z</updated>",
        f"<link href={quoteattr(site + '/')}/>",
    ]
    for guid, title, html, when in entries:
        out.append(
            f"<entry><title>{escape(title)}</title><id>tag:example.org,2026:{guid}</id>"
            f"<link href={quoteattr(f'{site}/story/{guid}')}/><author><name>Lee Park</name></author>"
            f"<updated>{when.isoformat()}</updated><summary type='html'>{escape(html)}</summary></entry>"
        )
    out.append("</feed>")
    return "".join(out).encode(), "application/atom+xml; charset=utf-8"


# The runs -------------------------------------------------------------------------------------------
def setup():
    os.environ.update(ENV)
    sys.path.insert(0, str(BENCH.parent))
    (OUT / "var").mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    from watchdesk.taxonomy.gazetteer import load_gazetteer
    from watchdesk.taxonomy.models import Region
    from watchdesk.taxonomy.topics_loader import load_default_topics
    from watchdesk.wire.models import WireSettings

    call_command("migrate", verbosity=0)
    load_gazetteer()
    load_default_topics()
    wire = WireSettings.load()
    wire.priority_regions.set(Region.objects.filter(code__in=["US-CA", "US-TX"]))


def reference(content, headers):
    """feedparser alone on one feed, as the pipeline configures it: (entries, seconds)."""
    import feedparser

    from watchdesk.wire.parsing import FEEDPARSER_OPTIONS

    began = time.perf_counter()
    parsed = feedparser.parse(io.BytesIO(content), response_headers=headers, **FEEDPARSER_OPTIONS)
    return len(parsed.entries), time.perf_counter() - began


def default_reference(body, content_type):
    """feedparser alone on one feed with its default options: (entries, seconds)."""
    import feedparser

    began = time.perf_counter()
    parsed = feedparser.parse(io.BytesIO(body), response_headers={"content-type": content_type})
    return len(parsed.entries), time.perf_counter() - began


def empty_wire():
    from watchdesk.wire.models import Cluster, FetchLog, Item, SkippedEntry, Source

    Item.objects.all().delete()
    Cluster.objects.all().delete()
    SkippedEntry.objects.all().delete()
    FetchLog.objects.all().delete()
    Source.objects.all().delete()


STAGES = [
    ("watchdesk.wire.parsing", "parse_feed", "parse_feed: feedparser, normalise, nh3, canonical URLs"),
    ("watchdesk.wire.ingest", "store_entries", "store_entries: upsert by GUID, then enrichment below"),
    ("watchdesk.wire.topics", "apply_topics", "  topics: one automaton, ItemTopic rows"),
    ("watchdesk.wire.places", "apply_places", "  places: gazetteer automaton, ItemPlace rows"),
    ("watchdesk.wire.clustering", "assign_clusters", "  clustering: duplicates, MinHash LSH, clusters"),
    ("watchdesk.wire.relevance", "score", "  relevance: item and cluster scores"),
]


def instrument(totals):
    """Wrap each stage so that its wall time adds up in totals; returns a function that undoes it."""
    import importlib

    undo = []
    for module_name, function_name, label in STAGES:
        module = importlib.import_module(module_name)
        original = getattr(module, function_name)

        def wrapper(*args, _original=original, _label=label, **kwargs):
            began = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                totals[_label] += time.perf_counter() - began

        setattr(module, function_name, wrapper)
        undo.append((module, function_name, original))
    # enrich.py imported the modules, not the functions, so patching the modules is enough.

    def restore():
        for module, function_name, original in undo:
            setattr(module, function_name, original)

    return restore


def pipeline(feeds, totals):
    """One run: feed by feed, feedparser as the pipeline configures it, feedparser with its defaults,
    then the pipeline. Returns {"reference": (entries, seconds), "default": (entries, seconds),
    "pipeline": (items created, seconds)} and the number of items stored."""
    from watchdesk.wire import ingest, parsing
    from watchdesk.wire.models import Item, Source

    empty_wire()
    sources = [
        Source.objects.create(name=name, url=f"https://feeds.example.org/{n}.xml", trust=50 + n % 50)
        for n, (name, _, _) in enumerate(feeds)
    ]
    # What the pipeline hands feedparser, worked out before timing: the pipeline's own copy of this
    # step is timed with the pipeline.
    prepared = [parsing.feedparser_input(body, content_type)[:2] for _, body, content_type in feeds]
    restore = instrument(totals)
    counts = {"reference": [0, 0.0], "default": [0, 0.0], "pipeline": [0, 0.0]}

    def add(name, count, seconds):
        counts[name][0] += count
        counts[name][1] += seconds

    try:
        for source, (_, body, content_type), (content, headers) in zip(sources, feeds, prepared, strict=True):
            add("reference", *reference(content, headers))
            add("default", *default_reference(body, content_type))
            began = time.perf_counter()
            parsed = parsing.parse_feed(body, url=source.url, content_type=content_type)
            summary, _ = ingest.store_entries(parsed.entries, source=source, outlet=source.name)
            add("pipeline", summary.created, time.perf_counter() - began)
    finally:
        restore()
    return {name: tuple(value) for name, value in counts.items()}, Item.objects.count()


def outcome():
    from django.db.models import Count

    from watchdesk.wire.models import Cluster, Item, ItemPlace, ItemTopic

    return {
        "items": Item.objects.count(),
        "duplicates": Item.objects.filter(duplicate_of__isnull=False).count(),
        "clusters": Cluster.objects.count(),
        "multi_outlet_clusters": Cluster.objects.filter(outlet_count__gte=2).count(),
        "items_with_topic": ItemTopic.objects.values("item").distinct().count(),
        "items_with_place": ItemPlace.objects.values("item").distinct().count(),
        "biggest_cluster": Cluster.objects.annotate(n=Count("items"))
        .order_by("-n")
        .values_list("n", flat=True)
        .first(),
        **pair_quality(Item.objects.values_list("guid", "cluster_id")),
    }


def pair_quality(guids_and_clusters):
    """Clustering against the stories as written: of the pairs of items put in one cluster, the share
    that tell one story (precision), and of the pairs that tell one story, the share put in one cluster
    (recall). A GUID ends "<story number>-<outlet>" (Atom ids start "tag:example.org,2026:")."""
    stories, clusters = defaultdict(list), defaultdict(list)
    for guid, cluster_id in guids_and_clusters:
        stories[guid.rpartition(":")[2].split("-")[0]].append(guid)
        clusters[cluster_id].append(guid)

    def pairs(groups):
        return {pair for group in groups for pair in combinations(sorted(group), 2)}

    told, grouped = pairs(stories.values()), pairs(clusters.values())
    both = len(told & grouped)
    return {
        "stories": len(stories),
        "precision": both / len(grouped) if grouped else 1.0,
        "recall": both / len(told) if told else 1.0,
    }


LABELS = {
    "reference": "feedparser alone, as the pipeline configures it (its sanitiser and URI resolver off)",
    "default": "feedparser alone, default options (its sanitiser and URI resolver on)",
    "pipeline": "Watchdesk pipeline (parse, sanitise, store, topics, places, clustering, scores)",
}


def one_run(run, feeds, rates, ratios, totals, runs):
    run_totals = defaultdict(float)
    measured, stored = pipeline(feeds, run_totals)
    created, seconds = measured["pipeline"]
    for name in ("reference", "default"):
        count = measured[name][0]
        if count != created:  # both must have read the same entries, or the ratio compares different work
            raise SystemExit(f"feedparser ({name}) read {count} entries and the pipeline created {created}")
    for name, (count, took) in measured.items():
        rates[name].append(count / took)
    for name in ("reference", "default"):
        ratios[name].append(rates["pipeline"][-1] / rates[name][-1])
    for label, value in run_totals.items():
        totals[label] += value / runs
    print(
        f"run {run + 1}: feedparser as configured {rates['reference'][-1]:,.0f} items/s, with defaults "
        f"{rates['default'][-1]:,.0f}; pipeline {rates['pipeline'][-1]:,.0f} items/s "
        f"({ratios['reference'][-1]:.1%} of the first; {created} created, {stored} stored)",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="Do not rewrite bench/RESULTS.md.")
    args = parser.parse_args()

    setup_began = time.perf_counter()
    setup()
    setup_seconds = time.perf_counter() - setup_began
    feeds = make_feeds(args.items)
    total_bytes = sum(len(body) for _, body, _ in feeds)

    rates = {name: [] for name in LABELS}
    ratios = {"reference": [], "default": []}
    totals = defaultdict(float)
    with neighbours("wire"):
        for run in range(args.runs):
            one_run(run, feeds, rates, ratios, totals, args.runs)
    ratio = statistics.median(ratios["reference"])
    report = render(
        args, feeds, total_bytes, rates, ratios, totals, NEIGHBOURS["wire"], setup_seconds, outcome()
    )
    print(report)
    if not args.no_write:
        write_section(START, END, report, new_heading="\n## Wire pipeline (`bench/wire.py`)\n\n")
    return 0 if ratio >= TARGET else 1


def render(args, feeds, total_bytes, rates, ratios, totals, others, setup_s, seen):
    import django
    import feedparser
    import wagtail

    median = {name: statistics.median(values) for name, values in rates.items()}
    ratio = statistics.median(ratios["reference"])
    default_ratio = statistics.median(ratios["default"])
    verdict = "PASS" if ratio >= TARGET else "FAIL"
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    per_item = (1 / median["pipeline"]) if median["pipeline"] else 0
    speedup = statistics.median(r / d for r, d in zip(rates["reference"], rates["default"], strict=True))

    def runs(values, pattern):
        return ", ".join(format(value, pattern) for value in values)

    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `.venv/bin/python bench/wire.py --items {args.items} "
        f"--runs {args.runs}`",
        "",
        f"- Machine: nproc {os.cpu_count()}, {cpu.group(1) if cpu else platform.processor()}",
        f"- Versions: Python {platform.python_version()}, Django {django.get_version()}, Wagtail "
        f"{wagtail.__version__}, feedparser {feedparser.__version__}",
        f"- Shared machine: other processes used {others:.0%} of the CPUs during the runs",
        f"- Data: {len(feeds)} feeds (RSS 2.0 and Atom 1.0), {args.items:,} entries, "
        f"{total_bytes / 1e6:.1f} MB; setup (migrate, gazetteer, default topics) {setup_s:.1f} s",
        f"- Outcome of the last run: {seen['items']:,} items, {seen['duplicates']:,} exact duplicates, "
        f"{seen['clusters']:,} clusters ({seen['multi_outlet_clusters']:,} with 2+ outlets, the biggest "
        f"{seen['biggest_cluster']} items), {seen['items_with_topic']:,} items with a topic, "
        f"{seen['items_with_place']:,} with a place",
        f"- Clustering against the {seen['stories']:,} stories as generated (pairs of items): precision "
        f"{seen['precision']:.2f}, recall {seen['recall']:.2f}",
        "- Each row: the median of the runs below it; the three took turns feed by feed in every run.",
        "",
        "| | items/s (median) | runs |",
        "|---|---:|---|",
    ]
    for name, label in LABELS.items():
        lines.append(f"| {label} | {median[name]:,.0f} | {runs(rates[name], ',.0f')} |")
    lines += [
        f"| **pipeline / feedparser as the pipeline configures it** (median of the runs' ratios) | "
        f"**{ratio:.1%}** | {runs(ratios['reference'], '.1%')} |",
        f"| pipeline / feedparser with default options (not the target's reference) | {default_ratio:.1%} | "
        f"{runs(ratios['default'], '.1%')} |",
        "",
        f"**Target: pipeline at least a third of the speed of feedparser as the pipeline configures it: "
        f"{verdict}** ({ratio:.1%}; {per_item * 1000:.2f} ms per item).",
        "",
        f"feedparser as the pipeline configures it was {speedup:.2f}x as fast as with its defaults (median "
        "of the runs).",
        "",
        "| stage (mean over runs) | seconds | ms/item | share |",
        "|---|---:|---:|---:|",
    ]
    whole = statistics.mean(args.items / rate for rate in rates["pipeline"])  # like the stages: a mean
    for _, _, label in STAGES:
        seconds = totals.get(label, 0.0)
        lines.append(
            f"| {label.strip()} | {seconds:.2f} | {seconds * 1000 / args.items:.3f} | {seconds / whole:.0%} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
