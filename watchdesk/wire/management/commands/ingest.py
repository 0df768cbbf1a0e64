"""``watchdesk ingest``: feed files or URLs (and article pages) into the wire by hand.

Each input is read (files from disk, URLs through the guarded fetcher), parsed and stored like a polled
feed: upserted by GUID, so ingesting the same file twice changes nothing. A bad input is reported with its
reason and the others still go in; the command fails only when every input failed.
"""

import json
import sys
from contextlib import contextmanager
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from watchdesk.core.fetcher import FetchError, fetch
from watchdesk.wire import relevance
from watchdesk.wire.articles import store_article
from watchdesk.wire.entries import FeedError
from watchdesk.wire.ingest import IngestSummary, entry_limit, store_entries
from watchdesk.wire.management.commands.sources import find_source
from watchdesk.wire.models import Item
from watchdesk.wire.parsing import parse_feed


def is_url(text):
    return text.lower().startswith(("http://", "https://"))


class Command(BaseCommand):
    help = "Ingest feed files or URLs (and, with --article, article pages) by hand."

    def add_arguments(self, parser):
        parser.add_argument("inputs", nargs="*", metavar="PATH_OR_URL", help="Feed files or feed URLs.")
        parser.add_argument("--source", default="", help="Store the items as this source's (name or id).")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON, no progress bar.")
        parser.add_argument(
            "--article",
            action="extend",
            nargs="+",
            default=[],
            metavar="URL",
            help="Article pages to fetch and extract (trafilatura) into items.",
        )

    def handle(self, *args, inputs, source, json: bool, article, **options):
        if not inputs and not article:
            raise CommandError("Give at least one PATH_OR_URL or --article URL.")
        owner = find_source(source) if source else None
        jobs = [(name, self.ingest_feed) for name in inputs] + [(url, self.ingest_article) for url in article]
        reports = []
        # The underlying stream: Django's wrapper would add a newline to every piece rich writes.
        stream = getattr(self.stderr, "_out", sys.stderr)
        with progress_bar(stream, total=len(jobs), enabled=not json) as advance:
            for name, ingest in jobs:
                reports.append(ingest(name, owner))
                advance(name)

        total = IngestSummary()
        for report in reports:
            total += report.pop("summary")
        if total.created or total.updated:
            relevance.flag_breaking()  # once for the whole run: it reads a week of counts
        # A failed input is a fatal error; what a feed we could read had wrong (bytes that were not in its
        # encoding, entries past the limit) is an error too, not fatal: never silent.
        failed = [report for report in reports if report["error"]]
        errors = [{"path": report["path"], "error": report["error"], "fatal": True} for report in failed]
        for report in reports:
            errors += [
                {"path": report["path"], "error": problem, "fatal": False} for problem in report["problems"]
            ]
        if json:
            result = {
                "created": total.created,
                "updated": total.updated,
                "unchanged": total.unchanged,
                "skipped": total.skipped,
                "errors": errors,
                "files": reports,
            }
            self.stdout.write(_dumps(result))
        else:
            self.stdout.write(
                f"created {total.created}, updated {total.updated}, unchanged {total.unchanged}, "
                f"skipped {total.skipped}, errors {len(failed)}"
            )
            for error in errors:
                read_anyway = "" if error["fatal"] else "read, but "
                self.stdout.write(f"  {error['path']}: {read_anyway}{error['error']}")
        if failed and len(failed) == len(reports):
            raise CommandError("Every input failed; nothing was ingested.")

    def ingest_feed(self, name, owner):
        report = _report(name)
        try:
            if is_url(name):
                fetched = fetch(name)
                if not fetched.ok:
                    raise FetchError(f"HTTP {fetched.status}")
                content, content_type, base = (
                    fetched.content,
                    fetched.headers.get("content-type", ""),
                    fetched.url,
                )
            else:
                content, content_type, base = _read(name), "", ""
            parsed = parse_feed(
                content,
                url=base or (owner.url if owner else ""),
                content_type=content_type,
                max_entries=entry_limit(owner),
            )
            summary, _ = store_entries(
                parsed.entries,
                source=owner,
                outlet="" if owner else parsed.title,
                origin=Item.Origin.FEED if is_url(name) else Item.Origin.FILE,
                skipped=parsed.skipped,
                not_read=parsed.not_read_pair(),
            )
        except (FetchError, FeedError, OSError) as error:
            return {**report, "error": _reason(error), "summary": IngestSummary(errors=1)}
        return {
            **report,
            **_counts(summary),
            "format": parsed.format,
            "title": parsed.title,
            "problems": parsed.problems,
            "summary": summary,
        }

    def ingest_article(self, url, owner):
        report = _report(url, kind="article")
        try:
            summary, item = store_article(url)
        except (FetchError, ValueError) as error:
            return {**report, "error": _reason(error), "summary": IngestSummary(errors=1)}
        return {**report, **_counts(summary), "title": item.title, "item": item.pk, "summary": summary}


@contextmanager
def progress_bar(stream, *, total, enabled):
    """A rich progress bar, one step per input; ``advance(name)`` moves it on. Nothing when disabled."""
    if not enabled:
        yield lambda name: None
        return
    columns = (
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=Console(file=stream)) as progress:
        task = progress.add_task("", total=total)
        yield lambda name: progress.update(task, advance=1, description=_short(name))


def _report(name, kind="feed"):
    return {
        "path": name,
        "kind": kind,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "error": None,
        "problems": [],
    }


def _counts(summary):
    return {
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "skipped": summary.skipped,
    }


def _read(name):
    path = Path(name)
    if path.is_dir():
        raise OSError(f"{name} is a directory")
    return path.read_bytes()


def _reason(error):
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()  # "no such file or directory", without repeating the path
    return str(error)


def _short(name, width=50):
    return name if len(name) <= width else "…" + name[-(width - 1) :]


def _dumps(value):
    return json.dumps(value, indent=2, ensure_ascii=False)
