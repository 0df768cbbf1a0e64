"""``watchdesk sources``: add, list, import, export, enable, disable and poll the feeds we watch."""

import io
import json
import shutil
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import URLValidator
from django.db import IntegrityError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from watchdesk.core.fetcher import FetchRefused, check_url
from watchdesk.taxonomy.models import Region
from watchdesk.wire.models import Source, host_of
from watchdesk.wire.opml import OPMLError, export_opml, fetch_outcome, import_opml
from watchdesk.wire.polling import poll_due, poll_source

MIN_POLL_MINUTES = 5


def find_source(name_or_id):
    """The source with this id, or else this name (case-insensitive). CommandError when none or many."""
    text = str(name_or_id).strip()
    if text.isdigit():
        source = Source.objects.filter(pk=int(text)).first()
        if source:
            return source
    matches = list(Source.objects.filter(name__iexact=text)[:2])
    if not matches:
        raise CommandError(f"No source is called {text!r} or has that id.")
    if len(matches) > 1:
        raise CommandError(f"Several sources are called {text!r}: give the id instead.")
    return matches[0]


def render(renderable):
    """Rich output as text, so it goes through the command's stdout (and call_command can capture it)."""
    buffer = io.StringIO()
    width = max(shutil.get_terminal_size((120, 24)).columns, 100)
    Console(file=buffer, width=width, force_terminal=False, color_system=None).print(renderable)
    return buffer.getvalue()


class Command(BaseCommand):
    help = "Manage the sources (feeds) the wire watches."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        add = actions.add_parser("add", help="Add a feed (checked, not fetched).")
        add.add_argument("url", help="The feed's URL (http or https).")
        add.add_argument("--name", default="", help="The outlet's name (default: the host).")
        add.add_argument("--language", default="", help='ISO 639 code such as "en".')
        add.add_argument("--region", default="", help="Home region code, e.g. US-CA.")
        add.add_argument("--trust", type=int, default=50, help="0 to 100 (default %(default)s).")
        add.add_argument("--every", type=int, default=15, help="Minutes between polls (default %(default)s).")
        add.add_argument("--site", default="", help="The outlet's website.")

        listing = actions.add_parser("list", help="List sources and their health.")
        listing.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

        importing = actions.add_parser(
            "import", help="Add the feeds of an OPML file (folders become groups), then fetch the new ones."
        )
        importing.add_argument("file", help="The OPML file.")
        importing.add_argument("--json", action="store_true", help="Print the report as JSON.")
        importing.add_argument(
            "--no-fetch", action="store_true", help="Leave the new sources' first fetch to the worker."
        )

        exporting = actions.add_parser("export", help="Write all sources as OPML 2.0.")
        exporting.add_argument("-o", "--output", default="", help="File to write (default: standard output).")

        for name, text in (("enable", "Enable a source (due at once)."), ("disable", "Disable a source.")):
            actions.add_parser(name, help=text).add_argument("source", help="The source's name or id.")

        poll = actions.add_parser(
            "poll", help="Poll now, in the foreground: one source, or all that are due."
        )
        poll.add_argument("source", nargs="?", default="", help="The source's name or id.")

    def handle(self, *args, action, **options):
        getattr(self, f"handle_{action}")(**options)

    # add ------------------------------------------------------------------------------------------------
    def handle_add(self, *, url, name, language, region, trust, every, site, **options):
        url = url.strip()
        for address in filter(None, (url, site)):
            try:
                URLValidator(schemes=["http", "https"])(address)
                check_url(address)
            except ValidationError:
                raise CommandError(f"Not a valid http(s) URL: {address}") from None
            except FetchRefused as error:
                raise CommandError(f"Cannot add {address}: {error}") from None
        if not 0 <= trust <= 100:
            raise CommandError("--trust must be between 0 and 100.")
        if every < MIN_POLL_MINUTES:
            raise CommandError(f"--every must be at least {MIN_POLL_MINUTES} minutes.")
        home = None
        if region:
            home = Region.objects.filter(code__iexact=region.strip()).first()
            if home is None:
                raise CommandError(f"No region has the code {region!r}.")
        existing = Source.objects.filter(url=url).first()
        if existing:
            raise CommandError(f"That feed is already a source: {existing.name} (id {existing.pk}).")
        try:
            source = Source.objects.create(
                url=url,
                name=(name.strip() or host_of(url).removeprefix("www."))[:120],
                language=language.strip()[:16],
                home_region=home,
                trust=trust,
                poll_minutes=every,
                site_url=site.strip(),
            )
        except IntegrityError:
            raise CommandError("That feed is already a source.") from None
        details = [f"every {source.poll_minutes} min", f"trust {source.trust}"]
        if source.language:
            details.append(f"language {source.language}")
        if home:
            details.append(f"home region {home.name}")
        self.stdout.write(f"Added source {source.pk}: {source.name} <{source.url}> ({', '.join(details)})")

    # list -----------------------------------------------------------------------------------------------
    def handle_list(self, *, json: bool, **options):
        sources = list(Source.objects.select_related("home_region").order_by("name", "pk"))
        if json:
            self.stdout.write(_json([source_as_dict(source) for source in sources]))
            return
        table = Table(title=f"{len(sources)} sources", title_justify="left")
        for column in ("id", "name", "URL", "enabled", "last fetch", "status", "errors", "items/day"):
            table.add_column(column, overflow="fold")
        for source in sources:
            # Text, not markup: a name like "[/]" must print as it is, not be read as rich's tags.
            table.add_row(*(Text(cell) for cell in table_row(source)))
        self.stdout.write(render(table), ending="")

    # import / export ------------------------------------------------------------------------------------
    def handle_import(self, *, file, json: bool, no_fetch, **options):
        path = Path(file)
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}") from None
        try:
            summary = import_opml(content)
        except OPMLError as error:
            raise CommandError(f"{file} is not usable OPML, nothing was imported: {error}") from None
        fetched = {} if no_fetch else check_feeds(summary)
        report = summary.as_dict()
        for feed in report["feeds"]:
            if feed["source_id"] in fetched:
                feed["fetch"], feed["fetch_detail"] = fetched[feed["source_id"]]
        report["could_not_fetch"] = sum(1 for outcome, _ in fetched.values() if outcome == "could not fetch")
        if json:
            self.stdout.write(_json(report))
            return
        self.stdout.write(f"Imported {file}: {summary}, could not fetch {report['could_not_fetch']}")
        for feed in report["feeds"]:
            self.stdout.write("  " + import_line(feed))

    def handle_export(self, *, output, **options):
        document = export_opml()
        if not output:
            self.stdout.write(document.decode("utf-8"), ending="")
            return
        try:
            Path(output).write_bytes(document)
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror or error}") from None
        self.stdout.write(f"Wrote {Source.objects.count()} sources to {output}")

    # enable / disable / poll ----------------------------------------------------------------------------
    def handle_enable(self, *, source, **options):
        found = find_source(source)
        # Enabled again: due at once, so the operator sees at the next poll whether it works now.
        Source.objects.filter(pk=found.pk).update(enabled=True, next_poll_at=None)
        self.stdout.write(f"Enabled {found.name} (id {found.pk}).")

    def handle_disable(self, *, source, **options):
        found = find_source(source)
        Source.objects.filter(pk=found.pk).update(enabled=False)
        self.stdout.write(f"Disabled {found.name} (id {found.pk}).")

    def handle_poll(self, *, source, **options):
        if source:
            found = find_source(source)
            summary = poll_source(found)
            found.refresh_from_db()
            self.stdout.write(f"{found.name}: {found.last_status or 'not polled'}; {summary}")
            if found.last_error:
                self.stdout.write(f"  {found.last_error}")
        else:
            self.stdout.write(str(poll_due()))


def check_feeds(summary):
    """Poll each source the import created, now, in the foreground. Returns {source id: fetch outcome}."""
    outcomes = {}
    for report in summary.feeds:
        if report.outcome == "created":
            source = Source.objects.get(pk=report.source_id)
            poll_source(source)
            source.refresh_from_db()
            outcomes[source.pk] = fetch_outcome(source)
    return outcomes


def import_line(feed):
    """One feed of an import report: "created https://...: could not fetch: http 404"."""
    line = f"{feed['outcome']} {feed['url'] or feed['name'] or '(no URL)'}"
    if feed["reason"]:
        line += f": {feed['reason']}"
    if feed.get("fetch") == "could not fetch":
        line += f": could not fetch: {feed['fetch_detail']}"
    elif feed.get("fetch") == "fetched":
        line += ": fetched" + (f" ({feed['fetch_detail']})" if feed["fetch_detail"] else "")
    return line


def table_row(source):
    last_fetch = source.last_fetched_at.strftime("%Y-%m-%d %H:%M") if source.last_fetched_at else "never"
    return (
        str(source.pk),
        source.name,
        source.url,
        "yes" if source.enabled else "no",
        last_fetch,
        source.last_status or "-",
        str(source.consecutive_errors),
        f"{source.items_per_day:g}",
    )


def source_as_dict(source):
    return {
        "id": source.pk,
        "name": source.name,
        "url": source.url,
        "site_url": source.site_url,
        "language": source.language,
        "home_region": source.home_region.code if source.home_region_id else None,
        "trust": source.trust,
        "poll_minutes": source.poll_minutes,
        "poll_min_minutes": source.poll_min_minutes,
        "poll_max_minutes": source.poll_max_minutes,
        "enabled": source.enabled,
        "group": source.group,
        "max_entries": source.max_entries,
        "last_fetched_at": source.last_fetched_at.isoformat() if source.last_fetched_at else None,
        "last_status": source.last_status,
        "last_error": source.last_error,
        "consecutive_errors": source.consecutive_errors,
        "items_per_day": source.items_per_day,
        "next_poll_at": source.next_poll_at.isoformat() if source.next_poll_at else None,
        "poll_note": source.poll_note,
        "feed_format": source.feed_format,
    }


def _json(value):
    return json.dumps(value, indent=2, ensure_ascii=False)
