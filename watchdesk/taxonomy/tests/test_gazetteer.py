"""Operators load places from the bundled gazetteer; re-running it adds only what is missing."""

import pytest
from django.db.models import Count

from watchdesk.taxonomy.gazetteer import load_gazetteer
from watchdesk.taxonomy.models import Region

SMALL = {"counties": False, "cities": True, "min_population": 5_000_000, "us_min_population": 3_000_000}


@pytest.mark.django_db
def test_loads_countries_the_51_us_states_and_the_largest_cities():
    summary = load_gazetteer(**SMALL)

    assert summary.created == Region.objects.count()
    assert summary.skipped == 0
    assert str(summary) == f"{summary.created} regions created, 0 already present"
    us = Region.objects.get(code="US")
    assert (us.name, us.kind, us.parent, us.path) == ("United States", "country", None, "US/")
    assert Region.objects.filter(kind=Region.Kind.COUNTRY, parent=None).count() > 240
    states = Region.objects.filter(kind=Region.Kind.STATE)
    assert states.count() == 51
    assert set(states.values_list("parent__code", flat=True)) == {"US"}
    assert all(path.startswith("US/US-") for path in states.values_list("path", flat=True))
    assert states.filter(code="US-DC", name="District of Columbia").exists()
    assert not Region.objects.filter(kind=Region.Kind.COUNTY).exists()


@pytest.mark.django_db
def test_us_cities_hang_from_their_state_and_others_from_their_country():
    load_gazetteer(**SMALL)

    los_angeles = Region.objects.get(code="city:5368361")
    assert los_angeles.name == "Los Angeles"
    assert los_angeles.parent.code == "US-CA"
    assert los_angeles.path == "US/US-CA/city:5368361/"
    assert los_angeles.label == "Los Angeles, California"
    assert los_angeles.slug == "los-angeles-ca"
    assert los_angeles.population > 3_000_000
    assert Region.objects.filter(name="New York City", parent__code="US-NY").exists()
    assert not Region.objects.filter(name="Chicago").exists()  # fewer people than the threshold

    tokyo = Region.objects.get(name="Tokyo")
    assert tokyo.parent.code == "JP"
    assert tokyo.path == f"JP/{tokyo.code}/"
    assert tokyo.slug == "tokyo-japan"
    assert (
        Region.objects.filter(kind=Region.Kind.CITY, population__lt=5_000_000)
        .exclude(path__startswith="US/")
        .count()
        == 0
    )


@pytest.mark.django_db
def test_loading_again_creates_nothing():
    first = load_gazetteer(**SMALL)
    before = set(Region.objects.values_list("code", "slug", "path", "parent_id"))

    second = load_gazetteer(**SMALL)

    assert second.created == 0
    assert second.skipped == first.created
    assert set(Region.objects.values_list("code", "slug", "path", "parent_id")) == before


@pytest.mark.django_db
def test_loading_with_a_lower_threshold_adds_only_the_new_places():
    first = load_gazetteer(**SMALL)

    second = load_gazetteer(**{**SMALL, "us_min_population": 2_000_000})

    assert second.skipped == first.created
    assert second.created == Region.objects.count() - first.created
    assert second.created >= 1
    chicago = Region.objects.get(name="Chicago")
    assert chicago.path == f"US/US-IL/{chicago.code}/"


@pytest.mark.django_db
def test_places_already_present_are_kept_and_used_as_parents(db):
    us = Region.objects.create(code="US", name="USA", kind=Region.Kind.COUNTRY, slug="usa")

    load_gazetteer(**SMALL)

    us.refresh_from_db()
    assert (us.name, us.slug) == ("USA", "usa")
    assert Region.objects.filter(code="US").count() == 1
    assert Region.objects.get(code="US-CA").parent == us


@pytest.mark.django_db
def test_slugs_are_unique_and_the_state_of_georgia_does_not_take_the_countrys(db):
    load_gazetteer(**SMALL)

    assert not Region.objects.values("slug").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert Region.objects.get(slug="georgia").code == "GE"
    state = Region.objects.get(code="US-GA")
    assert state.name == "Georgia"
    assert state.slug == "georgia-us-ga"


@pytest.mark.django_db
def test_a_slug_already_taken_by_an_editor_is_left_alone(db):
    mine = Region.objects.create(
        code="custom:1", name="California", kind=Region.Kind.STATE, slug="california"
    )

    load_gazetteer(**SMALL)

    mine.refresh_from_db()
    assert mine.slug == "california"
    assert Region.objects.get(code="US-CA").slug == "california-us-ca"


@pytest.mark.django_db
def test_counties_hang_from_their_state(db):
    load_gazetteer(counties=True, cities=False)

    county = Region.objects.get(code="county:06037")
    assert county.parent.code == "US-CA"
    assert county.path == "US/US-CA/county:06037/"
    assert county.label == "Los Angeles County, California"
    assert county.slug == "los-angeles-county-ca"
    assert Region.objects.filter(kind=Region.Kind.COUNTY).count() > 3000
    assert not Region.objects.filter(kind=Region.Kind.COUNTY).exclude(path__startswith="US/US-").exists()
