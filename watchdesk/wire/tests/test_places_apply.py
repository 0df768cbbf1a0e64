"""Geotagging stored items: the tagger built from Region rows, its cache, and ItemPlace rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from watchdesk.taxonomy.models import Region
from watchdesk.wire import places as places_module
from watchdesk.wire.models import ItemPlace
from watchdesk.wire.places import Geotagger, apply_places, current_geotagger, forget_geotagger


@pytest.fixture(autouse=True)
def fresh_geotagger():
    """Each test has its own regions (and SQLite may hand out the same ids again): start from scratch."""
    forget_geotagger()
    yield
    forget_geotagger()


@pytest.fixture
def places(regions):
    """The small gazetteer, plus Illinois and Missouri with a Springfield each."""
    us = regions["us"]

    def region(code, name, kind, parent, slug, population=None):
        return Region.objects.create(
            code=code, name=name, kind=kind, parent=parent, slug=slug, population=population
        )

    illinois = region("US-IL", "Illinois", Region.Kind.STATE, us, "illinois")
    missouri = region("US-MO", "Missouri", Region.Kind.STATE, us, "missouri")
    return {
        **regions,
        "illinois": illinois,
        "missouri": missouri,
        "springfield_il": region(
            "city:4250542", "Springfield", Region.Kind.CITY, illinois, "springfield-il", 114_394
        ),
        "springfield_mo": region(
            "city:4409896", "Springfield", Region.Kind.CITY, missouri, "springfield-mo", 170_188
        ),
    }


def place_rows(item):
    return sorted((link.region_id, link.origin, link.mention) for link in ItemPlace.objects.filter(item=item))


def test_the_tagger_reads_all_regions_in_one_query(places, django_assert_num_queries):
    with django_assert_num_queries(1):
        tagger = Geotagger.from_db()
    assert len(tagger) == Region.objects.count()
    found = tagger.find("Wildfire near Los Angeles", "Crews from Los Angeles County helped.")
    assert [place.region_id for place in found] == [places["los_angeles"].pk, places["la_county"].pk]
    found = tagger.find("Chemical leak in Springfield, Mo.")
    assert [place.region_id for place in found] == [places["springfield_mo"].pk, places["missouri"].pk]


def test_the_tagger_is_kept_until_the_regions_change(places):
    first = current_geotagger()
    assert current_geotagger() is first
    assert first.find("Evacuations in Bamako") == []

    bamako = Region.objects.create(
        code="city:2460596", name="Bamako", kind=Region.Kind.CITY, parent=places["mali"], slug="bamako"
    )
    second = current_geotagger()
    assert second is not first
    assert [place.region_id for place in second.find("Evacuations in Bamako")] == [bamako.pk]

    # Rows added without signals (the gazetteer loader's bulk_create, another process) change the count:
    # seen at the next look at it, at most a minute later.
    Region.objects.bulk_create(
        [Region(code="GE", name="Georgia", kind=Region.Kind.COUNTRY, slug="georgia", path="GE/")]
    )
    assert current_geotagger() is second  # within the minute: no query, the same tagger
    places_module._tagger.checked_at -= 61
    third = current_geotagger()
    assert third is not second
    assert [place.region_id for place in third.find("Protests in Georgia")] == [
        Region.objects.get(code="GE").pk
    ]


def test_items_get_the_places_they_name(places, source, make_item):
    outlet = source(home_region=places["texas"])
    named = make_item("Brush fire in Los Angeles County", source=outlet, text="Crews held the line.")
    unnamed = make_item("Council approves budget", source=outlet, text="The vote was 5-2.")
    no_source = make_item("Flood in Springfield, Illinois", text="Water rose overnight.")

    created = apply_places([named, unnamed, no_source])

    assert created == 4
    assert place_rows(named) == [(places["la_county"].pk, "title", "Los Angeles County")]
    assert place_rows(unnamed) == [(places["texas"].pk, "home", "")]
    assert place_rows(no_source) == [
        (places["illinois"].pk, "title", "Illinois"),
        (places["springfield_il"].pk, "title", "Springfield, Illinois"),
    ]
    springfield = ItemPlace.objects.get(item=no_source, region=places["springfield_il"])
    assert (
        springfield.confidence > ItemPlace.objects.get(item=no_source, region=places["illinois"]).confidence
    )


def test_applying_again_replaces_the_places(places, source, make_item):
    item = make_item("Brush fire in Los Angeles", text="Crews held the line.")
    apply_places([item])
    item.title = "Flooding in Houston"
    item.save()

    apply_places([item])

    assert place_rows(item) == [(places["houston"].pk, "title", "Houston")]


def test_places_an_editor_corrected_are_left_alone(places, make_item):
    item = make_item("Brush fire in Los Angeles", text="Crews held the line.", places_edited=True)
    ItemPlace.objects.create(
        item=item, region=places["mali"], confidence=1.0, mention="", origin=ItemPlace.Origin.EDITOR
    )

    assert apply_places([item]) == 0

    assert place_rows(item) == [(places["mali"].pk, "editor", "")]


def test_the_number_of_queries_does_not_grow_with_the_batch(places, source, make_item):
    outlet = source(home_region=places["california"])
    few = [make_item(f"Fire number {n} in Houston", source=outlet) for n in range(2)]
    many = [make_item(f"Flood number {n} near Springfield, Mo.", source=outlet) for n in range(20)]
    current_geotagger()  # built once, outside the counts

    with CaptureQueriesContext(connection) as for_few:
        apply_places(few)
    with CaptureQueriesContext(connection) as for_many:
        apply_places(many)

    assert len(for_few) == len(for_many)
    assert ItemPlace.objects.filter(item__in=many).count() == 40  # Springfield and Missouri each


def test_items_not_yet_saved_are_skipped(places):
    from watchdesk.wire.models import Item

    assert apply_places([Item(title="Fire in Houston")]) == 0
    assert not ItemPlace.objects.exists()


def test_without_a_gazetteer_items_simply_get_no_places(db, make_item):
    """A fresh install before `load_regions`: ingesting still works, the items have no places yet."""
    item = make_item("Wildfire near Paradise, California", text="Evacuations in Butte County.")

    assert Geotagger([]).find(item.title, item.text) == []
    assert apply_places([item]) == 0
    assert not ItemPlace.objects.exists()
