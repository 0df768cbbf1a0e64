"""The restore drill: fill an instance, back it up, destroy it, restore into an empty one, compare.

Each step is a `watchdesk` process with its own var folder, as an operator would run it. On PostgreSQL
(DATABASE_URL set for the test run) the instances get scratch databases of their own on that server.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

pytestmark = pytest.mark.slow

FILL = """
import io
from django.core.files.images import ImageFile
from django.core.files.base import ContentFile
from PIL import Image as Picture
from wagtail.documents.models import Document
from wagtail.images.models import Image
from watchdesk.delivery.broadcasts import fan_out_broadcast
from watchdesk.delivery.models import Broadcast
from watchdesk.posts.models import StoryPost

buffer = io.BytesIO()
Picture.new("RGB", (64, 48), (200, 40, 40)).save(buffer, "PNG")
Image.objects.create(title="Engine 12", file=ImageFile(io.BytesIO(buffer.getvalue()), name="engine.png"))
Document.objects.create(title="Evacuation map", file=ContentFile(b"%PDF-1.4 drill", name="map.pdf"))
for post in StoryPost.objects.live()[:3]:
    fan_out_broadcast(Broadcast.objects.create(post=post))
"""


def run(env, *args, check=True):
    result = subprocess.run(
        [sys.executable, "-m", "watchdesk.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


class Instances:
    """Environments for `watchdesk` processes: SQLite in a var folder, or a scratch PostgreSQL database."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.server = os.environ.get("DATABASE_URL", "")
        self.databases = []

    @property
    def postgres(self):
        return self.server.startswith(("postgres://", "postgresql://"))

    def _admin(self):
        return psycopg.connect(self.server, autocommit=True)

    def new(self, name):
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "DATABASE_URL", "WATCHDESK_", "SITE_URL", "DEBUG"))
        }
        env["WATCHDESK_VAR_DIR"] = str(self.tmp_path / name)
        if self.postgres:
            database = f"watchdesk_drill_{name}_{uuid.uuid4().hex[:8]}"
            with self._admin() as admin:
                admin.execute(f'CREATE DATABASE "{database}"')
            self.databases.append(database)
            env["DATABASE_URL"] = urlunsplit(urlsplit(self.server)._replace(path=f"/{database}"))
        return env

    def destroy(self, env):
        shutil.rmtree(env["WATCHDESK_VAR_DIR"])
        if self.postgres:
            with self._admin() as admin:
                admin.execute(f'DROP DATABASE "{urlsplit(env["DATABASE_URL"]).path[1:]}" WITH (FORCE)')

    def drop_all(self):
        if self.postgres:
            with self._admin() as admin:
                for database in self.databases:
                    admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture
def instances(tmp_path):
    made = Instances(tmp_path)
    yield made
    made.drop_all()


def media_files(env):
    root = Path(env["WATCHDESK_VAR_DIR"]) / "media"
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def every_row(env):
    """Every row of every model, as Django serialises them (ordered by primary key)."""
    dump = run(env, "dumpdata", "--format", "json", "--exclude", "sessions").stdout
    return json.loads(dump)


def test_the_restore_drill_brings_back_every_row_and_file(instances, tmp_path):
    original = instances.new("original")
    run(original, "migrate", "--verbosity", "0")
    run(original, "setup_site")
    run(original, "load_demo")
    run(original, "shell", "--no-imports", "--command", FILL)
    rows = every_row(original)
    files = media_files(original)
    by_model = {}
    for row in rows:
        by_model[row["model"]] = by_model.get(row["model"], 0) + 1
    # The drill means something only if the instance holds what matters.
    assert by_model["posts.storypost"] >= 10
    assert by_model["subscriptions.subscriber"] >= 3
    assert by_model["delivery.delivery"] >= 3
    assert len(files) >= 2 and any(name.endswith("engine.png") for name in files)

    backup = tmp_path / "backups" / "nightly"
    made = run(original, "backup", str(backup))
    assert "Backed up to" in made.stdout
    instances.destroy(original)

    fresh = instances.new("fresh")
    restored = run(fresh, "restore", str(backup))
    assert "every table's row count matches the backup" in restored.stdout

    assert every_row(fresh) == rows
    assert media_files(fresh) == files
    # The restored instance is usable: nothing left to migrate, and its checks pass.
    assert "No planned migration operations" in run(fresh, "migrate", "--plan").stdout
    run(fresh, "check")


def test_restore_refuses_a_damaged_backup_an_unfinished_one_and_a_database_in_use(instances, tmp_path):
    source = instances.new("source")
    run(source, "migrate", "--verbosity", "0")
    media = Path(source["WATCHDESK_VAR_DIR"]) / "media" / "documents"
    media.mkdir(parents=True)
    (media / "plan.txt").write_text("muster at the fire station")
    backup = tmp_path / "backup"
    run(source, "backup", str(backup))

    assert "checksums match" in run(source, "restore", "--check", str(backup)).stdout
    in_use = run(source, "restore", str(backup), check=False)
    assert in_use.returncode != 0 and "already has tables" in in_use.stderr
    refused = run(source, "backup", str(backup), check=False)
    assert refused.returncode != 0 and "not an empty folder" in refused.stderr

    (backup / "media" / "documents" / "plan.txt").write_text("muster at the school")
    empty = instances.new("empty")
    damaged = run(empty, "restore", str(backup), check=False)
    assert damaged.returncode != 0
    assert "media/documents/plan.txt: changed since the backup" in damaged.stderr
    # Nothing was written: the empty instance is still empty.
    assert "[ ] 0001_initial" in run(empty, "showmigrations", "core").stdout
    assert not (Path(empty["WATCHDESK_VAR_DIR"]) / "media").exists()

    (backup / "manifest.json").unlink()
    unfinished = run(empty, "restore", str(backup), check=False)
    assert unfinished.returncode != 0 and "did not finish" in unfinished.stderr
