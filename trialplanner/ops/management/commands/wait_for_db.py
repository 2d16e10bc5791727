"""Wait until the database accepts connections (container start-up, before migrate, web or scheduler)."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connections


class Command(BaseCommand):
    help = "Wait until the default database accepts a connection; exit 1 after --timeout seconds."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (default 60)")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between tries (default 1)")

    def handle(self, *args, timeout, interval, **options):
        deadline = time.monotonic() + timeout
        tries = 0
        while True:
            tries += 1
            try:
                connections["default"].ensure_connection()
            except OperationalError as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
                if time.monotonic() >= deadline:
                    message = f"database not reachable after {timeout:g} s ({tries} tries): {reason}"
                    raise CommandError(message) from None
                self.stderr.write(f"waiting for the database: {reason}")
                time.sleep(interval)
                continue
            connections["default"].close()
            self.stdout.write(f"database reachable (try {tries})")
            return
