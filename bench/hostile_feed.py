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
    """RSS 2.0, ~5 MB: items of a title and a link each, all different so none is a copy."""
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Flood</title>'
        "<link>https://flood.example/</link><description>x</description>\n"
    )
    rows = [
        f"<item><title>Alert {n} at {n % 97}</title><link>https://flood.example/{n}</link></item>\n"
        for n in range(items)
    ]
    return (head + "".join(rows) + "</channel></rss>\n").encode()


def measure():
    """Runs inside the child process: DJANGO settings come from the environment the parent set."""
    import resource

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.conf import settings

    from watchdesk.wire.ingest import ingest_feed
    from watchdesk.wire.models import Cluster, Item, SkippedEntry, Source

    database = Path(settings.DATABASES["default"]["NAME"])
    document = hostile_document()
    source = Source.objects.create(name="Hostile", url="https://flood.example/feed.xml")

    def db_bytes():
        return sum(path.stat().st_size for path in database.parent.glob(database.name + "*"))

    def rss_now():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    db_before, rss_before = db_bytes(), rss_now()
    started = time.perf_counter()
    summary = ingest_feed(source, document, content_type="application/rss+xml")
    seconds = time.perf_counter() - started
    from django.db import connection

    connection.close()  # checkpoint nothing further: the WAL is counted as it stands
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


def run(code):
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
    script = f"import sys; sys.path.insert(0, {bench!r}); import hostile_feed; hostile_feed.measure()"
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.exit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default=str(ROOT), help="The checkout whose watchdesk package is measured.")
    options = parser.parse_args()
    result = run(Path(options.code).resolve())
    print(json.dumps({"code": options.code, **result}, indent=2))


if __name__ == "__main__":
    main()
