"""A hostile feed's cost: one 5 MB RSS document of 80,000 tiny items, ingested as one poll would.

Run ``.venv/bin/python bench/hostile_feed.py`` (``--code DIR`` runs another checkout's ``watchdesk``
package instead, e.g. an export of the commit before the entry limit, for the "before" figure).
Each measurement is a fresh process on a fresh SQLite file under ``bench/out/hostile/``: migrate, one
source, then ``ingest.ingest_feed(source, document)`` timed. It prints the peak resident memory of the
process (``ru_maxrss``) and its growth over the memory after setup, the database's growth (file plus
WAL), items, clusters and skipped entries. Method and last results: docs/wire.md, "Bad input".
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "hostile"
ITEMS = 80_000


def hostile_document(items=ITEMS):
    """RSS 2.0, just under 5 MB (the fetcher's limit): items of a title and a link, none a copy."""
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Flood</title>'
        "<link>https://flood.example/</link><description>x</description>\n"
    )
    rows = [f"<item><title>{n}</title><link>http://f.ex/{n}</link></item>\n" for n in range(items)]
    return (head + "".join(rows) + "</channel></rss>\n").encode()


def measure():
    """Runs inside the child process: DJANGO settings come from the environment the parent set."""
    import resource

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.conf import settings
    from django.db import connection

    from watchdesk.wire.ingest import ingest_feed
    from watchdesk.wire.models import Cluster, Item, SkippedEntry, Source

    database = Path(settings.DATABASES["default"]["NAME"])
    document = hostile_document()
    source = Source.objects.create(name="Hostile", url="https://flood.example/feed.xml")

    def db_bytes():
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return sum(path.stat().st_size for path in database.parent.glob(database.name + "*"))

    def rss_now():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    db_before, rss_before = db_bytes(), rss_now()
    started = time.perf_counter()
    summary = ingest_feed(source, document, content_type="application/rss+xml")
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "document_bytes": len(document),
                "seconds": round(seconds, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "rss_before_mb": round(rss_before / 2**20, 1),
                "db_growth_mb": round((db_bytes() - db_before) / 2**20, 1),
                "items": Item.objects.count(),
                "clusters": Cluster.objects.count(),
                "skipped_rows": SkippedEntry.objects.count(),
                "summary": str(summary),
                "problems": summary.problems,
            }
        )
    )


def measure_parse(kind):
    """Parsing alone, in the child: ``trimmed`` is parse_feed with the default limit (the document is cut
    before feedparser), ``whole`` is feedparser over the whole document as parse_feed configures it,
    which a limit applied after parsing would still pay for."""
    import io
    import resource

    import django

    django.setup()
    import feedparser
    from django.conf import settings

    from watchdesk.wire import parsing

    document = hostile_document()
    started = time.perf_counter()
    if kind == "trimmed":
        entries = len(parsing.parse_feed(document, max_entries=settings.WIRE_MAX_ENTRIES).entries)
    else:
        content, headers, _ = parsing.feedparser_input(document)
        result = feedparser.parse(io.BytesIO(content), response_headers=headers, **parsing.FEEDPARSER_OPTIONS)
        entries = len(result.entries)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"kind": kind, "entries": entries, "seconds": round(seconds, 2), "peak_rss_mb": round(peak, 1)}
        )
    )


def run(code, call="measure()"):
    OUT.mkdir(parents=True, exist_ok=True)
    var = Path(tempfile.mkdtemp(dir=OUT))
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="watchdesk.settings",
        PYTHONPATH=str(code),
        WATCHDESK_VAR_DIR=str(var),
        SECRET_KEY="bench-hostile-feed",  # noqa: S106 - a throwaway site in bench/out
        LOG_LEVEL="WARNING",
    )
    bench = str(ROOT / "bench")
    script = f"import sys; sys.path.insert(0, {bench!r}); import hostile_feed; hostile_feed.{call}"
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=code, capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.exit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default=str(ROOT), help="The checkout whose watchdesk package is measured.")
    parser.add_argument("--parse-only", action="store_true", help="Parsing alone: cut first, or whole.")
    options = parser.parse_args()
    code = Path(options.code).resolve()
    if options.parse_only:
        for kind in ("trimmed", "whole"):
            print(json.dumps(run(code, f"measure_parse({kind!r})")))
        return
    print(json.dumps({"code": options.code, **run(code)}, indent=2))


if __name__ == "__main__":
    main()
