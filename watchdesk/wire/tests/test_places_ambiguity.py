"""Geotagging: names with several candidates, and names that are usually not places."""

import pytest

from watchdesk.wire.tests.gazetteer_records import city, code_of, gazetteer_tagger, id_of


@pytest.fixture(scope="module")
def tagger():
    return gazetteer_tagger()


def codes(tagger, title, text="", home=None):
    return [code_of(place.region_id) for place in tagger.find(title, text, home_region_id=home)]


SPRINGFIELD_IL, SPRINGFIELD_MO = city("Springfield", "US-IL"), city("Springfield", "US-MO")
PARIS_TX, PARIS_FR = city("Paris", "US-TX"), city("Paris", "FR")
WASHINGTON_DC = city("Washington", "US-DC")


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        # A qualifier settles the place and names its state or country too.
        ("Springfield, Illinois declares emergency", "", [SPRINGFIELD_IL, "US-IL"]),
        ("Flooding in Springfield, Mo., closes roads", "", [SPRINGFIELD_MO, "US-MO"]),
        (
            "Water main break",
            "Crews in Springfield, Mass. worked overnight.",
            [city("Springfield", "US-MA"), "US-MA"],
        ),
        ("Fire in Paris, Texas", "", [PARIS_TX, "US-TX"]),
        ("Riots in Paris, France", "", [PARIS_FR, "FR"]),
        ("Storm hits Portland, Ore.", "", [city("Portland", "US-OR"), "US-OR"]),
        ("Storm hits Portland, Maine", "", [city("Portland", "US-ME"), "US-ME"]),
        ("Protest in Atlanta, Georgia", "", [city("Atlanta", "US-GA"), "US-GA"]),
        ("Seattle, Washington schools close", "", [city("Seattle", "US-WA"), "US-WA"]),
        ("Lockdown in Washington, D.C.", "", [WASHINGTON_DC, "US-DC"]),
        ("Lockdown in Washington DC", "", [WASHINGTON_DC, "US-DC"]),
        ("Deputies shot in Harris County, Texas", "", ["county:48201", "US-TX"]),
        ("Flood in Victoria, Texas", "", [city("Victoria", "US-TX"), "US-TX"]),
        ("Ferry sinks off Victoria, British Columbia", "", [city("Victoria", "CA"), "CA"]),
        # Without a qualifier: the item's other places, then population, then the preferred reading.
        ("Riots in Paris", "", [PARIS_FR]),
        ("Storm hits Portland", "", [city("Portland", "US-OR")]),
        (
            "Council meets in Springfield",
            "Chicago officials attended.",
            [city("Chicago", "US-IL"), SPRINGFIELD_IL],
        ),
        ("Paris fair opens", "The fair draws visitors from across Texas.", [PARIS_TX, "US-TX"]),
        (
            "Climate talks in Paris",
            "Houston officials flew in for the talks.",
            [city("Houston", "US-TX"), PARIS_FR],
        ),
        ("Protest in Georgia", "Police in Tbilisi detained protesters.", [city("Tbilisi", "GE"), "GE"]),
        (
            "Protest in Georgia",
            "Police in Savannah detained protesters.",
            [city("Savannah", "US-GA"), "US-GA"],
        ),
        ("Governor of Georgia signs storm bill", "", ["US-GA"]),
        ("Congress in Washington passes bill", "", [WASHINGTON_DC]),
        (
            "Evacuations",
            "Fires near Spokane forced evacuations across Washington.",
            [city("Spokane", "US-WA"), "US-WA"],
        ),
        ("Evacuations", "Fires forced evacuations across Washington state.", ["US-WA"]),
    ],
)
def test_the_context_picks_the_candidate(tagger, title, text, expected):
    assert codes(tagger, title, text) == expected


def test_the_home_region_breaks_a_tie_without_being_added(tagger):
    assert codes(tagger, "Council meets in Springfield", home=id_of("US-IL")) == [SPRINGFIELD_IL]
    assert codes(tagger, "Council meets in Springfield", home=id_of("US-MA")) == [
        city("Springfield", "US-MA")
    ]


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Chad Smith said the fire was contained", ""),
        ("Michael Jordan visits the fire station", ""),
        ("Jordan said he would run again", ""),
        ("What a nice day for the parade", ""),
        ("Nice weather expected for the weekend", ""),
        ("Reading the report, officials were alarmed", ""),
        ("Mobile phone networks fail during storm", ""),
        ("Queen Victoria statue vandalised", ""),
        ("Victoria Beckham visits hospital", ""),
        ("Florence Pugh thanks firefighters", ""),
        ("Tyler Perry donates to flood victims", ""),
        ("President Lincoln memorial vandalized", ""),
        ("Hurricane Helene strengthens", "Hurricane season has been busy, forecasters said."),
        ("George Washington Bridge reopens", "George Washington would have approved, the governor joked."),
        ("Toyota recalls vehicles", "Corona beer sales rose."),
    ],
)
def test_a_name_that_is_usually_not_a_place_is_left_out(tagger, title, text):
    assert codes(tagger, title, text) == []


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        (
            "Rebels advance",
            "N'Djamena, Chad — rebels reached the outskirts.",
            [city("N'Djamena", "TD"), "TD"],
        ),
        ("Rebels advance in Chad's capital", "", ["TD"]),
        ("Talks in Amman, Jordan", "", [city("Amman", "JO"), "JO"]),
        ("Jordanian officials speak", "Jordan has long hosted refugees.", ["JO"]),
        ("King of Jordan meets governors", "", ["JO"]),
        ("Attack in Nice", "French police said the suspect was arrested.", [city("Nice", "FR")]),
        (
            "Police respond",
            "Nice, France — police said the suspect was arrested.",
            [city("Nice", "FR"), "FR"],
        ),
        ("Crash in Reading, Pennsylvania", "", [city("Reading", "US-PA"), "US-PA"]),
        (
            "Train crash",
            "The train derailed in Reading, officials in Pennsylvania said.",
            [city("Reading", "US-PA"), "US-PA"],
        ),
        ("Tornado near Mobile, Alabama", "", [city("Mobile", "US-AL"), "US-AL"]),
        (
            "Tornado damage",
            "Homes were damaged in Mobile. Alabama officials toured the area.",
            [city("Mobile", "US-AL"), "US-AL"],
        ),
        ("Flooding hits Victoria", "Canadian forces were deployed.", [city("Victoria", "CA")]),
        ("Flooding hits Victoria", "Rivers rose across Texas.", [city("Victoria", "US-TX"), "US-TX"]),
        ("Typhoon signal raised", "Offices in Victoria closed early.", [city("Victoria", "HK")]),
        ("Flooding in Florence, Alabama", "", [city("Florence", "US-AL"), "US-AL"]),
        ("Crash on I-35 in Tyler", "", [city("Tyler", "US-TX")]),
        ("Water crisis in Jackson, Mississippi", "", [city("Jackson", "US-MS"), "US-MS"]),
        ("Missing hiker found in Sandy, Utah", "", [city("Sandy", "US-UT"), "US-UT"]),
    ],
)
def test_a_name_that_is_usually_not_a_place_needs_support(tagger, title, text, expected):
    assert codes(tagger, title, text) == expected


def test_a_common_word_opening_a_sentence_stays_a_word_even_with_its_state_named(tagger):
    assert codes(tagger, "Reading the report, Pennsylvania officials were alarmed") == ["US-PA"]
    assert codes(tagger, "Mobile phones failed", "Alabama officials blamed the storm.") == ["US-AL"]


def test_a_persons_name_next_to_a_capitalised_word_is_a_person(tagger):
    assert codes(tagger, "Tribute", "Whitney Houston songs were played in Dallas.") == [
        city("Dallas", "US-TX")
    ]
    assert codes(tagger, "Tribute", "Crews from Houston Fire Department helped.") == [
        city("Houston", "US-TX")
    ]
