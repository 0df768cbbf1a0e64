"""Geotagging: which words name a place — gazetteer names and their variants, word boundaries, case."""

import pytest

from watchdesk.wire.tests.gazetteer_records import city, code_of, gazetteer_tagger


@pytest.fixture(scope="module")
def tagger():
    return gazetteer_tagger()


def codes(tagger, title, text=""):
    return [code_of(place.region_id) for place in tagger.find(title, text)]


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("Wildfire forces evacuations near Sacramento", "", city("Sacramento", "US-CA")),
        ("Tornado watch issued", "The watch covers most of Oklahoma tonight.", "US-OK"),
        ("Floods displace thousands", "Monsoon rains swamped villages across Bangladesh.", "BD"),
        ("Chemical plant fire in Los Angeles County", "", "county:06037"),
        ("Levee breach", "Crews worked through the night in Orleans Parish.", "county:22071"),
        ("Hurricane warning for Miami-Dade County", "", "county:12086"),
        ("Bridge collapse in Fort Worth", "", city("Fort Worth", "US-TX")),
        ("Bridge collapse in Ft. Worth", "", city("Fort Worth", "US-TX")),
        ("Blast in St. Louis", "", city("St. Louis", "US-MO")),
        ("Blast in Saint Louis", "", city("St. Louis", "US-MO")),
        ("Blast in St Louis", "", city("St. Louis", "US-MO")),
        ("Flooding in São Paulo", "", city("São Paulo", "BR")),
        ("Flooding in Sao Paulo", "", city("São Paulo", "BR")),
        ("Rebels near N’Djamena", "", city("N'Djamena", "TD")),
        ("Sanctions announced", "U.S. officials said the measures take effect Monday.", "US"),
        ("EXPLOSION AT USA PLANT", "", "US"),
        ("Sanctions announced", "The United States said the measures take effect Monday.", "US"),
        ("Storm batters coast", "The UK Met Office issued a red warning.", "GB"),
        ("Storm batters coast", "Rail lines across Britain were closed.", "GB"),
        ("Ferry sinks", "The ferry left Victoria, B.C., on Tuesday.", city("Victoria", "CA")),
    ],
)
def test_a_named_place_is_found(tagger, title, text, expected):
    assert expected in codes(tagger, title, text)


def test_the_longest_name_wins(tagger):
    found = codes(tagger, "Wildfire in Los Angeles County spreads")
    assert found == ["county:06037"]  # not the city of Los Angeles as well
    assert codes(tagger, "Subway flooded in New York City") == [city("New York City", "US-NY")]
    assert codes(tagger, "Parade shooting in Kansas City, Mo.")[0] == city("Kansas City", "US-MO")


@pytest.mark.parametrize(
    "sentence",
    [
        "A Parisian cafe reopened after the attack.",
        "The operation went nicely, officials said.",
        "Texans braced for the storm.",
        "Chicagoland commuters faced delays.",
        "A New Yorker profile of the fire chief.",
        "Officials were reading the report when the alarm sounded.",
        "The mobile command post arrived at noon.",
        "Investigators said the jordan almond recall was voluntary.",
    ],
)
def test_places_are_whole_words_with_their_capital(tagger, sentence):
    assert codes(tagger, "Update", sentence) == []


def test_possessives_and_hyphens_still_name_the_place(tagger):
    assert codes(tagger, "Houston's mayor declares disaster") == [city("Houston", "US-TX")]
    assert codes(tagger, "Denver-area schools close") == [city("Denver", "US-CO")]


def test_shouted_headlines_are_read_in_title_case(tagger):
    assert codes(tagger, "FIRE IN ST. LOUIS KILLS THREE") == [city("St. Louis", "US-MO")]
    assert codes(tagger, "SHOOTING IN AUSTIN, TX LEAVES 2 DEAD") == [city("Austin", "US-TX"), "US-TX"]
    assert codes(tagger, "READING THE SIGNS: WHAT TO KNOW") == []


def test_a_wire_dateline_is_read_in_title_case(tagger):
    found = codes(tagger, "Chemical leak forces evacuations", "SPRINGFIELD, Ill. (AP) — A tanker leaked.")
    assert found == [city("Springfield", "US-IL"), "US-IL"]
    assert codes(tagger, "Storm", "HOUSTON (AP) — Streets flooded.") == [city("Houston", "US-TX")]


def test_state_abbreviations_count_only_after_a_place(tagger):
    assert codes(tagger, "Officials in Lincoln, Neb., said") == [city("Lincoln", "US-NE"), "US-NE"]
    assert codes(tagger, "Austin, TX police respond") == [city("Austin", "US-TX"), "US-TX"]
    assert codes(tagger, "Update", "He felt ill. Calif. and CA were not mentioned as places.") == []
