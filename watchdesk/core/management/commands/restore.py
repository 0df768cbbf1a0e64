from django.core.management.base import BaseCommand, CommandError

from watchdesk.core.backup import BackupError, read_manifest, restore


class Command(BaseCommand):
    help = (
        "Restore the backup in PATH into this instance, whose database and media folder must be empty. "
        "Checks every file's checksum first, and every table's row count after. Stop the web and worker "
        "processes first; run `watchdesk migrate` after restoring into a newer version."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument(
            "--check", action="store_true", help="Only verify the backup's checksums; change nothing."
        )

    def handle(self, *args, path, check, **options):
        try:
            if check:
                manifest = read_manifest(path)
                self.stdout.write(f"{path}: {len(manifest['files'])} files, checksums match.")
                return
            outcome = restore(path)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        rows = sum(outcome.tables.values())
        self.stdout.write(
            f"Restored {outcome.path}: {outcome.files} files, {len(outcome.tables)} tables, {rows:,} rows; "
            "every table's row count matches the backup."
        )
        for note in outcome.notes:
            self.stdout.write(self.style.WARNING(note))
