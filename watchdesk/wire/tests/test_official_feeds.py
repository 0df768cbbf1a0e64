"""Official alert feeds parsed from saved samples: CAP in Atom and bare, USGS GeoJSON, GeoRSS points."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watchdesk.wire import geojson, official
from watchdesk.wire.entries import FeedError
from watchdesk.wire.parsing import parse_feed

FEEDS = Path(__file__).parent / "feeds"


def parse(name, url=""):
    return parse_feed((FEEDS / name).read_bytes(), url=url)


def by_guid(parsed):
    return {
        entry.guid.rsplit(".", 3)[-3] if "urn:oid" in entry.guid else entry.guid: entry
        for entry in parsed.entries
    }


def test_nws_atom_alerts_keep_event_severity_area_and_geocodes():
    parsed = parse("nws_cap.atom.xml")

    assert parsed.format == "cap-atom"
    assert len(parsed.entries) == 8
    assert parsed.skipped == [("urn:oid:2.49.0.1.840.0.test.noevent.008.1", "a CAP entry without an event")]
    tornado = parsed.entries[0]
    assert tornado.title.startswith("Tornado Warning issued May 16")
    assert tornado.url == "https://alerts.example.gov/alerts/urn:oid:2.49.0.1.840.0.test.tornado.001.1"
    assert tornado.published_at == datetime(2025, 5, 16, 22, 3, tzinfo=UTC)
    assert tornado.official["event"] == "Tornado Warning"
    assert (tornado.official["severity"], tornado.official["urgency"], tornado.official["certainty"]) == (
        "Extreme",
        "Immediate",
        "Observed",
    )
    # The older NWS name FIPS6 reads as SAME; several codes in one value are split.
    assert tornado.official["geocodes"] == {"SAME": ["048121", "048439"], "UGC": ["TXC121", "TXC439"]}
    assert tornado.official["expires"] == "2025-05-16T17:45:00-05:00"
    assert tornado.official["breaking"] is True
    assert "severity Extreme" in tornado.text and "Denton, TX; Tarrant, TX" in tornado.text
    assert "confirmed tornado was located near Justin" in tornado.text

    exercise = parsed.entries[-1]
    assert exercise.official["status"] == "Exercise" and exercise.official["breaking"] is False
    cancel = next(entry for entry in parsed.entries if entry.official["msg_type"] == "Cancel")
    assert cancel.official["breaking"] is False


def test_a_bare_cap_alert_is_one_entry_linked_to_its_own_address():
    parsed = parse("cap_alert.xml", url="https://oem.example.org/alerts/0042.xml")

    assert parsed.format == "cap"
    assert parsed.title == "Example County Office of Emergency Management"
    [alert] = parsed.entries
    assert alert.guid == "EXAMPLE-OEM-2025-0516-0042"
    assert alert.url == "https://oem.example.org/alerts/0042.xml"  # not <web>, the agency's home page
    assert alert.title == "Civil Danger Warning for central Sacramento"
    assert alert.published_at == datetime(2025, 5, 17, 0, 20, tzinfo=UTC)
    assert alert.language == "en-us"
    assert alert.official["geocodes"] == {"SAME": ["006067"], "UGC": ["CAC067"]}
    assert "Stay indoors" in alert.text


def test_malformed_cap_is_skipped_with_reasons_or_read_as_plain_atom():
    no_id = b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><info><event>Fire</event></info></alert>'
    assert parse_feed(no_id).skipped == [("", "a CAP alert without an identifier")]
    unknown = b"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x1</identifier>
        <info><event>Flood Warning</event><severity>Catastrophic</severity></info></alert>"""
    [entry] = parse_feed(unknown, url="https://oem.example.org/x1.xml").entries
    assert entry.official["severity"] == "Unknown" and entry.official["urgency"] == "Unknown"

    with pytest.raises(FeedError, match="not a CAP alert: not well-formed"):
        parse_feed(b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</alert>')

    # An Atom feed cut off mid-entry keeps its finished entries, without their CAP fields, and says so.
    content = (FEEDS / "nws_cap.atom.xml").read_bytes()
    cut = content[: content.index(b"<cap:event>Red Flag Warning")]
    parsed = parse_feed(cut)
    assert parsed.format == "atom10"
    assert "CAP fields were not read" in parsed.problem
    assert [entry.title[:15] for entry in parsed.entries] == ["Tornado Warning"]
    assert parsed.entries[0].official == {}


def test_entities_in_a_cap_document_are_never_expanded():
    attack = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY boom "BOOM BOOM BOOM"><!ENTITY ext SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>a1</identifier><info>
<event>Tornado Warning &boom;</event><headline>&ext;</headline><web>https://x.example.org/a</web></info></alert>"""
    with pytest.raises(FeedError):
        parse_feed(attack)  # the declarations are cut out, and the undeclared entities are not XML


def test_usgs_geojson_gives_one_entry_per_quake_and_skips_bad_features_with_reasons():
    parsed = parse("usgs_quakes.geojson")

    assert parsed.format == "geojson"
    assert parsed.title == "Example Survey M2.5+ Earthquakes, Past Day"
    assert [entry.guid for entry in parsed.entries] == [
        "ex40000001",
        "ex70000002",
        "ex50000003",
        "ex20000004",
    ]
    ridgecrest = parsed.entries[0]
    assert ridgecrest.title == "M 4.6 - 12 km SSW of Ridgecrest, CA"
    assert ridgecrest.url == "https://quakes.example.gov/earthquakes/eventpage/ex40000001"
    assert ridgecrest.published_at == datetime(2025, 5, 16, 22, 0, tzinfo=UTC)
    assert ridgecrest.official == {
        "kind": "quake",
        "event": "earthquake",
        "magnitude": 4.6,
        "depth_km": 7.9,
        "points": [[35.524, -117.7012]],
        "breaking": False,
    }
    assert "Magnitude 4.6 earthquake, 12 km SSW of Ridgecrest, CA, at a depth of 7.9 km" in ridgecrest.text
    assert "Felt reports: 212" in ridgecrest.text
    assert parsed.entries[1].official["breaking"] is True  # M7.2
    assert "tsunami flag" in parsed.entries[1].text
    assert parsed.skipped == [
        ("exbad00005", 'no numeric magnitude (mag is "strong")'),
        ("exbad00006", "invalid coordinates: [nan, 95.0]"),
        ("exbad00007", "no Point geometry"),
        ("", "the feature is not a JSON object"),
    ]


@pytest.mark.parametrize(
    ("mag", "coordinates", "reason"),
    [
        (True, [1, 2], "no numeric magnitude (mag is True)"),
        (None, [1, 2], "no numeric magnitude (mag is None)"),
        (1e400, [1, 2], "no numeric magnitude (mag is inf)"),
        (3.0, [200, 10], "invalid coordinates: [200, 10]"),
        (3.0, ["1", 2], 'invalid coordinates: ["1", 2]'),
        (3.0, [1], "invalid coordinates: a Point needs [longitude, latitude]"),
    ],
)
def test_each_kind_of_bad_feature_is_skipped_with_its_reason(mag, coordinates, reason):
    feature = {
        "type": "Feature",
        "id": "bad1",
        "properties": {"mag": mag, "url": "https://q.example.org/bad1", "type": "earthquake"},
        "geometry": {"type": "Point", "coordinates": coordinates},
    }
    document = json.dumps({"type": "FeatureCollection", "features": [feature]}).replace("Infinity", "1e400")
    parsed = parse_feed(document.encode())
    assert parsed.entries == [] and parsed.skipped == [("bad1", reason)]


def test_a_huge_feature_collection_is_read_up_to_the_limit(monkeypatch):
    monkeypatch.setattr(geojson, "MAX_FEATURES", 3)
    features = [
        {
            "type": "Feature",
            "id": f"q{n}",
            "properties": {"mag": 3.0, "url": f"https://q.example.org/q{n}", "title": f"Quake {n}"},
            "geometry": {"type": "Point", "coordinates": [10.0, 10.0, 5.0]},
        }
        for n in range(10)
    ]
    parsed = parse_feed(json.dumps({"type": "FeatureCollection", "features": features}).encode())
    assert [entry.guid for entry in parsed.entries] == ["q0", "q1", "q2"]
    assert parsed.skipped == []
    assert parsed.not_read == 7
    assert parsed.problem == "10 entries in the feed: 7 past the first 3 were not read"
    # The per-fetch limit (WIRE_MAX_ENTRIES, or the source's own) applies when it is lower.
    parsed = parse_feed(
        json.dumps({"type": "FeatureCollection", "features": features}).encode(), max_entries=2
    )
    assert [entry.guid for entry in parsed.entries] == ["q0", "q1"] and parsed.not_read == 8

    with pytest.raises(FeedError, match="features is not a list"):
        parse_feed(b'{"type": "FeatureCollection", "features": {}}')


def test_georss_and_w3c_geo_points_are_read_and_invalid_ones_ignored():
    parsed = parse("georss.xml")

    assert parsed.format == "rss20"
    points = [entry.official.get("points") for entry in parsed.entries]
    assert points == [[[39.7596, -121.6219]], [[39.7817, -89.6501]], [[33.6609, -95.5555]], None]
    assert len(parsed.entries) == 4 and not parsed.skipped  # a bad point leaves the item to its text


def test_event_topics_alert_points_and_held_alerts():
    assert official.event_topics({"kind": "cap", "event": "Tornado Warning"}) == ["tornado-severe-weather"]
    assert official.event_topics({"kind": "cap", "event": "Red Flag Warning"}) == ["wildfire"]
    assert official.event_topics({"kind": "cap", "event": "Hurricane Warning"}) == ["hurricanes"]
    assert official.event_topics({"kind": "cap", "event": "Hazardous Materials Warning"}) == ["hazmat"]
    assert official.event_topics({"kind": "cap", "event": "Heat Advisory"}) == []
    assert official.event_topics({"kind": "quake", "event": "earthquake"}) == ["earthquakes"]
    assert official.event_topics({"kind": "quake", "event": "quarry blast"}) == []
    assert official.event_topics({}) == []

    extreme = {"kind": "cap", "severity": "Extreme", "urgency": "Immediate", "certainty": "Observed"}
    severe = {"kind": "cap", "severity": "Severe", "urgency": "Expected", "certainty": "Likely"}
    assert official.alert_points(extreme) == 10.0
    assert official.alert_points(severe) == pytest.approx(4.8)
    assert official.alert_points({"kind": "quake", "magnitude": 7.2}) == 10.0
    assert official.alert_points({"kind": "quake", "magnitude": 3.9}) == 0.0
    assert official.alert_points({}) == 0.0

    now = datetime(2025, 5, 16, 22, 10, tzinfo=UTC)
    assert official.held_reason({"kind": "cap", "msg_type": "Cancel"}, now) == "cancelled"
    assert official.held_reason({"kind": "cap", "status": "Test"}, now) == "status Test"
    assert official.held_reason({"kind": "cap", "expires": "2025-05-16T06:00:00-05:00"}, now) == "expired"
    assert official.held_reason({"kind": "cap", "expires": "2025-05-17T06:00:00-05:00"}, now) == ""
    assert official.held_reason({"kind": "quake"}, now) == ""
