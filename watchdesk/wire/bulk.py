"""Batch helpers for the wire: slices of a batch, a compiled object kept until its rows change, and
bulk writes.

Bulk writes for enrichment: one ``executemany`` per batch instead of Django's parameter-capped batches.

``bulk_create`` and ``bulk_update`` split their statements at SQLite's conservative 999-parameter budget,
so writing 32 LSH bands for each of 50 items took five INSERTs, and the number of queries grew with the
batch. A prepared statement run with ``executemany`` is one round of work for the driver (sqlite3 reuses
the statement, psycopg pipelines it), counts as one query, and is faster on both databases. Values go
through each field's own ``get_db_prep_save``, so datetimes, JSON and bytes are stored exactly as the ORM
would store them.
"""

import json
import time

from django.db import connections, router
from django.db.models import Lookup

BATCH = 500  # rows per IN (...) list or per bulk statement: well inside every database's parameter limit


class InList(Lookup):
    """``field__inlist=[1, 2, ...]``: ``IN`` for a list of integers, sent as one query parameter.

    Django's ``__in`` prepares every value on its own, a few microseconds each; for the lists of item ids
    enrichment passes around (a feed's items, a thousand candidates) that cost more than the queries.
    PostgreSQL takes the list as an array (``= ANY(%s)``), SQLite as JSON (``IN (SELECT value FROM
    json_each(%s))``). Registered for every field in ``WireConfig.ready``; values must be integers.
    """

    lookup_name = "inlist"

    def get_prep_lookup(self):
        return [int(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*params, self.rhs]
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*params, json.dumps(self.rhs)]


def chunks(values, size=BATCH):
    """``values`` (a sequence) in slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


class Compiled:
    """An expensive object built from database rows (the topic automaton, the gazetteer), kept per process
    and rebuilt only when ``signature()`` (one cheap aggregate query) changes. Call ``get()`` once per
    batch. Two threads that find it stale at once both rebuild it; the last one wins, which is harmless.

    With ``recheck`` (seconds), the signature is looked at no more often than that: for rows that change
    rarely and whose changes in this process call ``forget()`` at once, so only changes made by another
    process wait up to ``recheck`` seconds.
    """

    def __init__(self, signature, build, *, recheck=0):
        self.signature, self.build, self.recheck = signature, build, recheck
        self.cached = None  # (signature, object)
        self.checked_at = 0.0

    def get(self):
        cached = self.cached
        if cached is not None and self.recheck and time.monotonic() - self.checked_at < self.recheck:
            return cached[1]
        signature = self.signature()
        self.checked_at = time.monotonic()
        if cached is not None and cached[0] == signature:
            return cached[1]
        built = self.build()
        self.cached = (signature, built)
        return built

    def forget(self):
        self.cached = None


_NUMBERS = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "FloatField",
    "ForeignKey",
    "IntegerField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
}


def _prepared_column(field, values, connection):
    """One column's values as query parameters, as the ORM would send them, without its per-value cost.

    Numbers pass as they are (both drivers take Python ints and floats). Other values go through the
    field once per distinct value: a batch repeats the same datetimes many times.
    """
    if field.get_internal_type() in _NUMBERS and set(map(type, values)) <= {int, float, type(None)}:
        return values
    keys = list(zip(map(type, values), values, strict=True))  # 1 and True are equal; their types are not
    try:
        prepared = {key: field.get_db_prep_save(key[1], connection=connection) for key in set(keys)}
    except TypeError:  # unhashable values, e.g. dicts for a JSONField
        return [field.get_db_prep_save(value, connection=connection) for value in values]
    return list(map(prepared.__getitem__, keys))


def _statement_parts(model, field_names, rows, connection):
    fields = [model._meta.get_field(name) for name in field_names]
    columns = [connection.ops.quote_name(field.column) for field in fields]
    values = [
        _prepared_column(field, list(column), connection)
        for field, column in zip(fields, zip(*rows, strict=True), strict=True)
    ]
    return columns, list(zip(*values, strict=True))


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


def insert_returning(model, field_names, rows, returning):
    """INSERT rows and return, for each, the values of the ``returning`` columns.

    Multi-row ``INSERT ... RETURNING`` (SQLite 3.35+, PostgreSQL), as few statements as the database's
    parameter budget allows. The returned rows come back in no promised order: return a column that
    tells them apart, not just the new primary key.
    """
    rows = list(rows)
    if not rows:
        return []
    connection = connections[router.db_for_write(model)]
    columns, params = _statement_parts(model, field_names, rows, connection)
    table = connection.ops.quote_name(model._meta.db_table)
    returned = ", ".join(connection.ops.quote_name(model._meta.get_field(name).column) for name in returning)
    budget = connection.features.max_query_params or len(rows) * len(columns)
    per_statement = max(1, budget // len(columns))
    one_row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    results = []
    with connection.cursor() as cursor:
        for start in range(0, len(params), per_statement):
            chunk = params[start : start + per_statement]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one_row] * len(chunk))} "
                f"RETURNING {returned}",
                [value for row in chunk for value in row],
            )
            results.extend(cursor.fetchall())
    return results
