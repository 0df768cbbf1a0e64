"""Fill the benchmark database: the site, 12 topics, the gazetteer and 10,000 live StoryPosts.

Creating 10,000 Wagtail pages one by one (add_child + save_revision().publish()) costs ~35 ms each here,
about six minutes. Instead every 50th post is made that normal way (so revisions, signals, the search
index and StoryPost.sync_authors are exercised) and the rest are bulk-inserted:

- wagtailcore_page rows with Page.objects.bulk_create: treebeard paths from Page._get_path after the
  home page's last child, depth, url_path, live=True, first/last_published_at, locale, translation_key;
- the posts_storypost child rows with the INSERT bulk_create itself uses (bulk_create refuses
  multi-table models), no signals;
- the home page's numchild recounted; topic, region, tag and StoryPostAuthor rows bulk-inserted;
- ``update_index`` (Wagtail's database search backend) for the search index.

The bulk posts have no revisions and no reference-index rows: the public site never reads them.
``verify`` runs ``fixtree`` and checks that the newest (bulk) post is served, listed and found.
Imported by run.py after Django is configured.
"""

import io
import json
import random
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import transaction
from django.utils.html import escape
from django.utils.text import slugify
from taggit.models import Tag
from wagtail.models import Page

from watchdesk.posts.bylines import format_byline
from watchdesk.posts.models import (
    Author,
    HomePage,
    StoryPost,
    StoryPostAuthor,
    StoryPostRegion,
    StoryPostTag,
)
from watchdesk.taxonomy.models import Region, Topic

POSTS, NORMAL_EVERY = 10_000, 50
VOCAB = """
topics: Wildfire|Structure fire|Hazmat|Flooding|Severe weather|Earthquake|Search and rescue|Mass casualty
topics: Active shooter|Terrorism|EMS|Cybersecurity
events: Brush fire|Chemical leak|Flash flood|Tornado|Warehouse fire|Bus crash|Gas explosion|Water rescue
events: Power outage|Bomb threat|Train derailment|Mudslide
actions: forces evacuations in|closes roads near|injures three in|draws mutual aid to|keeps crews busy in
actions: prompts shelter-in-place order in|tests new radio system in
first: Dana|Lee|Sam|Alex|Jordan|Maria|Chris|Pat|Robin|Casey|Morgan|Taylor|Jamie|Avery|Riley|Quinn
last: Ortiz|Park|Nguyen|Smith|Garcia|Brown|Miller|Davis|Lopez|Wilson|Moore|Clark|Lewis|Young|Hall|King
outlets: Valley Courier|Metro Tribune|Coastal Herald|Prairie Ledger|Harbor Times|Summit Daily
tags: evacuation|mutual aid|red flag warning|shelter in place|hazmat team|swift water|staffing|training
tags: dispatch|radio|drone|budget|grant|overtime|burn ban|levee|bridge|school|hospital|interstate|rail
tags: pipeline|power grid|heat|drought|storm surge|911 outage|ransomware|arson|fatality|search dog
tags: firefighter injury|ems response|helicopter|volunteer|recovery|fema|national guard|investigation
tags: mass notification
words: crews|responded|quickly|after|the|call|came|in|residents|were|told|to|leave|officials|said|the
words: fire|department|county|sheriff|emergency|managers|reported|damage|to|several|homes|and|roads
words: while|volunteers|opened|a|shelter|at|the|high|school|cause|remains|under|investigation|spokesperson
words: who|added|that|no|one|was|seriously|hurt|mutual|aid|arrived|from|nearby|towns|according
"""
V = defaultdict(list)
for _key, _values in (line.split(": ") for line in VOCAB.strip().splitlines()):
    V[_key] += _values.split("|")


def sentence(rng):
    return " ".join(rng.choice(V["words"]) for _ in range(rng.randint(8, 16))).capitalize() + "."


def post_spec(rng, n, when, pools):
    """Everything about post n; the normal and the bulk path both build from this."""
    if rng.random() < 0.1:
        places = rng.sample(pools["countries"], rng.randint(1, 2))
    else:
        state = rng.choice(pools["states"])
        inside = pools["inside"][state[0]]
        places = [state, *rng.sample(inside, min(len(inside), rng.randint(0, 2)))]
    title = f"{rng.choice(V['events'])} {rng.choice(V['actions'])} {places[-1][1]}"
    authors = rng.sample(pools["authors"], rng.choice((1, 1, 1, 2, 2, 3)))
    via = rng.random() < 0.2
    fields = {
        "title": title,
        "slug": f"{slugify(title)[:70]}-{n}",
        "summary": f"{sentence(rng)} {sentence(rng)}",
        "body": "".join(f"<p>{' '.join(sentence(rng) for _ in range(4))}</p>" for _ in range(4)),
        "source_name": rng.choice(V["outlets"]),
        "source_url": f"https://news.example.org/story/{n}",
        "byline": format_byline(authors),
        "source_published_at": when - timedelta(hours=3),
        "via_name": "Wire Desk" if via else "",
        "via_url": f"https://wire.example.org/{n}" if via else "",
        "notify_subscribers": False,
    }
    topics = rng.sample(pools["topics"], rng.randint(1, 3))
    tags = rng.sample(V["tags"], rng.randint(1, 3))
    return {
        "fields": fields,
        "when": when,
        "authors": authors,
        "topics": topics,
        "tags": tags,
        "places": places,
    }


def make_pools():
    topics = [Topic.objects.update_or_create(name=t, defaults={"slug": slugify(t)})[0] for t in V["topics"]]
    regions = Region.objects.values_list("pk", "name")
    inside = defaultdict(list)
    for pk, name, parent in regions.filter(kind__in=("county", "city"), parent__kind="state").values_list(
        "pk", "name", "parent_id"
    ):
        inside[parent].append((pk, name))
    return {
        "topics": topics,
        "states": list(regions.filter(kind="state", parent__code="US")),
        "inside": inside,
        "countries": list(regions.filter(kind="country").exclude(code="US")),
        "authors": [f"{first} {last}" for first in V["first"] for last in V["last"]],
    }


def create_normally(home, spec):
    post = StoryPost(**spec["fields"], first_published_at=spec["when"])
    post.topics.set(spec["topics"])
    post.tags.set(spec["tags"])
    post.region_links = [
        StoryPostRegion(region_id=pk, sort_order=i) for i, (pk, _) in enumerate(spec["places"])
    ]
    home.add_child(instance=post)
    post.save_revision().publish()
    StoryPost.objects.filter(pk=post.pk).update(last_published_at=spec["when"])


def bulk_create(home, specs):
    """Insert live StoryPosts without signals: wagtailcore_page rows, then the child rows and links."""
    home.refresh_from_db()
    last = home.get_last_child()
    position = Page._str2int(last.path[-Page.steplen :]) if last else 0
    content_type = ContentType.objects.get_for_model(StoryPost)
    common = {"depth": home.depth + 1, "numchild": 0, "live": True, "has_unpublished_changes": False}
    pages = [
        Page(
            **common,
            path=Page._get_path(home.path, home.depth + 1, position + i),
            title=s["fields"]["title"],
            draft_title=s["fields"]["title"],
            slug=s["fields"]["slug"],
            url_path=f"{home.url_path}{s['fields']['slug']}/",
            content_type=content_type,
            locale_id=home.locale_id,
            translation_key=uuid.uuid4(),
            first_published_at=s["when"],
            last_published_at=s["when"],
        )
        for i, s in enumerate(specs, start=1)
    ]
    Page.objects.bulk_create(pages, batch_size=500)
    rows = [StoryPost(page_ptr_id=p.pk, **s["fields"]) for p, s in zip(pages, specs, strict=True)]
    for start in range(0, len(rows), 500):  # bulk_create refuses multi-table models; this is its INSERT
        StoryPost._base_manager._insert(
            rows[start : start + 500], fields=StoryPost._meta.local_concrete_fields
        )
    Page.objects.filter(pk=home.pk).update(numchild=Page.objects.child_of(home).count())

    tags = {n: Tag.objects.get_or_create(name=n, defaults={"slug": slugify(n)})[0].pk for n in V["tags"]}
    names = {a for s in specs for a in s["authors"]} - set(Author.objects.values_list("name", flat=True))
    Author.objects.bulk_create([Author(name=n, slug=slugify(n)) for n in sorted(names)])
    authors = dict(Author.objects.values_list("name", "pk"))
    topic_link, links = StoryPost.topics.through, defaultdict(list)
    for page, s in zip(pages, specs, strict=True):
        pk = page.pk
        links[topic_link] += [topic_link(storypost_id=pk, topic_id=t.pk) for t in s["topics"]]
        links[StoryPostTag] += [StoryPostTag(content_object_id=pk, tag_id=tags[t]) for t in s["tags"]]
        for i, (region, _) in enumerate(s["places"]):
            links[StoryPostRegion].append(StoryPostRegion(page_id=pk, region_id=region, sort_order=i))
        for i, name in enumerate(s["authors"]):
            links[StoryPostAuthor].append(StoryPostAuthor(page_id=pk, author_id=authors[name], sort_order=i))
    for model, objs in links.items():
        model.objects.bulk_create(objs, batch_size=1000)


def fill(var, refill, get):
    """Build the site and its posts unless a finished fill is in ``var``; returns the fill's record.

    ``get(path)`` -> (status, body) serves a page, for the checks.
    """
    marker = var / "bench-fill.json"
    quiet = {"verbosity": 0, "stdout": io.StringIO()}
    if marker.exists() and not refill:
        call_command("setup_site", **quiet)  # points the Site at SITE_URL's port
        return json.loads(marker.read_text()) | {"reused": True}
    marker.unlink(missing_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (var / f"watchdesk.sqlite3{suffix}").unlink(missing_ok=True)
    steps, began = {}, time.perf_counter()

    def step(name, func):
        print(f"  {name}...", flush=True)
        t = time.perf_counter()
        result = func()
        steps[name] = round(time.perf_counter() - t, 1)
        return result

    step("migrate", lambda: call_command("migrate", interactive=False, **quiet))
    step("setup_site", lambda: call_command("setup_site", **quiet))
    step("load_regions", lambda: call_command("load_regions", **quiet))
    if not (var / "static" / "staticfiles.json").exists():
        step("collectstatic", lambda: call_command("collectstatic", interactive=False, **quiet))
    rng, pools, home = random.Random(20261129), make_pools(), HomePage.objects.get()
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=75 * POSTS)
    when = [first + timedelta(minutes=75 * n, seconds=rng.randint(0, 3000)) for n in range(POSTS)]
    specs = [post_spec(rng, n, when[n], pools) for n in range(POSTS)]
    normal = specs[::NORMAL_EVERY]
    bulk = [s for n, s in enumerate(specs) if n % NORMAL_EVERY]
    with transaction.atomic():
        step(
            f"{len(normal)} posts via add_child + publish", lambda: [create_normally(home, s) for s in normal]
        )
    with transaction.atomic():
        step(f"{len(bulk)} posts bulk-inserted", lambda: bulk_create(home, bulk))
    step("update_index", lambda: call_command("update_index", **quiet))
    check = step("verify (fixtree, pages, search)", lambda: verify(specs[-1], get))
    record = {
        "posts": POSTS,
        "seconds": round(time.perf_counter() - began, 1),
        "steps": steps,
        "check": check,
    }
    marker.write_text(json.dumps(record | {"date": f"{datetime.now(UTC):%Y-%m-%d}"}))
    return json.loads(marker.read_text()) | {"reused": False}


def verify(newest, get):
    out = io.StringIO()
    call_command("fixtree", interactive=False, stdout=out)
    assert out.getvalue().count("No problems found") == 2, out.getvalue()  # pages and collections
    assert StoryPost.objects.live().count() == POSTS, "wrong number of live posts"
    post = StoryPost.objects.get(slug=newest["fields"]["slug"])
    for path in (post.url, "/", f"/topics/{newest['topics'][0].slug}/"):
        status, body = get(path)
        assert status == 200 and escape(post.title).encode() in body, f"{path}: {status}, newest post missing"
    assert StoryPost.objects.live().search(post.title, operator="and").count(), "search misses a bulk post"
    return (
        "fixtree: no problems; the newest (bulk) post is served, listed on / and its topic, found by search"
    )
