from django.core.management.base import BaseCommand, CommandError

from watchdesk.core.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Back up this instance into PATH (a new or empty folder): the database (SQLite online backup or "
        "pg_dump), uploaded media, the settings that matter and a manifest with checksums and row counts. "
        "Safe while the site runs."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path, **options):
        try:
            outcome = backup(path)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        rows = sum(outcome.tables.values())
        self.stdout.write(
            f"Backed up to {outcome.path}: {outcome.files} files, {outcome.bytes:,} bytes, "
            f"{len(outcome.tables)} tables, {rows:,} rows."
        )
