"""Geotagging: how sure it is, what it reports, the home-region fallback and bad input."""

import pytest

from watchdesk.wire.places import MAX_PLACES, Geotagger, PlaceMatch
from watchdesk.wire.tests.gazetteer_records import city, code_of, gazetteer_tagger, id_of


@pytest.fixture(scope="module")
def tagger():
    return gazetteer_tagger()


def by_code(tagger, title, text="", home=None):
    return {code_of(place.region_id): place for place in tagger.find(title, text, home_region_id=home)}


HOUSTON, SPRINGFIELD_IL = city("Houston", "US-TX"), city("Springfield", "US-IL")


def test_a_place_in_the_title_counts_more_than_one_in_the_text(tagger):
    in_title = by_code(tagger, "Chemical fire in Houston", "Crews worked overnight.")[HOUSTON]
    in_text = by_code(tagger, "Chemical fire", "Crews worked overnight at a plant in Houston.")[HOUSTON]
    assert (in_title.origin, in_text.origin) == ("title", "text")
    assert in_title.confidence > in_text.confidence


def test_an_explicit_state_counts_more_than_a_bare_name(tagger):
    explicit = by_code(tagger, "Update", "A tanker leaked near Springfield, Illinois, on Tuesday.")
    bare = by_code(tagger, "Update", "A tanker leaked near Springfield on Tuesday.")
    assert explicit[SPRINGFIELD_IL].confidence > max(place.confidence for place in bare.values())


def test_an_unambiguous_name_counts_more_than_a_close_call(tagger):
    found = by_code(tagger, "Update", "Crews from Houston and Springfield were sent.")
    springfield = next(place for code, place in found.items() if code != HOUSTON)
    assert found[HOUSTON].confidence > springfield.confidence


def test_a_containing_place_is_kept_but_below_the_place_inside_it(tagger):
    found = by_code(tagger, "Springfield, Ill. plant fire", "Illinois officials said the fire was out.")
    assert found[SPRINGFIELD_IL].confidence > found["US-IL"].confidence
    found = by_code(tagger, "Storm floods Texas", "Houston streets were under water.")
    assert found[HOUSTON].confidence > found["US-TX"].confidence


def test_each_place_reports_the_words_that_named_it(tagger):
    found = tagger.find("Flooding in Springfield, Mo.", "Rain fell across the Ozarks.")
    assert [(code_of(place.region_id), place.mention, place.origin) for place in found] == [
        (city("Springfield", "US-MO"), "Springfield, Mo.", "title"),
        ("US-MO", "Mo.", "title"),
    ]
    assert all(0 < place.confidence <= 1 for place in found)


def test_a_place_named_in_title_and_text_is_reported_once_from_the_title(tagger):
    found = tagger.find("Fire in Houston", "Houston firefighters said the Houston blaze was out.")
    assert len(found) == 1
    assert (code_of(found[0].region_id), found[0].origin) == (HOUSTON, "title")


def test_at_most_max_places_best_first(tagger):
    states = "Ohio, Iowa, Utah, Idaho, Oregon, Nevada, Kansas, Alabama, Arizona, Vermont and Montana"
    found = tagger.find("Storms across Texas", f"Warnings were issued in {states}.")
    assert len(found) == MAX_PLACES
    assert code_of(found[0].region_id) == "US-TX"  # the title's place leads
    assert [place.confidence for place in found] == sorted(
        (place.confidence for place in found), reverse=True
    )


def test_the_home_region_is_only_a_fallback(tagger):
    texas = id_of("US-TX")
    assert tagger.find("Council approves budget", "The vote was 5-2.", home_region_id=texas) == [
        PlaceMatch(region_id=texas, confidence=0.2, mention="", origin="home")
    ]
    found = tagger.find("Wildfire near Sacramento", "Crews held the line.", home_region_id=texas)
    assert [code_of(place.region_id) for place in found] == [city("Sacramento", "US-CA")]
    assert tagger.find("Council approves budget", "The vote was 5-2.") == []


def test_missing_text_is_no_text(tagger):
    assert tagger.find("", "") == []
    assert tagger.find(None, None) == []
    assert [code_of(place.region_id) for place in tagger.find("Fire in Houston", None)] == [HOUSTON]


def test_text_that_is_not_a_string_is_refused(tagger):
    with pytest.raises(TypeError, match="title and text must be strings"):
        tagger.find(b"Fire in Houston")


def test_a_record_missing_a_field_is_refused_with_the_record():
    with pytest.raises(ValueError, match="needs id, name, kind, code, path and population.*Atlantis"):
        Geotagger([{"id": 1, "name": "Atlantis", "kind": "city"}])


def test_a_small_tagger_from_plain_records():
    tagger = Geotagger(
        [
            {
                "id": 10,
                "name": "United States",
                "kind": "country",
                "code": "US",
                "path": "US/",
                "population": None,
            },
            {
                "id": 11,
                "name": "Texas",
                "kind": "state",
                "code": "US-TX",
                "path": "US/US-TX/",
                "population": None,
            },
            {
                "id": 12,
                "name": "Paris",
                "kind": "city",
                "code": "city:4717560",
                "path": "US/US-TX/city:4717560/",
                "population": 24782,
            },
        ]
    )
    assert len(tagger) == 3
    assert [(place.region_id, place.mention) for place in tagger.find("Fire in Paris, Texas")] == [
        (12, "Paris, Texas"),
        (11, "Texas"),
    ]
