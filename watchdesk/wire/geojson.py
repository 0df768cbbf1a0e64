"""USGS-style GeoJSON earthquake feeds: a FeatureCollection whose features carry ``properties`` (mag,
place, time in ms, url, title, type) and a Point geometry [longitude, latitude, depth in km].

One item per feature, its GUID the feature's id. A feature is skipped, with the reason recorded, when it
is not an object, has no id, no numeric finite magnitude, no valid Point (finite, latitude within ±90,
longitude within ±180) or no link. At most ``MAX_FEATURES`` features of a document are read; the rest
are counted in one skipped entry and noted as the feed's problem.
"""

import math
from datetime import UTC, datetime
from html import escape

from watchdesk.core.sanitize import storable
from watchdesk.wire import official
from watchdesk.wire.canonical import canonical_url
from watchdesk.wire.entries import MAX_TITLE, Entry, FeedError, ParsedFeed, make_entry, plain_text

MAX_FEATURES = 2000  # USGS's busiest feed (all quakes, past 30 days) holds about 10,000; the hour's, tens
MAX_DEPTH_KM = 1000.0  # deeper than any earthquake: a depth beyond it is not believed, and left out


def is_feature_collection(document):
    return isinstance(document, dict) and document.get("type") == "FeatureCollection"


def parse_feature_collection(document, *, url="", max_entries=None):
    features = document.get("features")
    if not isinstance(features, list):
        raise FeedError("not a GeoJSON feed: features is not a list")
    metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    parsed = ParsedFeed(
        title=plain_text(storable(_string(metadata.get("title"))), MAX_TITLE),
        link=canonical_url(url),
        format="geojson",
    )
    limit = MAX_FEATURES if max_entries is None else min(max_entries, MAX_FEATURES)
    for feature in features[:limit]:
        entry_or_reason = _feature_entry(feature)
        if isinstance(entry_or_reason, Entry):
            parsed.entries.append(entry_or_reason)
        else:
            parsed.skipped.append(entry_or_reason)
    # Features past the limit are counted like a feed's entries past it: not read, noted in its health.
    parsed.limit_entries(limit, max(len(features) - limit, 0))
    return parsed


def _feature_entry(feature):
    """An ``Entry`` for one feature, or (id, reason)."""
    if not isinstance(feature, dict):
        return ("", "the feature is not a JSON object")
    feature_id = feature.get("id")
    if isinstance(feature_id, bool) or not isinstance(feature_id, str | int) or not str(feature_id).strip():
        return ("", "a feature without an id")
    feature_id = storable(str(feature_id)).strip()
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        return (feature_id, "a feature without properties")
    magnitude = _finite(properties.get("mag"))
    if magnitude is None:
        return (feature_id, f"no numeric magnitude (mag is {_shown(properties.get('mag'))})")
    point = _point(feature.get("geometry"))
    if isinstance(point, str):
        return (feature_id, point)
    lat, lon, depth = point
    event = _string(properties.get("type")).strip()[:100] or "earthquake"
    place = storable(_string(properties.get("place"))).strip()[:500]
    moment = _time(properties.get("time"))
    title = storable(_string(properties.get("title"))).strip() or (
        f"M {magnitude:.1f} - {place}" if place else f"M {magnitude:.1f} {event}"
    )
    return make_entry(
        entry_id=feature_id,
        link=_string(properties.get("url")),
        title=title,
        summary_html=_summary(magnitude, event, place, depth, moment, properties),
        published_at=moment,
        language="en",
        official={
            "kind": "quake",
            "event": event,
            "magnitude": magnitude,
            "depth_km": depth,
            "points": [[lat, lon]],
            "breaking": magnitude >= official.BREAKING_MAGNITUDE and event.lower() in official.QUAKE_TYPES,
        },
    )


def _point(geometry):
    """(lat, lon, depth or None) of a Point geometry, or the reason it cannot be read."""
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        return "no Point geometry"
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        return "invalid coordinates: a Point needs [longitude, latitude]"
    lon, lat = _finite(coordinates[0]), _finite(coordinates[1])
    if lon is None or lat is None or not official.valid_point(lat, lon):
        shown = ", ".join(_shown(value) for value in coordinates[:2])
        return f"invalid coordinates: [{shown}]"
    depth = _finite(coordinates[2]) if len(coordinates) > 2 else None
    if depth is not None and abs(depth) > MAX_DEPTH_KM:
        depth = None
    return (lat, lon, depth)


def _summary(magnitude, event, place, depth, moment, properties):
    sentence = f"Magnitude {magnitude:.1f} {event}"
    if place:
        sentence += f", {place}"
    if depth is not None:
        sentence += f", at a depth of {depth:.1f} km"
    if moment is not None:
        sentence += f", {moment:%Y-%m-%d %H:%M} UTC"
    facts = [sentence + "."]
    alert = _string(properties.get("alert")).strip()
    if alert:
        facts.append(f"PAGER alert level: {alert}.")
    if properties.get("tsunami") in (1, True):
        facts.append("The tsunami flag is set: check the tsunami warning centres.")
    felt = _finite(properties.get("felt"))
    if felt:
        facts.append(f"Felt reports: {int(felt)}.")
    return "<p>" + escape(storable(" ".join(facts))) + "</p>"


def _time(value):
    milliseconds = _finite(value)
    if milliseconds is None:
        return None
    try:
        return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _finite(value):
    """A finite float from a JSON number (not a boolean, not NaN or infinite, not a string), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _shown(value):
    return repr(value)[:40] if not isinstance(value, str) else f'"{storable(value)[:40]}"'


def _string(value):
    return value if isinstance(value, str) else ""
