"""Back up and restore a whole instance: the database, uploaded media and the settings that matter.

A backup is a folder: ``database.sqlite3`` (SQLite's online backup, consistent while the site runs) or
``database.pgdump`` (``pg_dump --format=custom``), ``media/``, ``settings.json`` and ``manifest.json``,
written last, with each file's SHA-256 and size, the row count of every table and the migrations applied.
A folder without a manifest is an unfinished backup and is refused. docs/operations.md has the schedule and
the restore drill.
"""

import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

FORMAT = "watchdesk-backup/1"
MANIFEST = "manifest.json"
DUMP_NAMES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


class BackupError(Exception):
    """Something the operator must fix; the message says what."""


@dataclass
class Outcome:
    path: Path
    files: int = 0
    bytes: int = 0
    tables: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files_under(root):
    return sorted(path for path in Path(root).rglob("*") if path.is_file())


def table_counts(cursor=None):
    """Rows per table, every table the database has (join tables and search index included). ``cursor``
    may read another copy of the same schema (the SQLite backup file)."""
    quote = connection.ops.quote_name
    with connection.cursor() as own:
        names = sorted(connection.introspection.table_names(own))
        cursor = cursor or own
        counts = {}
        for name in names:
            cursor.execute(f"SELECT COUNT(*) FROM {quote(name)}")  # noqa: S608  names from the catalogue
            counts[name] = cursor.fetchone()[0]
    return counts


def _applied_migrations():
    return sorted(f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations())


def _key_fingerprint(key):
    """Tells whether two instances share a SECRET_KEY without storing anything that reveals it."""
    return hmac.new(key.encode(), b"watchdesk backup fingerprint", "sha256").hexdigest()[:16]


def _key_file():
    """The generated development key, when that is the key in use (production keys come from the
    environment and are never written into a backup)."""
    path = settings.VAR_DIR / "secret_key"
    if path.is_file() and path.read_text(encoding="utf-8").strip() == settings.SECRET_KEY:
        return path
    return None


def _pg_environment():
    db = connection.settings_dict
    environ = dict(os.environ)
    pairs = {
        "PGHOST": db.get("HOST"),
        "PGPORT": str(db.get("PORT") or ""),
        "PGUSER": db.get("USER"),
        "PGPASSWORD": db.get("PASSWORD"),
        "PGDATABASE": db.get("NAME"),
        "PGSSLMODE": (db.get("OPTIONS") or {}).get("sslmode"),
    }
    environ.update({name: value for name, value in pairs.items() if value})
    return environ


def _run(command):
    try:
        subprocess.run(command, env=_pg_environment(), check=True, capture_output=True, text=True)  # noqa: S603
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: apt install postgresql-client).") from None
    except subprocess.CalledProcessError as exc:
        raise BackupError(f"{command[0]} failed: {exc.stderr.strip() or exc.returncode}") from None


def _vendor():
    if connection.vendor not in DUMP_NAMES:
        raise BackupError(f"Backing up a {connection.vendor} database is not supported (SQLite, PostgreSQL).")
    return connection.vendor


def _dump_database(vendor, target):
    """Copy the database into ``target`` and count the rows of that same snapshot, so that a site busy
    during the backup cannot make the counts disagree with the copy."""
    if vendor == "sqlite":
        connection.ensure_connection()
        copy = sqlite3.connect(target)
        try:
            # SQLite's online backup copies a consistent snapshot page by page while others keep writing.
            connection.connection.backup(copy)
            return table_counts(copy.cursor())
        finally:
            copy.close()
    with transaction.atomic(), connection.cursor() as cursor:
        # pg_dump reads the snapshot this transaction exported, and the counts are made in it too.
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
              f"--file={target}"])  # fmt: skip
        return table_counts()


def backup(path):
    """Write a backup of this instance into ``path`` (a new or empty folder)."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"{path} already exists and is not an empty folder; choose a new one.")
    vendor = _vendor()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)  # it holds every subscriber's address
    try:
        return _write_backup(path, vendor)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def _write_backup(path, vendor):
    outcome = Outcome(path)
    started = timezone.now()
    outcome.tables = _dump_database(vendor, path / DUMP_NAMES[vendor])
    media = Path(settings.MEDIA_ROOT)
    if media.is_dir():
        shutil.copytree(media, path / "media")
    key_file = _key_file()
    if key_file:
        shutil.copy2(key_file, path / "secret_key")
        (path / "secret_key").chmod(0o600)
    described = {
        "site_url": settings.SITE_URL,
        "default_from_email": settings.DEFAULT_FROM_EMAIL,
        "email_reply_to": settings.EMAIL_REPLY_TO,
        "time_zone": settings.TIME_ZONE,
        "database": vendor,
        "secret_key_fingerprint": _key_fingerprint(settings.SECRET_KEY),
        "versions": {name: version(name) for name in ("watchdesk", "django", "wagtail")},
    }
    (path / "settings.json").write_text(json.dumps(described, indent=2) + "\n", encoding="utf-8")
    files = {}
    for file in _files_under(path):
        files[file.relative_to(path).as_posix()] = {"sha256": _sha256(file), "bytes": file.stat().st_size}
    manifest = {
        "format": FORMAT,
        "started_at": started.isoformat(),
        "finished_at": timezone.now().isoformat(),
        "database": vendor,
        "files": files,
        "tables": outcome.tables,
        "migrations": _applied_migrations(),
    }
    partial = path / f"{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    partial.replace(path / MANIFEST)
    outcome.files = len(files)
    outcome.bytes = sum(entry["bytes"] for entry in files.values())
    return outcome


def read_manifest(path):
    """The manifest of a complete, unaltered backup; otherwise BackupError naming every problem."""
    path = Path(path)
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{path} has no {MANIFEST}: not a backup, or one that did not finish.") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path / MANIFEST} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path / MANIFEST} is not a {FORMAT} manifest.")
    problems = []
    for name, expected in sorted(manifest["files"].items()):
        file = path / name
        if not file.is_file():
            problems.append(f"{name}: missing")
        elif file.stat().st_size != expected["bytes"] or _sha256(file) != expected["sha256"]:
            problems.append(f"{name}: changed since the backup (checksum differs)")
    if problems:
        raise BackupError("The backup is damaged; nothing was restored.\n  " + "\n  ".join(problems))
    return manifest


def restore(path):
    """Restore the backup in ``path`` into this instance, whose database and media must be empty."""
    path = Path(path)
    manifest = read_manifest(path)
    vendor = _vendor()
    if manifest["database"] != vendor:
        raise BackupError(
            f"The backup holds a {manifest['database']} database and this instance uses {vendor}; "
            "restore into the same kind of database."
        )
    with connection.cursor() as cursor:
        if connection.introspection.table_names(cursor):
            raise BackupError(
                "This instance's database already has tables; restore needs an empty one (SQLite: move the "
                "database file away; PostgreSQL: dropdb and createdb). Nothing was changed."
            )
    media = Path(settings.MEDIA_ROOT)
    if media.is_dir() and any(media.iterdir()):
        raise BackupError(f"MEDIA_ROOT ({media}) is not empty; nothing was changed.")

    outcome = Outcome(path)
    _load_database(vendor, path / DUMP_NAMES[vendor])
    if (path / "media").is_dir():
        shutil.copytree(path / "media", media, dirs_exist_ok=True)
    outcome.notes.extend(_restore_key(path))
    outcome.tables = table_counts()
    wrong = {
        name: (expected, outcome.tables.get(name))
        for name, expected in manifest["tables"].items()
        if outcome.tables.get(name) != expected
    }
    if wrong:
        lines = [
            f"{name}: {want} rows in the backup, {got} now" for name, (want, got) in sorted(wrong.items())
        ]
        raise BackupError("The restored database differs from the backup:\n  " + "\n  ".join(lines))
    outcome.files = len(manifest["files"])
    outcome.bytes = sum(entry["bytes"] for entry in manifest["files"].values())
    return outcome


def _load_database(vendor, dump):
    if vendor == "sqlite":
        connection.ensure_connection()
        source = sqlite3.connect(dump)
        try:
            source.backup(connection.connection)
        finally:
            source.close()
        # Django's connection keeps per-connection state (WAL mode, caches); start a fresh one.
        connection.close()
    else:
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              "--dbname", connection.settings_dict["NAME"], str(dump)])  # fmt: skip


def _restore_key(path):
    described = json.loads((path / "settings.json").read_text(encoding="utf-8"))
    if described["secret_key_fingerprint"] == _key_fingerprint(settings.SECRET_KEY):
        return []
    current_file = _key_file()
    if (path / "secret_key").is_file() and current_file:
        shutil.copy2(path / "secret_key", current_file)
        return [f"The backup's development secret key was put in {current_file}; restart the web and worker."]
    return [
        "SECRET_KEY differs from the backed-up instance's: links in e-mails already sent (confirm, "
        "preferences, unsubscribe) and webhook signatures made before will not verify. Set SECRET_KEY to "
        "the old key to keep them working."
    ]
