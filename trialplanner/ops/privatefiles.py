"""Keep the SQLite database file (and so its -wal/-shm, which SQLite creates alike) owner-only,
and keep calendar-feed tokens out of Django's request log."""

import os
import stat
from pathlib import Path

from trialplanner.ops.accesslog import redact_text
from trialplanner.ops.dbfiles import PRIVATE_FILE


def private_sqlite_file(sender, connection, **kwargs):
    """On each new SQLite connection: the database file is made 0600 if anyone else could read it."""
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name.startswith("file:") or ":memory:" in name:
        return
    path = Path(name)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, PRIVATE_FILE)
    except OSError:  # not ours to change, or gone: SQLite itself reports real problems
        pass


class RedactPathFilter:
    """django.request logs 'Not Found: <path>' and runserver logs each request line: neither may
    carry a feed token or a query string (patient searches) into the log."""

    def filter(self, record):
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(redact_text(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str) and not record.args:
            record.msg = redact_text(record.msg)
        return True
