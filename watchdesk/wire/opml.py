"""OPML import and export of sources: the format every feed reader trades subscription lists in.

Import creates or updates sources by feed URL and reports created, updated and skipped (with reasons);
folders (outlines without an ``xmlUrl``) may nest to any depth and only group feeds. A file that is not
well-formed OPML is refused as a whole before anything is written, and the writes happen in one
transaction, so an import never stops half-way.

Parsing is safe against XML attacks without defusedxml (not installed): a document carrying a DOCTYPE is
refused before parsing (OPML never needs one, and entities can only be declared in one), and lxml itself
parses with entity resolution, DTD loading and network access switched off (and checks again for a DTD,
for encodings the byte scan cannot read). Billion-laughs and external-entity files fail with a clear error.
"""

import re
from dataclasses import dataclass, field
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
FEED_TYPES = ("rss", "atom", "feed", "jsonfeed")
# Characters XML 1.0 cannot carry at all, even escaped.
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_NO_DOCTYPE = "a DOCTYPE is not allowed in OPML (it could declare entities)"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
NAME_LENGTH = Source._meta.get_field("name").max_length
URL_LENGTH = Source._meta.get_field("url").max_length
LANGUAGE_LENGTH = Source._meta.get_field("language").max_length


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
class ImportSummary:
    created: int = 0
    updated: int = 0
    skipped: list = field(default_factory=list)  # [(url or name, reason)]

    def as_dict(self):
        return {
            "created": self.created,
            "updated": self.updated,
            "skipped": [{"url": url, "reason": reason} for url, reason in self.skipped],
        }

    def __str__(self):
        return f"created {self.created}, updated {self.updated}, skipped {len(self.skipped)}"


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
                    folder=" / ".join(folders),
                )
            )
        # A feed outline may itself hold outlines; a folder certainly does.
        _walk(child, [*folders, label] if label and not (url or is_feed) else folders, outlines)


def _clean(value):
    return " ".join((value or "").split())


def import_opml(content):
    """Create or update sources from an OPML document. Raises OPMLError (nothing written) for a file
    that is not OPML; feeds that cannot be added are skipped with a reason."""
    outlines = parse_opml(content)
    summary = ImportSummary()
    seen = set()
    validate_url = URLValidator(schemes=["http", "https"])
    with transaction.atomic():
        existing = {source.url: source for source in Source.objects.filter(url__in=[o.url for o in outlines])}
        for outline in outlines:
            reason = _refusal(outline.url, validate_url)
            if reason is None and outline.url in seen:
                reason = "listed twice in the file"
            if reason:
                summary.skipped.append((outline.url or outline.name, reason))
                continue
            seen.add(outline.url)
            site_url = outline.site_url if _refusal(outline.site_url, validate_url) is None else ""
            values = {
                "name": (outline.name or _host(outline.url))[:NAME_LENGTH],
                "site_url": site_url[:URL_LENGTH],
                "language": outline.language[:LANGUAGE_LENGTH],
            }
            source = existing.get(outline.url)
            if source is None:
                Source.objects.create(url=outline.url, **values)
                summary.created += 1
                continue
            # Keep what the file leaves out: an outline without a language does not erase ours.
            changed = {
                name: value for name, value in values.items() if value and getattr(source, name) != value
            }
            if changed:
                Source.objects.filter(pk=source.pk).update(**changed)
                summary.updated += 1
            else:
                summary.skipped.append((outline.url, "already present, unchanged"))
    return summary


def _refusal(url, validate_url):
    """Why this URL cannot be a source, or None."""
    if not url:
        return "no feed URL"
    if len(url) > URL_LENGTH:
        return f"URL longer than {URL_LENGTH} characters"
    try:
        validate_url(url)
    except ValidationError:
        return "not a valid http(s) URL"
    try:
        check_url(url)
    except FetchRefused as error:
        return str(error)  # "refused: 10.0.0.1 is a private address"
    return None


def _host(url):
    return (urlsplit(url).hostname or url).removeprefix("www.")


def export_opml(sources=None, *, title="Watchdesk sources", now=None):
    """OPML 2.0 (bytes, UTF-8) listing ``sources`` (default: all), one outline per feed."""
    sources = Source.objects.order_by("name", "pk") if sources is None else sources
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = _NOT_XML.sub("", title)
    etree.SubElement(head, "dateCreated").text = format_datetime(now or timezone.now(), usegmt=True)
    body = etree.SubElement(opml, "body")
    for source in sources:
        name = _NOT_XML.sub("", source.name)
        attributes = {"type": "rss", "text": name, "title": name, "xmlUrl": source.url}
        if source.site_url:
            attributes["htmlUrl"] = source.site_url
        if source.language:
            attributes["language"] = _NOT_XML.sub("", source.language)
        etree.SubElement(body, "outline", attributes)
    return etree.tostring(opml, xml_declaration=True, encoding="UTF-8", pretty_print=True)
