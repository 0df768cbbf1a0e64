"""What official alert feeds add to an item, and what the wire does with it (docs/wire.md, "Official
alert feeds").

``Item.official`` (and ``Entry.official`` before it is stored) is a small JSON object written by the
parsers in ``cap.py``, ``geojson.py`` and ``parsing.py`` (GeoRSS):

* CAP:   {"kind": "cap", "event", "status", "msg_type", "severity", "urgency", "certainty",
          "effective", "expires" (ISO 8601 or ""), "area", "geocodes": {"SAME": [...], "UGC": [...]},
          "breaking": bool}
* quake: {"kind": "quake", "event" (USGS "type"), "magnitude", "depth_km", "points": [[lat, lon]],
          "breaking": bool}
* point: {"kind": "point", "points": [[lat, lon]]}  (GeoRSS in an ordinary RSS or Atom feed)

This module reads it: the topics an event files an item under, whether an alert is surfaced as a story,
and the "alert" points of its relevance score.
"""

import functools
import json
import re
from datetime import datetime
from pathlib import Path

EVENTS_FILE = Path(__file__).resolve().parent / "data" / "alert_events.json"

# Relevance points of a CAP alert: severity plus urgency, times how certain it is.
SEVERITY_POINTS = {"extreme": 6.0, "severe": 4.0, "moderate": 2.0, "minor": 1.0}
URGENCY_POINTS = {"immediate": 4.0, "expected": 2.0, "future": 1.0, "past": 0.0}
CERTAINTY_FACTOR = {"observed": 1.0, "likely": 0.8, "possible": 0.5, "unlikely": 0.2}
UNKNOWN_CERTAINTY = 0.5
# A quake's points by magnitude (the first threshold it reaches); M7 counts as Extreme + Immediate.
MAGNITUDE_POINTS = ((7.0, 10.0), (6.0, 7.0), (5.0, 4.0), (4.0, 2.0))
BREAKING_MAGNITUDE = 7.0
# The score an event's topic gets: as sure as a strong rule match, since the publisher named the hazard.
EVENT_TOPIC_SCORE = 6.0
QUAKE_TYPES = frozenset({"earthquake"})


@functools.cache
def _event_rules():
    rows = json.loads(EVENTS_FILE.read_text(encoding="utf-8"))["events"]
    return tuple((re.compile(r"\b" + re.escape(phrase) + r"\b"), slug) for phrase, slug in rows)


def event_topics(official):
    """The topic slugs an item's official event files it under, in the mapping's order."""
    kind = official.get("kind") if isinstance(official, dict) else None
    event = official.get("event") if kind else None
    if not isinstance(event, str) or not event:
        return []
    if kind == "quake":
        return ["earthquakes"] if event.lower() in QUAKE_TYPES else []
    slugs = []
    for pattern, slug in _event_rules():
        if pattern.search(event.lower()) and slug not in slugs:
            slugs.append(slug)
    return slugs


def event_phrase(official):
    """How the inbox says why an item is filed under an event's topic: "event: Tornado Warning"."""
    return f"event: {official.get('event', '')}"[:200]


def held_reason(official, now):
    """Why an alert is recorded but not surfaced as a story (not put in a cluster), or "".

    A CAP message that cancels an earlier one, one that is not "Actual" (a test, an exercise, a draft),
    and one whose ``expires`` is already past when it is stored are held; everything else is surfaced.
    """
    if not isinstance(official, dict) or official.get("kind") != "cap":
        return ""
    if official.get("msg_type", "").lower() == "cancel":
        return "cancelled"
    status = official.get("status", "")
    if status and status.lower() != "actual":
        return f"status {status}"
    expires = parse_time(official.get("expires", ""))
    if expires is not None and expires <= now:
        return "expired"
    return ""


def alert_points(official):
    """Points an official alert adds to relevance, before the ``alert_weight`` setting: 0 for news."""
    if not isinstance(official, dict):
        return 0.0
    if official.get("kind") == "quake":
        magnitude = official.get("magnitude")
        if not isinstance(magnitude, int | float):
            return 0.0
        return next((points for floor, points in MAGNITUDE_POINTS if magnitude >= floor), 0.0)
    if official.get("kind") != "cap":
        return 0.0
    severity = SEVERITY_POINTS.get(str(official.get("severity", "")).lower(), 0.0)
    urgency = URGENCY_POINTS.get(str(official.get("urgency", "")).lower(), 0.0)
    certainty = CERTAINTY_FACTOR.get(str(official.get("certainty", "")).lower(), UNKNOWN_CERTAINTY)
    return (severity + urgency) * certainty


def cap_is_breaking(severity, urgency, certainty):
    """Extreme and Immediate, and not merely possible: the alert flags its story breaking."""
    return (
        severity.lower() == "extreme"
        and urgency.lower() == "immediate"
        and certainty.lower() in ("observed", "likely")
    )


def points_of(official):
    """The valid (lat, lon) points of an item, from ``official["points"]``."""
    points = official.get("points") if isinstance(official, dict) else None
    found = []
    for point in points or []:
        if isinstance(point, list | tuple) and len(point) == 2 and valid_point(point[0], point[1]):
            found.append((float(point[0]), float(point[1])))
    return found


def valid_point(lat, lon):
    """Finite numbers, latitude within ±90 and longitude within ±180 (not booleans, not NaN)."""
    for value in (lat, lon):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if value != value or value in (float("inf"), float("-inf")):
            return False
    return -90 <= lat <= 90 and -180 <= lon <= 180


def parse_time(value):
    """An aware datetime from ISO 8601 ("2024-05-16T17:03:00-05:00", "...Z"), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
