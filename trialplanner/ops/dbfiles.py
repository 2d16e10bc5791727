"""Database files on disk: private permissions, the server lock, backup manifests, SQLite checks.

Plain functions on paths (no Django), so the restore can be tested on any file.
"""

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
LOCK_SUFFIX = ".server-lock."
SIDE_FILES = ("-wal", "-shm", "-journal")


def make_private(path: Path) -> None:
    """Owner read/write only: the file holds patient data or a secret."""
    os.chmod(path, PRIVATE_DIR if Path(path).is_dir() else PRIVATE_FILE)


def private_dir(path: Path) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    make_private(path)
    return path


def touch_private(path: Path) -> None:
    """Create `path` empty and 0600 if it is missing, so SQLite never creates it world-readable."""
    os.close(_open_private(path, os.O_WRONLY | os.O_CREAT))


def _open_private(path: Path, flags: int) -> int:
    """A descriptor on `path`, 0600 before a byte can be written (an existing file is made private too)."""
    fd = os.open(path, flags, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    except OSError:
        os.close(fd)
        raise
    return fd


def write_private(path: Path, mode: str = "w"):
    """`open(path, mode)` for a new or replaced file that is 0600 before anything is written to it."""
    return os.fdopen(_open_private(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), mode)


# --- the server lock --------------------------------------------------------------------------------


def lock_path(db: Path, pid: int) -> Path:
    return Path(f"{db}{LOCK_SUFFIX}{pid}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def live_holders(db: Path) -> list[dict]:
    """The servers holding `db` (from their lock files); stale locks of dead processes are removed."""
    holders = []
    for path in sorted(Path(db).parent.glob(Path(db).name + LOCK_SUFFIX + "*")):
        try:
            info = json.loads(path.read_text())
            pid = int(info["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            info, pid = {"pid": path.name.rsplit(".", 1)[-1], "command": "unreadable lock file"}, None
        if pid is not None and not _alive(pid):
            path.unlink(missing_ok=True)
            continue
        holders.append({**info, "lock": str(path)})
    return holders


@contextlib.contextmanager
def server_lock(db: Path, command: str):
    """Hold a lock file on `db` while a server runs, so `restore` refuses to swap the file under it."""
    path = lock_path(db, os.getpid())
    with write_private(path) as fh:
        json.dump({"pid": os.getpid(), "command": command, "since": datetime.now(UTC).isoformat()}, fh)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


# --- manifests and checks ---------------------------------------------------------------------------


def manifest_path(backup: Path) -> Path:
    return Path(f"{backup}.manifest.json")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def row_counts(path: Path) -> dict[str, int]:
    """Rows in every table of an SQLite file."""
    con = _read_only(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]  # fmt: skip
        return {t: con.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608 - names from sqlite_master
    finally:
        con.close()


def integrity_problems(path: Path) -> list[str]:
    """PRAGMA integrity_check's complaints (empty when the file is sound)."""
    try:
        con = _read_only(path)
        try:
            rows = [r[0] for r in con.execute("PRAGMA integrity_check")]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if rows == ["ok"] else rows


def write_manifest(backup: Path, *, vendor: str, counts: dict[str, int] | None) -> Path:
    path = manifest_path(backup)
    body = {
        "file": Path(backup).name,
        "vendor": vendor,
        "created_at": datetime.now(UTC).isoformat(),
        "sha256": sha256(backup),
        "row_counts": counts,
    }
    with write_private(path) as fh:
        json.dump(body, fh, indent=2, sort_keys=True)
    return path


class RestoreError(Exception):
    """The restore was refused or failed; the message says why and what was left where."""


def read_manifest(backup: Path) -> dict:
    """The backup's manifest, checked for the fields a restore reads; RestoreError saying what is wrong."""
    manifest_file = manifest_path(backup)
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RestoreError(f"no manifest {manifest_file}: only backups written by `manage.py backup` restore") from None
    except (OSError, ValueError) as exc:
        raise RestoreError(f"the manifest {manifest_file} cannot be read: {exc.__class__.__name__}") from None
    counts = manifest.get("row_counts") if isinstance(manifest, dict) else None
    if not (
        isinstance(manifest, dict)
        and isinstance(manifest.get("vendor"), str)
        and isinstance(manifest.get("sha256"), str)
        and (counts is None or (isinstance(counts, dict) and all(isinstance(v, int) for v in counts.values())))
    ):
        raise RestoreError(
            f"the manifest {manifest_file} is not one `manage.py backup` wrote (vendor, sha256, row_counts)"
        )
    return manifest


def restore_sqlite(backup: Path, target: Path, *, now: datetime | None = None) -> list[str]:
    """Put `backup` in place of the SQLite database `target`; the steps taken, for the operator.

    Refuses while a server holds `target`; checks the backup against its manifest (checksum,
    integrity, row counts) before touching anything; keeps the current file and its write-ahead
    log beside it; removes -wal/-shm leftovers, which SQLite would otherwise replay into the
    restored file; and checks the result again.
    """
    backup, target = Path(backup), Path(target)
    holders = live_holders(target)
    if holders:
        who = ", ".join(f"pid {h['pid']} ({h.get('command', '?')})" for h in holders)
        raise RestoreError(f"a server is using {target}: {who}. Stop it first, then run restore again.")
    manifest = read_manifest(backup)
    if manifest["vendor"] != "sqlite":
        raise RestoreError(f"{backup} is a {manifest['vendor']} backup; restore it with pg_restore (README)")
    if sha256(backup) != manifest["sha256"]:
        raise RestoreError(f"{backup} does not match its manifest's checksum: damaged or changed since the backup")
    problems = integrity_problems(backup)
    if problems:
        raise RestoreError(f"{backup} fails PRAGMA integrity_check: {problems[0]}")
    if row_counts(backup) != manifest["row_counts"]:
        raise RestoreError(f"{backup} has other row counts than its manifest records")

    steps = []
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    staged = Path(f"{target}.restoring")
    staged.unlink(missing_ok=True)  # a copy left by an interrupted restore
    with open(backup, "rb") as source, write_private(staged, "wb") as copy:
        shutil.copyfileobj(source, copy)
        copy.flush()
        os.fsync(copy.fileno())
    if target.exists():
        kept = Path(f"{target}.before-restore-{stamp}")
        os.replace(target, kept)
        make_private(kept)
        steps.append(f"kept the current database as {kept}")
        wal = Path(f"{target}-wal")
        if wal.exists():
            os.replace(wal, f"{kept}-wal")
            steps.append(f"kept its write-ahead log as {kept}-wal")
    for suffix in SIDE_FILES:
        leftover = Path(f"{target}{suffix}")
        if leftover.exists():
            leftover.unlink()
            steps.append(f"removed {leftover}")
    os.replace(staged, target)
    steps.append(f"restored {backup} to {target}")
    problems = integrity_problems(target)
    counts = row_counts(target)
    if problems or counts != manifest["row_counts"]:
        raise RestoreError(
            f"the restored {target} does not check out ({problems[:1] or 'row counts differ'}); "
            f"the previous database is kept beside it"
        )
    steps.append(
        f"PRAGMA integrity_check: ok; row counts match the manifest ({sum(counts.values())} rows "
        f"in {len(counts)} tables)"
    )
    return steps
