"""Subscribers in and out as CSV: the export an operator migrates with, and the import of a list.

The export streams, one row at a time, so a list of a hundred thousand addresses never sits in memory.
A cell a spreadsheet would run as a formula (one starting with = + - @, a tab or a carriage return) is
written with an apostrophe in front; the import takes that apostrophe off again, so a file goes out and
comes back unchanged.

The import never confirms anybody: a new address becomes a pending subscriber (source "import") and is
sent the same confirmation e-mail as a reader who used the form. Addresses already on the list are left
exactly as they are, and suppressed addresses are not added; both are reported as skipped.
"""

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q

from watchdesk.subscriptions.models import (
    Cadence,
    Reply,
    Subscriber,
    Suppression,
    normalise_email,
    request_replies,
)
from watchdesk.taxonomy.models import Region, Topic

EXPORT_COLUMNS = [
    "email",
    "name",
    "status",
    "cadence",
    "everything",
    "topics",
    "regions",
    "paused",
    "source",
    "created_at",
    "confirmed_at",
    "unsubscribed_at",
]
IMPORT_COLUMNS = ["email", "name", "topics", "regions", "cadence"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_IMPORT_ROWS = 20_000
_list_separator = re.compile(r"[;,|]")


# Export --------------------------------------------------------------------------------------------
def guard(value):
    """The cell text for ``value``, made inert for spreadsheets."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _timestamp(value):
    return value.astimezone(UTC).isoformat() if value else ""


class _Echo:
    """A file that hands back what is written to it: lets csv.writer produce one line at a time."""

    def write(self, value):
        return value


def export_lines(queryset):
    """CSV lines (header first) for every subscriber in ``queryset``, oldest first."""
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    rows = queryset.order_by("created_at", "pk").prefetch_related("topics", "regions")
    for subscriber in rows.iterator(chunk_size=1000):
        yield writer.writerow(
            guard(value)
            for value in (
                subscriber.email,
                subscriber.name,
                subscriber.status,
                subscriber.cadence,
                "true" if subscriber.everything else "false",
                ";".join(sorted(topic.slug for topic in subscriber.topics.all())),
                ";".join(sorted(region.code for region in subscriber.regions.all())),
                "true" if subscriber.paused else "false",
                subscriber.source,
                _timestamp(subscriber.created_at),
                _timestamp(subscriber.confirmed_at),
                _timestamp(subscriber.unsubscribed_at),
            )
        )


# Import --------------------------------------------------------------------------------------------
class ImportFileError(Exception):
    """The file as a whole cannot be read (not CSV text, no e-mail column, too many rows)."""


def unguard(text):
    """A cell as exported by ``guard``, back to its value."""
    if len(text) > 1 and text[0] == "'" and text.startswith(FORMULA_STARTS, 1):
        return text[1:]
    return text


def split_list(text):
    return [part.strip() for part in _list_separator.split(text or "") if part.strip()]


def _chunks(items, size=500):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Vocabulary:
    """Topics (by slug or name) and regions (by code such as "US-CA" or "city:5368361", or by slug such as
    "los-angeles-ca") as a file or a form may spell them, case aside; looked up once, not once a row."""

    def __init__(self, region_names=()):
        self.topics = {}
        for topic in Topic.objects.all():
            self.topics[topic.slug.lower()] = topic
            self.topics.setdefault(topic.name.lower(), topic)
        self.regions = {}
        spellings = {variant for name in region_names for variant in (name, name.upper(), name.lower())}
        for chunk in _chunks(sorted(spellings)):
            for region in Region.objects.filter(Q(code__in=chunk) | Q(slug__in=chunk)):
                self.regions[region.code.lower()] = region
                self.regions.setdefault(region.slug.lower(), region)

    @staticmethod
    def _resolve(known, names):
        found, unknown = {}, []
        for name in names:
            match = known.get(name.lower())
            if match is None:
                unknown.append(name)
            else:
                found[match.pk] = match
        return list(found.values()), unknown

    def find_topics(self, names):
        """(topics, names that match none)."""
        return self._resolve(self.topics, names)

    def find_regions(self, names):
        """(regions, names that match none)."""
        return self._resolve(self.regions, names)


HEADER_ALIASES = {"emailaddress": "email", "mail": "email", "fullname": "name", "frequency": "cadence"}


def _header_name(cell):
    return re.sub(r"[\s_-]", "", cell).lower()


MAX_COLUMNS = 100
MAX_EMAIL_LENGTH = 254  # the column's size: longer would fail in the database, not here


def _decode(data):
    """The file's text: UTF-8 (a BOM allowed), or UTF-16 when it starts with a UTF-16 BOM (spreadsheets'
    "Unicode text"). Raises ImportFileError naming the line of the first byte that is neither."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFileError("The file starts like UTF-16 text but is not.") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = len((data[: exc.start] + b"x").splitlines())
        raise ImportFileError(
            f"The file is not UTF-8 text (line {line} has a byte that is not): is it a spreadsheet "
            "or an image? Save it from your spreadsheet as “CSV UTF-8”."
        ) from None


def read_rows(uploaded):
    """(line number, {column: value}) for each row of an uploaded CSV file.

    A first row naming an ``email`` column is a header (columns in any order, others ignored); otherwise
    the columns are taken to be email, name, topics, regions, cadence in that order. Any line ending
    goes (\\n, \\r\\n, and the old Mac's lone \\r). A file that cannot be read as a whole raises
    ImportFileError; a row with more cells than the header names carries a ``_problem`` for its report.
    """
    text = _decode(uploaded.read())
    if "\x00" in text:
        # Not text (and PostgreSQL refuses NUL in text columns): say so before anything reaches a query.
        line = len((text[: text.index("\x00")] + "x").splitlines())
        raise ImportFileError(f"The file holds a NUL character (line {line}): it is not CSV text.")
    if not text.strip():
        raise ImportFileError("The file is empty.")
    head = text.splitlines()[0]
    # Commas, unless the first line has none and semicolons or tabs instead (spreadsheets in some locales
    # save "CSV" that way). Not sniffed from the data: "wildfire;hazmat" in a topics cell is not a column.
    delimiter = next((mark for mark in ",;\t" if mark in head), ",")
    # newline="": the csv module then splits records at any line ending and keeps those inside quotes.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = [(number, row) for number, row in enumerate(reader, start=1) if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise ImportFileError(_csv_problem(exc, reader.line_num)) from None
    if not records:
        raise ImportFileError("The file is empty.")
    first = records[0][1]
    if len(first) > MAX_COLUMNS:
        raise ImportFileError(
            f"The first row has {len(first):,} columns; a subscriber list has a few (email, name, ...)."
        )
    header = [HEADER_ALIASES.get(name, name) for name in (_header_name(cell) for cell in first)]
    if "email" in header:
        columns, body = header, records[1:]
        if not body:
            raise ImportFileError("The file has only its header row: there are no addresses in it.")
    elif "@" in (first[0] if first else ""):
        columns, body = IMPORT_COLUMNS, records
    else:
        raise ImportFileError("No e-mail column: the first row should name the columns, e.g. email,name.")
    if len(body) > MAX_IMPORT_ROWS:
        raise ImportFileError(
            f"The file has {len(body):,} rows; import at most {MAX_IMPORT_ROWS:,} at a time."
        )
    for number, row in body:
        values = {name: unguard(value.strip()) for name, value in zip(columns, row, strict=False)}
        extra = [cell for cell in row[len(columns) :] if cell.strip()]
        if extra and header is columns:
            values["_problem"] = (
                f"{len(row)} cells but the header names {len(columns)} columns "
                "(a comma inside a name needs quotes around the name)"
            )
        yield number, values


def _csv_problem(exc, line):
    if "field larger than field limit" in str(exc):
        return (
            f"Line {line} has a cell longer than {csv.field_size_limit() // 1024} KiB: "
            "this is not a subscriber list (or a quote mark is missing its pair)."
        )
    return f"The file is not valid CSV (line {line}: {exc})."


@dataclass
class RowResult:
    line: int
    email: str
    outcome: str  # "created", "skipped" or "error"
    message: str = ""


@dataclass
class ImportReport:
    rows: list = field(default_factory=list)
    dry_run: bool = False

    def count(self, outcome):
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def created(self):
        return self.count("created")

    @property
    def skipped(self):
        return self.count("skipped")

    @property
    def errors(self):
        return self.count("error")

    def summary(self):
        verb = "would be added" if self.dry_run else "added"
        return f"{self.created} {verb}, {self.skipped} skipped, {self.errors} with errors"


def check_row(values, default_cadence, vocabulary):
    """Validate one row. Returns (fields for a new Subscriber, topics, regions) or raises ValidationError
    naming every problem of the row."""
    problems = [values["_problem"]] if values.get("_problem") else []
    email = normalise_email(values.get("email"))
    if not email:
        problems.append("no e-mail address")
    elif len(email) > MAX_EMAIL_LENGTH:
        problems.append(f"the address is longer than {MAX_EMAIL_LENGTH} characters")
    else:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(f"“{email}” is not an e-mail address")
    name = values.get("name", "")
    if len(name) > 100:
        problems.append("name longer than 100 characters")
    cadence = (values.get("cadence") or default_cadence).strip().lower()
    if cadence not in Cadence.values:
        problems.append(f"cadence “{cadence}” is not one of {', '.join(Cadence.values)}")
    topics, unknown = vocabulary.find_topics(split_list(values.get("topics")))
    if unknown:
        problems.append("unknown topic " + ", ".join(f"“{name}”" for name in unknown))
    regions, unknown = vocabulary.find_regions(split_list(values.get("regions")))
    if unknown:
        problems.append("unknown region " + ", ".join(f"“{name}”" for name in unknown))
    if problems:
        raise ValidationError("; ".join(problems))
    fields = {"email": email, "name": name, "cadence": cadence, "everything": not (topics or regions)}
    return fields, topics, regions


def import_subscribers(rows, *, default_cadence=Cadence.INSTANT, dry_run=False):
    """Add the new addresses in ``rows`` (from ``read_rows``) as pending subscribers and queue their
    confirmation e-mails. Returns an ``ImportReport`` with one result per row."""
    rows = list(rows)
    try:
        return _import(rows, default_cadence, dry_run)
    except IntegrityError:
        # A reader subscribed through the form during the import: look at the list again.
        return _import(rows, default_cadence, dry_run)


def _import(rows, default_cadence, dry_run):
    report = ImportReport(dry_run=dry_run)
    vocabulary = Vocabulary(name for _, values in rows for name in split_list(values.get("regions")))
    checked = []
    for line, values in rows:
        try:
            fields, topics, regions = check_row(values, default_cadence, vocabulary)
        except ValidationError as exc:
            report.rows.append(RowResult(line, values.get("email", ""), "error", " ".join(exc.messages)))
            continue
        checked.append((line, fields, topics, regions))

    emails = [fields["email"] for _, fields, _, _ in checked]
    existing, suppressed = {}, {}
    for chunk in _chunks(emails):
        existing.update(Subscriber.objects.filter(email__in=chunk).values_list("email", "status"))
        suppressed.update(Suppression.objects.filter(email__in=chunk).values_list("email", "reason"))
    statuses, reasons = dict(Subscriber.Status.choices), dict(Suppression.Reason.choices)
    first_seen, new = {}, []
    for line, fields, topics, regions in checked:
        email = fields["email"]
        if email in first_seen:
            message = f"repeats line {first_seen[email]}"
        elif email in existing:
            message = f"already on the list ({statuses[existing[email]].lower()}); left as it is"
        elif email in suppressed:
            message = f"suppressed ({reasons[suppressed[email]].lower()})"
        else:
            message = ""
        first_seen.setdefault(email, line)
        if message:
            report.rows.append(RowResult(line, email, "skipped", message))
            continue
        subscriber = Subscriber(**fields, status=Subscriber.Status.PENDING, source=Subscriber.Source.IMPORT)
        new.append((subscriber, topics, regions))
        report.rows.append(RowResult(line, email, "created"))
    report.rows.sort(key=lambda row: row.line)
    if dry_run or not new:
        return report

    with transaction.atomic():
        created = Subscriber.objects.bulk_create([subscriber for subscriber, _, _ in new], batch_size=500)
        Subscriber.topics.through.objects.bulk_create(
            [
                Subscriber.topics.through(subscriber_id=subscriber.pk, topic_id=topic.pk)
                for subscriber, (_, topics, _) in zip(created, new, strict=True)
                for topic in topics
            ],
            batch_size=1000,
        )
        Subscriber.regions.through.objects.bulk_create(
            [
                Subscriber.regions.through(subscriber_id=subscriber.pk, region_id=region.pk)
                for subscriber, (_, _, regions) in zip(created, new, strict=True)
                for region in regions
            ],
            batch_size=1000,
        )
        request_replies(created, Reply.CONFIRM)
    return report
