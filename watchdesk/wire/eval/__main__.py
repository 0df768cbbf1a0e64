"""``python -m watchdesk.wire.eval [--only THEME ...] [--json] [--write-results]`` (``make eval``).

The wire runs on its own: production settings with a throwaway var/ directory, tasks run at once, and a
fresh in-memory test database, so nothing of a real site is read or touched.
"""

import argparse
import json
import os
import sys
import tempfile
import time

_VAR = tempfile.TemporaryDirectory(prefix="watchdesk-eval-")
for _name in ("DATABASE_URL", "REDIS_URL"):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "watchdesk.settings",
        "WATCHDESK_VAR_DIR": _VAR.name,
        "DATABASE_URL": "sqlite://:memory:",
        "DEBUG": "false",
        "SECRET_KEY": "eval-only-" + "x" * 50,
        "TASKS_BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "LOG_LEVEL": "WARNING",
    }
)

import django  # noqa: E402 - the settings above must be in place first

django.setup()

from watchdesk.wire.eval import dataset, run  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m watchdesk.wire.eval", description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", metavar="THEME", help="one theme (file stem); repeatable")
    parser.add_argument("--set", default=str(dataset.SET_DIR), metavar="DIR", help="another set's folder")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--write-results", action="store_true", help="replace the section in bench/RESULTS.md"
    )
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        items = dataset.load_set(args.set, only=args.only)
        run.create_database()
        dataset.resolve_places(items)
    except dataset.DatasetError as error:
        print(f"The evaluation set has problems:\n{error}", file=sys.stderr)
        return 2
    report = run.evaluate(items)
    seconds = time.perf_counter() - began
    if args.json:
        print(json.dumps(report, indent=1, ensure_ascii=False))
    else:
        print(run.render_text(report, {item.id: item.title for item in items}))
    if args.write_results:
        command = "python -m watchdesk.wire.eval --write-results" + "".join(
            f" --only {t}" for t in args.only or ()
        )
        run.write_results(run.render_results(report, command=command, seconds=seconds))
        print(f"\nWrote the wire evaluation section of {run.RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
