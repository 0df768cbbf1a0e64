"""Places form a tree (country > state > county or city) kept in a path, so "everything in California"
is one prefix match that stays right when places are renamed or moved."""

import pytest
from django.core.exceptions import ValidationError

from watchdesk.taxonomy.models import Region


def paths():
    return dict(Region.objects.values_list("code", "path"))


@pytest.mark.django_db
def test_saving_a_region_sets_its_path_from_its_parents(regions):
    assert paths() == {
        "US": "US/",
        "US-CA": "US/US-CA/",
        "US-TX": "US/US-TX/",
        "county:06037": "US/US-CA/county:06037/",
        "city:5368361": "US/US-CA/city:5368361/",
        "city:4699066": "US/US-TX/city:4699066/",
        "ML": "ML/",
    }


@pytest.mark.django_db
def test_moving_a_region_moves_everything_inside_it(regions):
    texas = Region.objects.get(code="US-TX")
    texas.parent = Region.objects.get(code="ML")
    texas.save()

    assert paths()["US-TX"] == "ML/US-TX/"
    assert paths()["city:4699066"] == "ML/US-TX/city:4699066/"
    assert paths()["US-CA"] == "US/US-CA/"
    assert paths()["city:5368361"] == "US/US-CA/city:5368361/"


@pytest.mark.django_db
def test_moving_a_city_under_its_county_rewrites_only_that_city(regions):
    city = Region.objects.get(code="city:5368361")
    city.parent = Region.objects.get(code="county:06037")
    city.save()

    assert paths()["city:5368361"] == "US/US-CA/county:06037/city:5368361/"
    assert paths()["county:06037"] == "US/US-CA/county:06037/"
    assert Region.objects.get(code="city:5368361").label == "Los Angeles, Los Angeles County"


@pytest.mark.django_db
def test_changing_a_code_rewrites_the_paths_below_it(regions):
    state = Region.objects.get(code="US-CA")
    state.code = "US-CALIF"
    state.save()

    assert paths()["US-CALIF"] == "US/US-CALIF/"
    assert paths()["county:06037"] == "US/US-CALIF/county:06037/"
    assert paths()["city:5368361"] == "US/US-CALIF/city:5368361/"
    assert paths()["city:4699066"] == "US/US-TX/city:4699066/"


@pytest.mark.django_db
def test_moving_a_country_under_another_keeps_a_region_whose_code_starts_the_same(regions):
    """ "US/" must not also match a sibling whose code merely begins with "US" (a prefix of codes, not
    of characters)."""
    usa_like = Region.objects.create(code="USX", name="Elsewhere", kind=Region.Kind.COUNTRY, slug="elsewhere")
    us = Region.objects.get(code="US")
    us.parent = Region.objects.get(code="ML")
    us.save()

    usa_like.refresh_from_db()
    assert usa_like.path == "USX/"
    assert paths()["city:4699066"] == "ML/US/US-TX/city:4699066/"


@pytest.mark.django_db
def test_within_is_the_region_and_every_place_inside_it(regions):
    def within(key):
        return set(Region.objects.within(regions[key]).values_list("code", flat=True))

    assert within("california") == {"US-CA", "county:06037", "city:5368361"}
    assert within("us") == {"US", "US-CA", "US-TX", "county:06037", "city:5368361", "city:4699066"}
    assert within("houston") == {"city:4699066"}
    assert within("mali") == {"ML"}


@pytest.mark.django_db
def test_within_follows_a_move(regions):
    texas = Region.objects.get(code="US-TX")
    texas.parent = Region.objects.get(code="ML")
    texas.save()

    mali = Region.objects.get(code="ML")
    us = Region.objects.get(code="US")
    assert set(Region.objects.within(mali).values_list("code", flat=True)) == {"ML", "US-TX", "city:4699066"}
    assert "city:4699066" not in set(Region.objects.within(us).values_list("code", flat=True))


@pytest.mark.django_db
def test_posts_follow_their_place_when_it_moves(client, make_post, regions):
    post = make_post(regions=[regions["houston"]])
    texas = Region.objects.get(code="US-TX")
    texas.parent = Region.objects.get(code="ML")
    texas.save()

    assert post.url.encode() in client.get("/regions/mali/").content
    assert post.url.encode() not in client.get("/regions/united-states/").content


@pytest.mark.django_db
def test_label_names_the_parent_of_cities_and_counties(regions):
    assert regions["los_angeles"].label == "Los Angeles, California"
    assert regions["la_county"].label == "Los Angeles County, California"
    assert regions["houston"].label == "Houston, Texas"
    assert regions["california"].label == "California"
    assert regions["us"].label == "United States"
    assert str(regions["los_angeles"]) == "Los Angeles, California"


@pytest.mark.django_db
def test_city_without_a_parent_is_labelled_by_its_name(db):
    city = Region.objects.create(code="city:1", name="Atlantis", kind=Region.Kind.CITY, slug="atlantis")

    assert city.label == "Atlantis"
    assert city.path == "city:1/"


@pytest.mark.django_db
def test_ancestors_run_from_the_country_down(regions, django_assert_num_queries):
    city = Region.objects.get(code="city:5368361")

    with django_assert_num_queries(1):
        ancestors = city.ancestors()

    assert [region.code for region in ancestors] == ["US", "US-CA"]
    assert Region.objects.get(code="US").ancestors() == []


@pytest.mark.django_db
@pytest.mark.parametrize("new_parent", ["california", "los_angeles"])
def test_a_region_cannot_be_put_inside_itself(regions, new_parent):
    state = Region.objects.get(code="US-CA")
    state.parent = regions[new_parent]

    with pytest.raises(ValidationError) as raised:
        state.clean()

    assert "parent" in raised.value.message_dict


@pytest.mark.django_db
def test_a_region_may_move_to_a_sibling(regions):
    city = Region.objects.get(code="city:5368361")
    city.parent = regions["texas"]

    city.clean()  # no error
