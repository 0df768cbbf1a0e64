"""The batch helpers' own promises: ``__inlist`` selects what ``__in`` would, on either database."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from watchdesk.wire.models import Item, ItemBand

pytestmark = pytest.mark.django_db


def test_inlist_selects_what_in_does_on_keys_and_relations(make_item):
    items = [make_item() for _ in range(5)]
    wanted = [items[0].pk, items[3].pk, 10**9]  # an id nobody has is simply not found
    ItemBand.objects.bulk_create(ItemBand(key=n, item=item) for n, item in enumerate(items))

    assert set(Item.objects.filter(pk__inlist=wanted)) == set(Item.objects.filter(pk__in=wanted))
    assert set(ItemBand.objects.filter(item_id__inlist=wanted).values_list("key", flat=True)) == {0, 3}
    assert set(ItemBand.objects.filter(item__inlist=wanted).values_list("key", flat=True)) == {0, 3}
    assert not Item.objects.filter(pk__inlist=[]).exists()


def test_inlist_sends_the_list_as_one_parameter(make_item):
    pks = [make_item().pk for _ in range(3)]

    with CaptureQueriesContext(connection) as queries:
        assert Item.objects.filter(pk__inlist=pks).count() == 3

    sql = queries[0]["sql"]
    assert ("json_each" in sql or "ANY" in sql) and " IN (%s" not in sql


def test_inlist_refuses_what_is_not_an_integer(db):
    with pytest.raises((TypeError, ValueError)):
        list(Item.objects.filter(pk__inlist=["1; DROP TABLE wire_item"]))
