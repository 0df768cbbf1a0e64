"""Official alert feeds ingested: placed by geocodes and coordinates, filed by event, scored, held."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from watchdesk.taxonomy.gazetteer import load_gazetteer
from watchdesk.taxonomy.topics_loader import load_default_topics
from watchdesk.wire import coordinates
from watchdesk.wire.ingest import ingest_feed
from watchdesk.wire.models import Item, SkippedEntry

FEEDS = Path(__file__).parent / "feeds"
NOW = datetime(2025, 5, 16, 22, 10, tzinfo=UTC)


@pytest.fixture
def gazetteer(db):
    load_gazetteer(min_population=1_000_000, us_min_population=20_000)
    load_default_topics()


def ingest(source, name):
    return ingest_feed(source(), (FEEDS / name).read_bytes(), now=NOW)


def places(item):
    return [(link.region.code, link.origin) for link in item.place_links.select_related("region")]


def topics(item):
    return {link.topic.slug: link.phrases for link in item.topic_links.select_related("topic")}


def test_geocodes_name_counties_and_states():
    found = coordinates.geocode_places(
        {"SAME": ["006007", "028000", "099999"], "UGC": ["CAC103", "CAZ215", "PZZ455", "TXZ100"]}
    )
    assert [(place.code, place.mention) for place in found] == [
        ("county:06007", "SAME 006007"),
        ("county:06103", "UGC CAC103"),
        ("US-MS", "SAME 028000"),
        ("US-CA", "UGC CAZ215"),
        ("US-TX", "UGC TXZ100"),
    ]
    # California's zone sits beside its own counties: kept, below them; Texas has only its zone.
    confidence = {place.code: place.confidence for place in found}
    assert confidence["county:06007"] > confidence["US-TX"] > confidence["US-CA"]


def test_county_names_of_both_data_sets_meet():
    assert coordinates.county_key("Saint Clair County") == coordinates.county_key("St. Clair County")
    assert coordinates.county_key("City of Alexandria") == coordinates.county_key("Alexandria city")
    assert coordinates.county_key("De Soto County") == coordinates.county_key("DeSoto County")
    assert coordinates.county_key("Doña Ana County") == coordinates.county_key("Dona Ana County")


def test_cap_alerts_are_placed_by_geocodes_filed_by_event_and_scored(gazetteer, source):
    summary = ingest(source, "nws_cap.atom.xml")

    assert (summary.created, summary.skipped) == (8, 1)
    assert SkippedEntry.objects.get().reason == "a CAP entry without an event"
    tornado = Item.objects.get(guid__contains="tornado")
    assert places(tornado) == [("county:48121", "geocode"), ("county:48439", "geocode")]
    assert topics(tornado)["tornado-severe-weather"][0] == "event: Tornado Warning"
    assert tornado.score_parts["alert"] == 10.0
    assert tornado.cluster.breaking  # Extreme, Immediate, Observed

    red_flag = Item.objects.get(guid__contains="redflag")
    # Its areaDesc ("Northern Sacramento Valley") is not guessed at: the codes say Butte and Tehama.
    assert [code for code, _ in places(red_flag)] == ["county:06007", "county:06103", "US-CA"]
    assert "wildfire" in topics(red_flag)
    assert not red_flag.cluster.breaking
    assert red_flag.score_parts["alert"] < tornado.score_parts["alert"]

    assert places(Item.objects.get(guid__contains="statewide")) == [("US-MS", "geocode")]
    assert "hazmat" in topics(Item.objects.get(guid__contains="hazmat"))
    # Recorded, filed and placed, but not a story: expired at ingest, cancelled, an exercise.
    for held in ("advisory", "cancel", "exercise"):
        item = Item.objects.get(guid__contains=held)
        assert item.cluster_id is None and item.place_links.exists(), held


def test_quakes_are_placed_by_their_coordinates(gazetteer, source):
    summary = ingest(source, "usgs_quakes.geojson")

    assert (summary.created, summary.skipped) == (4, 4)
    ridgecrest = Item.objects.get(guid="ex40000001")
    # Ridgecrest itself is 12 km away (within CITY_KM), then Kern County, California, the US.
    assert places(ridgecrest)[:4] == [
        ("city:5387494", "point"),
        ("county:06029", "point"),
        ("US-CA", "point"),
        ("US", "point"),
    ]
    assert "km from" in ridgecrest.place_links.first().mention
    assert "earthquakes" in topics(ridgecrest)
    japan = Item.objects.get(guid="ex70000002")  # 96 km offshore: the country, less sure
    assert places(japan)[0] == ("JP", "point")
    assert japan.place_links.get(region__code="JP").confidence == coordinates.FAR_CONFIDENCE["country"]
    assert japan.cluster.breaking  # M7.2
    ridge = Item.objects.get(guid="ex50000003")  # mid-Atlantic: no point place
    assert not ridge.place_links.filter(origin="point").exists()
    assert "earthquakes" not in topics(Item.objects.get(guid="ex20000004"))  # a quarry blast

    again = ingest_feed(ridgecrest.source, (FEEDS / "usgs_quakes.geojson").read_bytes(), now=NOW)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)


def test_a_georss_point_places_the_item_before_its_text(gazetteer, source):
    ingest(source, "georss.xml")

    paris = Item.objects.get(title__startswith="Hazmat team")
    found = places(paris)
    assert found[:2] == [("city:4717560", "point"), ("county:48277", "point")]  # Paris, Lamar County, Texas
    assert ("US-TX", "point") in found
    springfield = Item.objects.get(title__startswith="Structure fire")
    assert ("county:17167", "point") in places(springfield)  # Sangamon County, Illinois
    first = springfield.place_links.first()
    text_places = springfield.place_links.exclude(origin="point")
    assert all(link.confidence < first.confidence for link in text_places)
    # A bad point is ignored: the item is placed by its text.
    rescue = Item.objects.get(title__startswith="Water rescue")
    assert ("county:06007", "text") in places(rescue) or ("county:06007", "title") in places(rescue)


def test_coordinate_places_show_in_the_inbox(gazetteer, source, client, editor):
    ingest(source, "usgs_quakes.geojson")
    ridgecrest = Item.objects.get(guid="ex40000001")
    client.force_login(editor)

    page = client.get(f"/admin/inbox/{ridgecrest.cluster_id}/").content.decode()
    assert "Kern County, California" in page
    assert "from the item&#x27;s coordinates" in page or "from the item's coordinates" in page
    assert "alert" in page
