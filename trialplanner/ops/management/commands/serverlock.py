"""Run a server command while holding the database's server lock (used by `make run` and `make serve`)."""

import argparse
import signal
import subprocess
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from trialplanner.ops import dbfiles


class Command(BaseCommand):
    help = "Run COMMAND... holding a lock file next to the SQLite database, so `restore` refuses meanwhile."

    def add_arguments(self, parser):
        parser.add_argument("server", nargs=argparse.REMAINDER, help="The server command and its arguments.")

    def handle(self, *args, server, **options):
        if server and server[0] == "--":
            server = server[1:]
        if not server:
            raise CommandError("serverlock: give the server command to run")
        if connection.vendor != "sqlite":
            sys.exit(self._run(server))
        db = Path(connection.settings_dict["NAME"])
        dbfiles.touch_private(db)  # a new database is created 0600, never world-readable
        with dbfiles.server_lock(db, " ".join(server)):
            code = self._run(server)
        sys.exit(code)

    def _run(self, server):
        child = subprocess.Popen(server)  # noqa: S603 - the operator's own command line, no shell
        # Ctrl-C reaches the server directly (same process group); a TERM sent here is passed on.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        return child.wait()
