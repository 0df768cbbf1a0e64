"""Geotagging with context: lists of counties, names inside other names, the outlet's home, abroad."""

import pytest

from watchdesk.wire.tests.gazetteer_records import city, code_of, gazetteer_tagger, id_of


@pytest.fixture(scope="module")
def tagger():
    return gazetteer_tagger()


def codes(tagger, title, text="", home=None):
    home_id = id_of(home) if home else None
    return {code_of(place.region_id) for place in tagger.find(title, text, home_region_id=home_id)}


def test_a_list_before_counties_names_each_county(tagger):
    found = codes(
        tagger,
        "Cal Fire moves 12 engines into northern California",
        "Engines go to Butte and Shasta counties.",
    )
    assert found == {"county:06007", "county:06089", "US-CA"}  # not Butte, Montana
    found = codes(
        tagger, "911 outage", "Callers in Deschutes, Crook and Jefferson counties could not reach 911."
    )
    assert {"county:41017", "county:41013", "county:41031"} <= found
    assert codes(tagger, "911 outage in three Oregon counties") == {"US-OR"}  # no Oregon County, Missouri


def test_a_spanish_condado_is_a_county(tagger):
    assert "county:06089" in codes(tagger, "Incendio", "El incendio, en el condado de Shasta, crece.")


def test_a_public_body_places_its_own_jurisdiction(tagger):
    assert codes(tagger, "Butte County Sheriff orders evacuations", "Near Oroville.") >= {"county:06007"}
    assert codes(tagger, "Georgia Bureau of Investigation joins the case") == {"US-GA"}


@pytest.mark.parametrize(
    "title, text, not_expected",
    [
        (
            "Water main breaks",
            "The break at Joseph E. Boone Boulevard and Atlanta Highway.",
            city("Boone", "US-NC"),
        ),
        ("Derailment", "Twenty cars of a Norfolk Southern train left the tracks.", city("Norfolk", "US-VA")),
        ("Brush fire", "Cal Fire’s Butte Unit said the fire was in grass.", city("Butte", "US-MT")),
        ("Barge strikes pier", "A barge hit the bridge over the Columbia River.", city("Columbia", "US-SC")),
    ],
)
def test_a_name_inside_a_street_river_or_company_places_nothing(tagger, title, text, not_expected):
    assert not_expected not in codes(tagger, title, text)


def test_a_town_the_gazetteer_lacks_is_not_its_namesake_elsewhere(tagger):
    found = codes(
        tagger, "Detroit, Oregon, told to be ready", "Residents of Detroit, a lake town, may leave."
    )
    assert found == {"US-OR"}


def test_a_local_outlet_means_its_own_state(tagger):
    assert codes(tagger, "Three children die in Paris house fire", "", home="US-TX") == {
        city("Paris", "US-TX")
    }
    assert codes(tagger, "Portland synagogue vandalized", "", home="US-ME") == {city("Portland", "US-ME")}
    assert codes(tagger, "Victoria ISD cancels classes", "", home="US-TX") == {city("Victoria", "US-TX")}
    # Without a home region the bigger namesake stays the reading.
    assert codes(tagger, "Three children die in Paris house fire") == {city("Paris", "FR")}


def test_melbourne_and_australian_make_victoria_the_australian_state(tagger):
    found = codes(
        tagger, "Shooting at mall", "A man fired in suburban Melbourne, in the Australian state of Victoria."
    )
    assert found == {city("Melbourne", "AU"), "AU"}


def test_georgia_beside_other_countries_is_the_country_and_beside_us_places_the_state(tagger):
    assert codes(
        tagger, "Georgia asks Turkey for help", "Georgia has asked neighbouring Turkey for aircraft."
    ) == {
        "GE",
        "TR",
    }
    assert codes(tagger, "Ransomware", "The 911 centre outside Atlanta, Georgia went down.") == {
        city("Atlanta", "US-GA"),
        "US-GA",
    }


def test_regional_words_and_state_mean_the_state(tagger):
    assert codes(tagger, "Border", "Agents cover Vermont and northern New York.") == {"US-VT", "US-NY"}
    assert "city:3522507" not in codes(tagger, "Quake", "It struck near the coast of Oaxaca state.")


def test_a_name_listed_with_places_of_its_state_is_a_place(tagger):
    found = codes(tagger, "Derecho", "Residents of Cedar Rapids and Marion cut their way out.")
    assert city("Marion", "US-IA") in found
