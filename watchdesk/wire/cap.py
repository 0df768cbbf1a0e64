"""CAP 1.2 alerts (Common Alerting Protocol): as national weather services publish them in Atom (NWS:
``cap:event``, ``cap:severity``, ``cap:geocode`` ... in each entry), and as a bare ``<alert>`` document.

The document is read with defusedxml's ElementTree after the same defusing ``parse_feed`` does for every
XML feed (every DOCTYPE and ENTITY declaration cut out, the encoding checked); defusedxml then refuses
anything that still declares one. An Atom document that is not well-formed XML is handed back to the
ordinary Atom path (``NotWellFormed``), which keeps its readable entries without their CAP fields.

An entry without an event, or with neither an id nor a link, is skipped with its reason. Severity,
urgency and certainty outside CAP's words read "Unknown"; a date that cannot be read is left out.
"""

import re
from datetime import UTC
from html import escape
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from watchdesk.core.sanitize import storable
from watchdesk.wire import official
from watchdesk.wire.canonical import canonical_url
from watchdesk.wire.entries import (
    MAX_TITLE,
    Entry,
    FeedError,
    ParsedFeed,
    language_tag,
    make_entry,
    plain_text,
)

CAP_NAMESPACE = re.compile(rb"urn:oasis:names:tc:emergency:cap:1\.[0-2]")
ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
GEOCODE_NAMES = {"SAME": "SAME", "FIPS6": "SAME", "UGC": "UGC"}  # FIPS6: the older NWS name for SAME
MAX_GEOCODES = 400  # values of one kind kept per entry; a state-wide alert lists a few hundred at most
MAX_FIELD = 2000  # characters kept of a short CAP field (event, area description)
MAX_TEXT = 20_000  # characters kept of a description or instruction


class NotWellFormed(Exception):
    """The CAP document is not well-formed XML: read it as plain Atom instead (``reason`` says why)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def looks_like_cap(content):
    """True when the document declares the CAP namespace near its start (a CAP Atom feed or an alert)."""
    return bool(CAP_NAMESPACE.search(content[:8192]))


def parse_cap(content, *, url="", charset=""):
    """Parse defused bytes of a CAP Atom feed or a bare CAP alert into a ``ParsedFeed``.

    Raises ``NotWellFormed`` for an Atom document ElementTree cannot read and ``FeedError`` for any other
    document that is not CAP.
    """
    try:
        parser = DefusedXMLParser(encoding=charset or None, forbid_dtd=True)
        parser.feed(content)
        root = parser.close()
    except DefusedXmlException as error:
        raise FeedError(f"not a feed: the document declares {error.__class__.__name__}") from None
    except ParseError as error:
        if b"<feed" in content[:4096] or b":feed" in content[:4096]:
            raise NotWellFormed(f"not well-formed XML ({error}); its CAP fields were not read") from None
        raise FeedError(f"not a CAP alert: not well-formed XML ({error})") from None
    namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    if local == "alert" and namespace.startswith("urn:oasis:names:tc:emergency:cap:"):
        return _bare_alert(root, namespace, url=url)
    if root.tag == f"{ATOM}feed":
        return _atom_feed(root, url=url)
    raise FeedError("not a feed: a CAP document must be an Atom feed or a CAP <alert>")


# --- Atom with CAP fields (NWS) -------------------------------------------------------------------------


def _atom_feed(root, *, url):
    base = canonical_url(_link(root), base=url) or canonical_url(url)
    language = language_tag(root.get(XML_LANG))
    parsed = ParsedFeed(
        title=plain_text(_text(root.find(f"{ATOM}title")), MAX_TITLE),
        link=base,
        language=language,
        format="cap-atom",
    )
    for node in root.iterfind(f"{ATOM}entry"):
        _add(parsed, _atom_entry(node, base=base, language=language))
    return parsed


def _atom_entry(node, *, base, language):
    entry_id = _text(node.find(f"{ATOM}id"))
    link = _link(node)
    embedded = next((child for child in node.iter() if _local(child) == "alert" and _is_cap(child)), None)
    if embedded is not None:
        fields = _alert_fields(embedded, _namespace(embedded))
    else:
        fields = _fields(node, _cap_namespace_of(node))
    if not fields["event"]:
        return (entry_id or link, "a CAP entry without an event")
    title = _text(node.find(f"{ATOM}title")) or fields["headline"] or _default_title(fields)
    summary = _text(node.find(f"{ATOM}summary")) or fields["description"]
    published = _text(node.find(f"{ATOM}published")) or _text(node.find(f"{ATOM}updated"))
    return _entry(
        entry_id=entry_id or fields["identifier"],
        link=link or fields["web"],
        title=title,
        fields={**fields, "description": summary},
        published=_utc(published) or _utc(fields["sent"]),
        language=language_tag(node.get(XML_LANG)) or language,
        base=base,
    )


def _link(node):
    for link in node.iterfind(f"{ATOM}link"):
        if link.get("href") and link.get("rel", "alternate") == "alternate":
            return link.get("href")
    return ""


# --- A bare CAP <alert> ---------------------------------------------------------------------------------


def _bare_alert(root, namespace, *, url):
    parsed = ParsedFeed(link=canonical_url(url), format="cap")
    fields = _alert_fields(root, namespace)
    parsed.title = plain_text(fields["sender_name"] or fields["sender"], MAX_TITLE)
    parsed.language = fields["language"]
    if not fields["identifier"]:
        parsed.skipped.append(("", "a CAP alert without an identifier"))
    elif not fields["event"]:
        parsed.skipped.append((fields["identifier"], "a CAP alert without an event"))
    else:
        # The document is the alert, so its own address is the best link; <web> is often a home page.
        web = fields["web"]
        link = canonical_url(url) or web
        _add(
            parsed,
            _entry(
                entry_id=fields["identifier"],
                link=link,
                title=fields["headline"] or _default_title(fields),
                fields=fields,
                published=_utc(fields["sent"]),
                language=fields["language"],
                base=parsed.link,
            ),
        )
    return parsed


def _alert_fields(alert, namespace):
    """The fields of a CAP <alert>: its own, then those of its first <info> (CAP allows one per language)."""
    ns = f"{{{namespace}}}" if namespace else ""
    fields = _fields(alert, namespace)
    info = alert.find(f"{ns}info")
    if info is not None:
        fields.update({name: value for name, value in _fields(info, namespace).items() if value})
        fields["language"] = language_tag(_text(info.find(f"{ns}language")))
    return fields


# --- Shared: the CAP fields of one element, and the entry made of them ---------------------------------


def _fields(node, namespace):
    """CAP fields among the children (and, for areas and geocodes, the descendants) of ``node``."""
    ns = f"{{{namespace}}}" if namespace else ""

    def text(name, limit=MAX_FIELD):
        return _text(node.find(f"{ns}{name}"))[:limit]

    areas = [_text(area) for area in node.iter(f"{ns}areaDesc") if _text(area)]
    return {
        "identifier": text("identifier"),
        "sender": text("sender"),
        "sender_name": text("senderName"),
        "sent": text("sent"),
        "status": text("status"),
        "msg_type": text("msgType"),
        "event": text("event"),
        "headline": text("headline"),
        "description": text("description", MAX_TEXT),
        "instruction": text("instruction", MAX_TEXT),
        "web": text("web"),
        "severity": _one_of(text("severity"), SEVERITIES),
        "urgency": _one_of(text("urgency"), URGENCIES),
        "certainty": _one_of(text("certainty"), CERTAINTIES),
        "effective": text("effective") or text("onset"),
        "expires": text("expires"),
        "area": "; ".join(areas)[:MAX_FIELD],
        "geocodes": _geocodes(node, ns),
        "language": "",
    }


def _geocodes(node, ns):
    """{"SAME": [...], "UGC": [...]} from every <geocode> below ``node``.

    A <geocode> holds valueName/value pairs; NWS's Atom puts several names and values in one element, and
    its values may list several codes separated by spaces. The valueName and value children carry the
    feed's default namespace (Atom), so they are found by local name.
    """
    codes = {"SAME": [], "UGC": []}
    for geocode in node.iter(f"{ns}geocode"):
        name = ""
        for child in geocode:
            if _local(child) == "valueName":
                name = GEOCODE_NAMES.get(_text(child).upper(), "")
            elif _local(child) == "value" and name:
                for code in _text(child).split():
                    if code not in codes[name] and len(codes[name]) < MAX_GEOCODES:
                        codes[name].append(code[:12])
    return {name: values for name, values in codes.items() if values}


def _entry(*, entry_id, link, title, fields, published, language, base):
    severity, urgency, certainty = fields["severity"], fields["urgency"], fields["certainty"]
    data = {
        "kind": "cap",
        "event": fields["event"],
        "status": fields["status"],
        "msg_type": fields["msg_type"],
        "severity": severity,
        "urgency": urgency,
        "certainty": certainty,
        "effective": _iso(fields["effective"]),
        "expires": _iso(fields["expires"]),
        "area": fields["area"],
        "geocodes": fields["geocodes"],
        "breaking": fields["status"].lower() == "actual"
        and fields["msg_type"].lower() != "cancel"
        and official.cap_is_breaking(severity, urgency, certainty),
    }
    return make_entry(
        entry_id=entry_id,
        link=link,
        title=storable(title),
        summary_html=_summary_html(fields),
        published_at=published,
        language=language,
        base=base,
        html_base=base,
        official=data,
    )


def _summary_html(fields):
    """The alert as an editor reads it: what, how bad, where, until when, then the service's own words."""
    facts = [
        f"{fields['event']}: severity {fields['severity']}, urgency {fields['urgency']}, "
        f"certainty {fields['certainty']}."
    ]
    if fields["area"]:
        facts.append(f"Area: {fields['area']}.")
    if fields["effective"] or fields["expires"]:
        until = fields["expires"] or "further notice"
        facts.append(f"In effect {fields['effective'] or 'now'} until {until}.")
    if fields["msg_type"] and fields["msg_type"] != "Alert":
        facts.append(f"Message type: {fields['msg_type']}.")
    paragraphs = [" ".join(facts), fields["description"], fields["instruction"]]
    return "".join(f"<p>{escape(storable(text))}</p>" for text in paragraphs if text.strip())


def _default_title(fields):
    area = fields["area"].split(";")[0].strip()
    return f"{fields['event']} for {area}" if area else fields["event"]


def _add(parsed, entry_or_reason):
    if isinstance(entry_or_reason, Entry):
        parsed.entries.append(entry_or_reason)
    else:
        parsed.skipped.append(entry_or_reason)


def _utc(value):
    moment = official.parse_time(value)
    return moment.astimezone(UTC) if moment else None


def _iso(value):
    moment = official.parse_time(value)
    return moment.isoformat() if moment else ""


def _one_of(value, allowed):
    for word in allowed:
        if value.strip().lower() == word.lower():
            return word
    return "Unknown"


def _text(node):
    if node is None:
        return ""
    return storable("".join(node.itertext())).strip()


def _local(node):
    tag = node.tag if isinstance(node.tag, str) else ""
    return tag.rpartition("}")[2]


def _namespace(node):
    tag = node.tag if isinstance(node.tag, str) else ""
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def _is_cap(node):
    return _namespace(node).startswith("urn:oasis:names:tc:emergency:cap:")


def _cap_namespace_of(entry):
    """The CAP namespace the entry's fields use (1.2, or an older 1.1 feed)."""
    for child in entry:
        if _is_cap(child):
            return _namespace(child)
    return "urn:oasis:names:tc:emergency:cap:1.2"
