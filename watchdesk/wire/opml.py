"""OPML import and export of sources: the format every feed reader trades subscription lists in.

Import adds sources by feed URL and reports every feed: created, already present (never renamed),
refused by the guarded fetcher's policy, or invalid, with the reason. Folders (outlines without an
``xmlUrl``) may nest to any depth and become the sources' groups ("Local / Fire & Rescue"); export writes
them back as folders. A file that is not well-formed OPML, has a DOCTYPE, is over 5 MB or lists more than
5,000 feeds is refused as a whole before anything is written, and the writes happen in one transaction,
so an import never stops half-way. Whether each new feed can be fetched is learnt by fetching it:
``watchdesk sources import`` polls them at once, the admin leaves them to the worker (new sources are
due at once). This module imports no parser, so the web process can use it.

Parsing is safe against XML attacks without defusedxml (not installed): a document carrying a DOCTYPE is
refused before parsing (OPML never needs one, and entities can only be declared in one), and lxml itself
parses with entity resolution, DTD loading and network access switched off (and checks again for a DTD,
for encodings the byte scan cannot read). Billion-laughs and external-entity files fail with a clear error.
"""

import re
from dataclasses import asdict, dataclass, field
from email.utils import format_datetime
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from lxml import etree

from watchdesk.core.fetcher import FetchRefused, check_url
from watchdesk.wire.models import Source

MAX_OPML_BYTES = 5 * 1024 * 1024
MAX_OPML_FEEDS = 5000
GROUP_SEPARATOR = " / "  # a source's group is its OPML folders' titles, outermost first
FEED_TYPES = ("rss", "atom", "feed", "jsonfeed")
# Characters XML 1.0 cannot carry at all, even escaped.
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_NO_DOCTYPE = "a DOCTYPE is not allowed in OPML (it could declare entities)"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
NAME_LENGTH = Source._meta.get_field("name").max_length
URL_LENGTH = Source._meta.get_field("url").max_length
LANGUAGE_LENGTH = Source._meta.get_field("language").max_length
GROUP_LENGTH = Source._meta.get_field("group").max_length
FIELD_LABELS = {"site_url": "website", "language": "language", "group": "group"}


class OPMLError(ValueError):
    """The file is not OPML we can read; nothing was imported."""


@dataclass
class FeedOutline:
    url: str
    name: str = ""
    site_url: str = ""
    language: str = ""
    folder: str = ""  # "News / Local": the titles of the enclosing outlines


@dataclass
class FeedReport:
    """What an import did with one feed outline."""

    url: str
    name: str = ""
    group: str = ""
    outcome: str = ""  # one of OUTCOMES
    reason: str = ""
    source_id: int | None = None


# created: a new source; present: a source with this feed URL existed (kept as it is, but for empty
# fields the file fills); refused: the guarded fetcher's policy would never fetch it; invalid: no usable
# URL, or listed twice in the file.
OUTCOMES = ("created", "present", "refused", "invalid")


@dataclass
class ImportSummary:
    feeds: list[FeedReport] = field(default_factory=list)

    def count(self, outcome):
        return sum(1 for feed in self.feeds if feed.outcome == outcome)

    @property
    def created(self):
        return self.count("created")

    @property
    def present(self):
        return self.count("present")

    @property
    def not_imported(self):
        """The feeds that are not sources now: (url or name, reason)."""
        return [
            (feed.url or feed.name, feed.reason)
            for feed in self.feeds
            if feed.outcome in ("refused", "invalid")
        ]

    def as_dict(self):
        return {
            **{outcome: self.count(outcome) for outcome in OUTCOMES},
            "feeds": [asdict(feed) for feed in self.feeds],
        }

    @classmethod
    def from_dict(cls, data):
        return cls(feeds=[FeedReport(**feed) for feed in data.get("feeds", [])])

    def __str__(self):
        return ", ".join(f"{outcome} {self.count(outcome)}" for outcome in OUTCOMES)


def _parser():
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def parse_opml(content):
    """The feed outlines of an OPML document (bytes), in document order. Raises OPMLError."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    if len(content) > MAX_OPML_BYTES:
        raise OPMLError(f"the file is larger than {MAX_OPML_BYTES // (1024 * 1024)} MB")
    if _DOCTYPE.search(content):
        raise OPMLError(_NO_DOCTYPE)
    try:
        root = etree.fromstring(content, parser=_parser())
    except etree.XMLSyntaxError as error:
        raise OPMLError(f"not well-formed XML: {error}") from error
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise OPMLError(_NO_DOCTYPE)
    if _local(root.tag) != "opml":
        raise OPMLError(f"the root element is <{_local(root.tag)}>, not <opml>")
    body = next((child for child in root if _local(child.tag) == "body"), None)
    if body is None:
        raise OPMLError("the OPML has no <body>")
    outlines = []
    _walk(body, [], outlines)
    return outlines


def _local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _walk(element, folders, outlines):
    for child in element:
        if _local(child.tag) != "outline":
            continue
        label = _clean(child.get("title") or child.get("text"))
        url = _clean(child.get("xmlUrl") or child.get("xmlurl"))
        is_feed = (child.get("type") or "").lower() in FEED_TYPES
        if url or is_feed:
            outlines.append(
                FeedOutline(
                    url=url,
                    name=label,
                    site_url=_clean(child.get("htmlUrl") or child.get("htmlurl")),
                    language=_clean(child.get("language")),
                    folder=GROUP_SEPARATOR.join(folders),
                )
            )
        # A feed outline may itself hold outlines; a folder certainly does.
        _walk(child, [*folders, label] if label and not (url or is_feed) else folders, outlines)


def _clean(value):
    return " ".join((value or "").split())


def import_opml(content):
    """Add the feeds of an OPML document as sources, with their folders as groups. Raises OPMLError
    (nothing written) for a file that is not OPML; every feed gets a ``FeedReport``.

    A feed whose URL is already a source is never renamed or moved: only its empty website, language and
    group are filled from the file. Nothing is fetched here: ``watchdesk sources import`` or the
    worker (after the admin's import) fetches the new sources, and ``fetch_outcome`` says how that went."""
    outlines = parse_opml(content)
    if len(outlines) > MAX_OPML_FEEDS:
        raise OPMLError(f"the file lists {len(outlines):,} feeds; at most {MAX_OPML_FEEDS:,} at a time")
    summary = ImportSummary()
    seen = set()
    validate_url = URLValidator(schemes=["http", "https"])
    with transaction.atomic():
        existing = {source.url: source for source in Source.objects.filter(url__in=[o.url for o in outlines])}
        for outline in outlines:
            report = FeedReport(url=outline.url, name=outline.name, group=outline.folder[:GROUP_LENGTH])
            summary.feeds.append(report)
            outcome, reason = _refusal(outline.url, validate_url)
            if not outcome and outline.url in seen:
                outcome, reason = "invalid", "listed twice in the file"
            if outcome:
                report.outcome, report.reason = outcome, reason
                continue
            seen.add(outline.url)
            site_url = outline.site_url if _refusal(outline.site_url, validate_url)[0] is None else ""
            values = {
                "site_url": site_url[:URL_LENGTH],
                "language": outline.language[:LANGUAGE_LENGTH],
                "group": report.group,
            }
            source = existing.get(outline.url)
            if source is None:
                name = (outline.name or _host(outline.url))[:NAME_LENGTH]
                source = Source.objects.create(url=outline.url, name=name, **values)
                report.outcome, report.source_id = "created", source.pk
                continue
            report.outcome, report.source_id, report.name = "present", source.pk, source.name
            filled = {name: value for name, value in values.items() if value and not getattr(source, name)}
            if filled:
                Source.objects.filter(pk=source.pk).update(**filled)
                report.reason = "filled in its empty " + ", ".join(FIELD_LABELS[name] for name in filled)
    return summary


def fetch_outcome(source):
    """("waiting", "") before the first fetch, ("fetched", "") after a good one, else ("could not fetch",
    why): a source's first fetch as an import report shows it."""
    if source is None:
        return ("deleted", "")
    if source.last_fetched_at is None:
        return ("waiting", "not fetched yet")
    if source.consecutive_errors:
        return ("could not fetch", source.last_error or source.last_status)
    return ("fetched", source.last_error)


def _refusal(url, validate_url):
    """(outcome, reason) when this URL cannot be a source, else (None, "")."""
    if not url:
        return "invalid", "no feed URL"
    if len(url) > URL_LENGTH:
        return "invalid", f"URL longer than {URL_LENGTH} characters"
    try:
        validate_url(url)
    except ValidationError:
        return "invalid", "not a valid http(s) URL"
    try:
        check_url(url)
    except FetchRefused as error:
        return "refused", str(error)  # "refused: 10.0.0.1 is a private address"
    return None, ""


def _host(url):
    return (urlsplit(url).hostname or url).removeprefix("www.")


def export_opml(sources=None, *, title="Watchdesk sources", now=None):
    """OPML 2.0 (bytes, UTF-8) listing ``sources`` (default: all), one outline per feed, inside nested
    folder outlines from their groups ("Local / Fire & Rescue"), so that an import gives the groups back."""
    sources = Source.objects.order_by("group", "name", "pk") if sources is None else sources
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = _NOT_XML.sub("", title)
    etree.SubElement(head, "dateCreated").text = format_datetime(now or timezone.now(), usegmt=True)
    body = etree.SubElement(opml, "body")
    folders = {(): body}
    for source in sources:
        parent = _folder(folders, _NOT_XML.sub("", source.group))
        name = _NOT_XML.sub("", source.name)
        attributes = {"type": "rss", "text": name, "title": name, "xmlUrl": source.url}
        if source.site_url:
            attributes["htmlUrl"] = source.site_url
        if source.language:
            attributes["language"] = _NOT_XML.sub("", source.language)
        etree.SubElement(parent, "outline", attributes)
    return etree.tostring(opml, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _folder(folders, group):
    """The outline element for a group's folder path, made (with its parents) the first time."""
    path = tuple(part for part in (_clean(part) for part in group.split(GROUP_SEPARATOR)) if part)
    for depth in range(1, len(path) + 1):
        if path[:depth] not in folders:
            folders[path[:depth]] = etree.SubElement(
                folders[path[: depth - 1]], "outline", text=path[depth - 1], title=path[depth - 1]
            )
    return folders[path]
