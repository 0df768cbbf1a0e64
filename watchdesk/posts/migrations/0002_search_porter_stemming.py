"""Rebuild the SQLite full-text table with FTS5's Porter stemmer, so "wildfires" finds "wildfire".

Wagtail creates `wagtailsearch_indexentry_fts` with FTS5's default tokenizer, which matches words
exactly. The table is a copy of `wagtailsearch_indexentry` kept by triggers that refer to it by name:
dropping and recreating it under that name, then copying the rows back, keeps those triggers working
and needs no reindexing. PostgreSQL stems through its text search configuration instead (settings).
"""

from django.db import migrations

TABLE = "wagtailsearch_indexentry"
STEMMED = "porter unicode61 remove_diacritics 2"


def fts_table_exists(connection):
    return f"{TABLE}_fts" in connection.introspection.table_names()


def rebuild(tokenizer):
    def run(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "sqlite" or not fts_table_exists(connection):
            return
        options = f", tokenize='{tokenizer}'" if tokenizer else ""
        schema_editor.execute(f"DROP TABLE {TABLE}_fts")
        schema_editor.execute(f"CREATE VIRTUAL TABLE {TABLE}_fts USING fts5(autocomplete, body, title{options})")
        schema_editor.execute(
            f"INSERT INTO {TABLE}_fts (rowid, title, body, autocomplete) "  # noqa: S608  no user input
            f"SELECT id, title, body, autocomplete FROM {TABLE}"
        )

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0001_initial"),
        ("wagtailsearch", "0010_add_text_fields"),
    ]

    operations = [migrations.RunPython(rebuild(STEMMED), rebuild(None), elidable=False)]
