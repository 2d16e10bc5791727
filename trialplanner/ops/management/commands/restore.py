"""Restore an SQLite backup written by `manage.py backup`, checked before and after (README)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections

from trialplanner.ops import dbfiles


class Command(BaseCommand):
    help = (
        "Replace the SQLite database with FILE (a backup with its manifest). Refuses while a server "
        "holds the database; keeps the current file beside it; removes -wal/-shm leftovers; checks "
        "PRAGMA integrity_check and the row counts against the manifest."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="Backup file written by `manage.py backup`.")

    def handle(self, *args, file, **options):
        if connection.vendor != "sqlite":
            raise CommandError(
                "restore: the database is PostgreSQL; restore its backup with pg_restore as the README describes"
            )
        if not file.is_file():
            raise CommandError(f"restore: no backup file {file}")
        target = Path(connection.settings_dict["NAME"])
        connections.close_all()  # this process must not hold the file either
        try:
            steps = dbfiles.restore_sqlite(file, target)
        except dbfiles.RestoreError as exc:
            raise CommandError(f"restore: {exc}") from None
        for step in steps:
            self.stdout.write(f"- {step}")
        self.stdout.write(self.style.SUCCESS("Restore complete. Start the server again."))
