"""A database made before the migrations were squashed is named at migrate, not half-migrated."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from watchdesk.core.checks import check_migration_history


@pytest.mark.django_db
def test_a_database_with_this_versions_migrations_passes():
    assert check_migration_history(None, databases=["default"]) == []


@pytest.mark.django_db
def test_a_migration_this_version_does_not_have_is_an_error_that_says_what_to_do():
    MigrationRecorder(connection).record_applied("wire", "0005_band_table_keyed_by_key_and_item")

    errors = check_migration_history(None, databases=["default"])

    assert [error.id for error in errors] == ["watchdesk.E005"]
    assert "wire.0005_band_table_keyed_by_key_and_item" in errors[0].msg
    assert "Delete var/" in errors[0].hint
    with pytest.raises(SystemCheckError, match="watchdesk.E005"):
        call_command("migrate", interactive=False, verbosity=0, skip_checks=False)


@pytest.mark.django_db
def test_other_apps_history_is_not_ours_to_judge():
    MigrationRecorder(connection).record_applied("someone_elses_app", "0042_gone")

    assert check_migration_history(None, databases=["default"]) == []
