"""INSERT and UPDATE of many rows as one ``executemany``: the wire's per-feed writes of LSH bands and of
each item's cluster and score, where ``bulk_create``/``bulk_update`` made the pipeline about three times
slower (measured in bench/README.md). Values go through each field's ``get_db_prep_save``, so they are
stored exactly as the ORM would store them.
"""

from django.db import connections, router


def _statement_parts(model, field_names, rows, connection):
    fields = [model._meta.get_field(name) for name in field_names]
    columns = [connection.ops.quote_name(field.column) for field in fields]
    params = [
        tuple(field.get_db_prep_save(value, connection) for field, value in zip(fields, row, strict=True))
        for row in rows
    ]
    return columns, params


def insert_rows(model, field_names, rows):
    """INSERT one row per tuple of values (in ``field_names`` order). Returns the number of rows."""
    rows = list(rows)
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    columns, params = _statement_parts(model, field_names, rows, connection)
    table = connection.ops.quote_name(model._meta.db_table)
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", params)
    return len(rows)


def update_rows(model, field_names, rows):
    """UPDATE by primary key: each row is (pk, value, value, ...) with values in ``field_names`` order."""
    rows = list(rows)
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    pk_name = model._meta.pk.name
    columns, params = _statement_parts(
        model, [*field_names, pk_name], [(*values, pk) for pk, *values in rows], connection
    )
    table = connection.ops.quote_name(model._meta.db_table)
    assignments = ", ".join(f"{column} = %s" for column in columns[:-1])
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {columns[-1]} = %s", params)
    return len(rows)
