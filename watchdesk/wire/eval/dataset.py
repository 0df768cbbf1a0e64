"""Reading the evaluation set: outlets (``set/outlets.json``) and items (``set/<theme>.jsonl``).

Everything is checked before anything runs, and every problem is reported at once with its file and line:
an unknown key, outlet or topic slug, a date without a time zone, a repeated id. Places are resolved
separately (``resolve_places``), against the gazetteer in the database: a code as the taxonomy stores it
("US", "US-GA", "GE", "county:13121", "city:4180439") is taken as it is; anything else is read as the
inbox's place box reads it ("Atlanta, GA", "Paris, France", "Harris County, Texas") and must name exactly
one region, or loading fails with the choices.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from watchdesk.taxonomy.models import Region
from watchdesk.taxonomy.place_lookup import PlaceNotFound, lookup
from watchdesk.taxonomy.topics_loader import DEFAULT_TOPICS_FILE

SET_DIR = Path(__file__).resolve().parent / "set"
OUTLETS_FILE = "outlets.json"
ITEM_KEYS = {"id", "outlet", "language", "published", "title", "text", "topics", "places", "story", "url"}
REQUIRED_KEYS = ITEM_KEYS - {"url"}
OUTLET_KEYS = {"name", "feed", "language", "home"}
_ID = re.compile(r"[a-z0-9][a-z0-9-]*")


class DatasetError(ValueError):
    """The set cannot be used as it is; the message lists every problem found, one per line."""


@dataclass(frozen=True)
class Outlet:
    key: str
    name: str
    feed: str
    language: str
    home: str = ""  # a region code: the wire's fallback for items that name no place


@dataclass
class EvalItem:
    id: str
    theme: str
    line: int
    outlet: Outlet
    language: str
    published: datetime
    title: str
    text: str
    topics: frozenset
    places: tuple  # as written in the file
    story: str
    url: str
    place_codes: frozenset = field(default=frozenset())  # filled in by resolve_places


def default_topic_slugs():
    with open(DEFAULT_TOPICS_FILE, encoding="utf-8") as handle:
        return [topic["slug"] for topic in json.load(handle)["topics"]]


def themes(set_dir=SET_DIR):
    return sorted(path.stem for path in Path(set_dir).glob("*.jsonl"))


def load_outlets(set_dir=SET_DIR):
    path = Path(set_dir) / OUTLETS_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path.name}: {error}") from error
    outlets, problems, feeds = {}, [], {}
    for key, value in raw.items():
        if not isinstance(value, dict) or set(value) - OUTLET_KEYS or not {"name", "feed"} <= set(value):
            problems.append(f"{path.name}: outlet {key!r} needs name and feed (and may have language, home)")
            continue
        scheme = urlsplit(value["feed"]).scheme
        if scheme not in ("http", "https"):
            problems.append(f"{path.name}: outlet {key!r}: the feed must be an http(s) URL")
        if value["feed"] in feeds:
            problems.append(f"{path.name}: outlets {feeds[value['feed']]!r} and {key!r} share a feed URL")
        feeds[value["feed"]] = key
        outlets[key] = Outlet(
            key, value["name"], value["feed"], value.get("language", "en"), value.get("home", "")
        )
    if problems:
        raise DatasetError("\n".join(problems))
    return outlets


def parse_time(value):
    """ISO 8601 with a time zone ("2026-08-14T16:05:00Z", "...+02:00") -> aware UTC; else ValueError."""
    if not isinstance(value, str):
        raise ValueError("published must be a string")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"published {value!r} has no time zone (add Z or +hh:mm)")
    return moment.astimezone(UTC)


def parse_lines(lines, *, theme, outlets, topic_slugs, problems, seen_ids):
    """Items from the lines of one theme file; problems are appended to ``problems``."""
    items = []
    known_topics = set(topic_slugs)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{theme}.jsonl:{number}"
        try:
            raw = json.loads(line)
        except ValueError as error:
            problems.append(f"{where}: not JSON ({error})")
            continue
        if not isinstance(raw, dict):
            problems.append(f"{where}: an item is a JSON object")
            continue
        item_id = raw.get("id")
        where = f"{where} {item_id}"
        wrong = []
        if unknown := set(raw) - ITEM_KEYS:
            wrong.append(f"unknown keys {sorted(unknown)}")
        if missing := REQUIRED_KEYS - set(raw):
            wrong.append(f"missing keys {sorted(missing)}")
        if wrong:
            problems.append(f"{where}: {'; '.join(wrong)}")
            continue
        if not isinstance(item_id, str) or not _ID.fullmatch(item_id):
            wrong.append("id must be lowercase letters, digits and hyphens")
        elif item_id in seen_ids:
            wrong.append(f"id already used at {seen_ids[item_id]}")
        else:
            seen_ids[item_id] = where
        outlet = outlets.get(raw["outlet"])
        if outlet is None:
            wrong.append(f"unknown outlet {raw['outlet']!r} (outlets are in {OUTLETS_FILE})")
        try:
            published = parse_time(raw["published"])
        except ValueError as error:
            wrong.append(str(error))
        for key in ("title", "text", "story", "language"):
            if not isinstance(raw[key], str) or not raw[key].strip():
                wrong.append(f"{key} must be a non-empty string")
        topics, places = raw["topics"], raw["places"]
        if not isinstance(topics, list) or not all(isinstance(slug, str) for slug in topics):
            wrong.append("topics must be a list of topic slugs")
        else:
            if unknown_topics := sorted(set(topics) - known_topics):
                wrong.append(f"unknown topics {unknown_topics} (slugs are in default_topics.json)")
            if len(set(topics)) != len(topics):
                wrong.append("a topic is listed twice")
        if not isinstance(places, list) or not all(isinstance(place, str) and place for place in places):
            wrong.append("places must be a list of place names or codes")
        if wrong:
            problems.append(f"{where}: {'; '.join(wrong)}")
            continue
        url = raw.get("url") or f"https://{urlsplit(outlet.feed).netloc}/news/{item_id}"
        items.append(
            EvalItem(
                id=item_id,
                theme=theme,
                line=number,
                outlet=outlet,
                language=raw["language"],
                published=published,
                title=raw["title"].strip(),
                text=raw["text"].strip(),
                topics=frozenset(topics),
                places=tuple(places),
                story=raw["story"],
                url=url,
            )
        )
    return items


def load_set(set_dir=SET_DIR, *, only=None):
    """Every item of the set (or of the themes in ``only``), checked; ``DatasetError`` lists all problems.

    Places are not resolved here: call ``resolve_places`` with the gazetteer loaded.
    """
    set_dir = Path(set_dir)
    available = themes(set_dir)
    wanted = list(only) if only else available
    if unknown := sorted(set(wanted) - set(available)):
        raise DatasetError(f"No theme {', '.join(unknown)}; the themes are: {', '.join(available)}")
    outlets = load_outlets(set_dir)
    slugs = default_topic_slugs()
    problems, seen_ids, items = [], {}, []
    for theme in available:  # every file is read, so ids stay unique across the set even with --only
        lines = (set_dir / f"{theme}.jsonl").read_text(encoding="utf-8").splitlines()
        found = parse_lines(
            lines, theme=theme, outlets=outlets, topic_slugs=slugs, problems=problems, seen_ids=seen_ids
        )
        if theme in wanted:
            items.extend(found)
    if problems:
        raise DatasetError("\n".join(problems))
    return items


def resolve_place(text):
    """The region code that ``text`` names; ``DatasetError`` when it names none or several."""
    exact = Region.objects.filter(code=text).values_list("code", flat=True).first()
    if exact:
        return exact
    try:
        found = lookup(text)
    except PlaceNotFound as error:
        raise DatasetError(str(error)) from error
    if found.region is None:
        choices = "; ".join(
            f"{region.code} ({region.name}, {region.parent or 'country'})" for region in found.choices
        )
        raise DatasetError(f"“{text}” could mean several places: {choices}. Write the code or add ', State'.")
    return found.region.code


def resolve_places(items):
    """Fill in each item's ``place_codes``; ``DatasetError`` lists every name that fails to resolve."""
    problems, cache = [], {}
    for item in items:
        codes = set()
        for text in item.places:
            if text not in cache:
                try:
                    cache[text] = resolve_place(text)
                except DatasetError as error:
                    cache[text] = error
            if isinstance(cache[text], DatasetError):
                problems.append(f"{item.theme}.jsonl:{item.line} {item.id}: place {text!r}: {cache[text]}")
            else:
                codes.add(cache[text])
        item.place_codes = frozenset(codes)
    homes = {item.outlet.home for item in items if item.outlet.home}
    known = set(Region.objects.filter(code__in=homes).values_list("code", flat=True))
    problems += [f"{OUTLETS_FILE}: home {code!r} is not a region code" for code in sorted(homes - known)]
    if problems:
        raise DatasetError("\n".join(problems))
    return items
