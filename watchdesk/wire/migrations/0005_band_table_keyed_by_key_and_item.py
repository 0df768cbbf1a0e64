"""The LSH band table keyed (key, item), WITHOUT ROWID on SQLite, with 31-bit keys; bands rebuilt.

Django cannot turn a table's primary key into a composite one, so the table is made anew: bands are
derived data, rebuilt here from the signatures stored on the items of the clustering window (copies have
none of their own). On SQLite the new table is WITHOUT ROWID: the rows are kept in (key, item) order, so
each band costs one B-tree insert instead of a row plus an index entry.
"""

import django.db.models.deletion
import numpy as np
from django.db import migrations, models
from django.utils import timezone


def without_rowid(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'wire_itemband'")
        (table_sql,) = cursor.fetchone()
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'wire_itemband' AND sql IS NOT NULL"
        )
        index_sql = [sql for (sql,) in cursor.fetchall()]
        cursor.execute('DROP TABLE "wire_itemband"')
        cursor.execute(f"{table_sql} WITHOUT ROWID")
        for sql in index_sql:
            cursor.execute(sql)


def rebuild_bands(apps, schema_editor):
    # The keys must be the ones clustering computes now, so this uses its code, not a frozen copy.
    from watchdesk.wire.clustering import NUM_PERM, WINDOW, band_keys

    Item = apps.get_model("wire", "Item")
    ItemBand = apps.get_model("wire", "ItemBand")
    empty = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    originals = Item.objects.filter(
        first_seen_at__gte=timezone.now() - WINDOW, duplicate_of__isnull=True, minhash__isnull=False
    )
    batch = []
    for pk, minhash in originals.values_list("pk", "minhash").iterator(chunk_size=2000):
        signature = np.frombuffer(bytes(minhash), dtype=np.uint32)
        if len(signature) != NUM_PERM or (signature == empty).all():
            continue
        batch.extend(ItemBand(key=key, item_id=pk) for key in set(band_keys(signature[None, :])[0].tolist()))
        if len(batch) >= 10_000:
            ItemBand.objects.bulk_create(batch)
            batch = []
    ItemBand.objects.bulk_create(batch)


class Migration(migrations.Migration):

    dependencies = [
        ("wire", "0004_band_index_without_time"),
    ]

    operations = [
        migrations.DeleteModel(name="ItemBand"),
        migrations.CreateModel(
            name="ItemBand",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "key", "item", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("key", models.IntegerField()),
                (
                    "item",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="bands", to="wire.item"
                    ),
                ),
            ],
        ),
        migrations.RunPython(without_rowid, migrations.RunPython.noop),
        migrations.RunPython(rebuild_bands, migrations.RunPython.noop),
    ]
