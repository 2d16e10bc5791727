"""Consistent backup of the database: SQLite's online backup, or pg_dump's custom format."""

import os
import sqlite3
import subprocess
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from trialplanner.ops import dbfiles


class Command(BaseCommand):
    help = (
        "Write a consistent backup of the database to --output "
        "(default $BACKUP_DIR or backups/, as trialplanner-<time>.<ext>)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", type=Path, help="File to write.")

    def handle(self, *args, output, **options):
        vendor = connection.vendor
        folder = Path(os.environ.get("BACKUP_DIR") or "backups")  # /backups in the container (docs/deploy.md)
        if output is None:
            ext = "sqlite3" if vendor == "sqlite" else "dump"
            output = folder / f"trialplanner-{timezone.now():%Y%m%dT%H%M%SZ}.{ext}"
        try:
            if output.parent == folder:
                dbfiles.private_dir(output.parent)
            else:
                output.parent.mkdir(parents=True, exist_ok=True)
            # The backup holds every patient record: created 0600 before a byte is written.
            dbfiles.touch_private(output)
        except OSError as exc:
            raise CommandError(f"backup: cannot write {output}: {exc.strerror or exc.__class__.__name__}") from None
        if vendor == "sqlite":
            backup_sqlite(output)
            counts = dbfiles.row_counts(output)
        elif vendor == "postgresql":
            backup_postgresql(output)
            counts = None  # pg_restore checks its own archive; see README
        else:  # pragma: no cover - settings only allow the two
            raise CommandError(f"database: no backup method for {vendor}")
        dbfiles.make_private(output)
        manifest = dbfiles.write_manifest(output, vendor=vendor, counts=counts)
        self.stdout.write(
            self.style.SUCCESS(f"Backup written to {output} ({output.stat().st_size} bytes), manifest {manifest}")
        )


def backup_sqlite(output: Path):
    """SQLite's online backup API copies a consistent snapshot even while the app writes."""
    connection.ensure_connection()
    target = sqlite3.connect(output)
    try:
        connection.connection.backup(target)
    finally:
        target.close()


def backup_postgresql(output: Path):
    settings = connection.settings_dict
    env = {**os.environ}
    if settings.get("PASSWORD"):
        env["PGPASSWORD"] = settings["PASSWORD"]
    command = ["pg_dump", "--format=custom", "--no-owner", f"--file={output}", "--dbname", settings["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if settings.get(key):
            command += [flag, str(settings[key])]
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)  # noqa: S603 - fixed argv, no shell
    except FileNotFoundError:
        raise CommandError("pg_dump: not found; install the PostgreSQL client (postgresql-client)") from None
    if result.returncode != 0:
        raise CommandError(
            f"pg_dump failed: {result.stderr.strip().splitlines()[-1] if result.stderr else result.returncode}"
        )
