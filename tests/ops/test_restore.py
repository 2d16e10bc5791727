"""backup -> more writes -> a crash leaves -wal/-shm -> restore -> exactly the backup again;
restore refuses while a server holds the database; files are private; logs carry no secrets."""

import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from trialplanner.ops import accesslog, dbfiles
from trialplanner.ops.privatefiles import RedactPathFilter

ROOT = Path(__file__).resolve().parents[2]


def manage(db, *args, timeout=120):
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL"}}
    env.update(DEBUG="true", DATABASE_URL=f"sqlite:///{db}", DJANGO_SETTINGS_MODULE="trialplanner.settings")
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def make_database(db):
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE patient (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    con.execute("CREATE TABLE visit (id INTEGER PRIMARY KEY, patient_id INTEGER REFERENCES patient(id), note TEXT)")
    con.executemany("INSERT INTO patient (name) VALUES (?)", [(f"patient {i}",) for i in range(200)])
    visits = [(i % 200 + 1, "x" * 300) for i in range(500)]
    con.executemany("INSERT INTO visit (patient_id, note) VALUES (?, ?)", visits)
    con.commit()
    con.close()


CRASHING_WRITER = """
import os, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.execute("PRAGMA journal_mode=WAL")
con.execute("PRAGMA wal_autocheckpoint=0")
con.executemany("INSERT INTO patient (name) VALUES (?)", [("written after the backup",)] * 50)
con.execute("DELETE FROM visit WHERE id <= 100")
con.commit()
os._exit(0)  # the process dies without closing: the write-ahead log is left behind
"""


def crash_after_writes(db):
    subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(db)], check=True, timeout=60)
    assert Path(f"{db}-wal").stat().st_size > 0 and Path(f"{db}-shm").exists()


def dump(db):
    con = sqlite3.connect(db)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def test_it_gives_the_backup_back_after_backup_writes_crash_and_restore(tmp_path):
    db = tmp_path / "db.sqlite3"
    make_database(db)
    backup = tmp_path / "backups" / "b.sqlite3"
    result = manage(db, "backup", "--output", str(backup))
    assert result.returncode == 0, result.stderr
    manifest = json.loads(dbfiles.manifest_path(backup).read_text())
    assert manifest["row_counts"]["patient"] == 200 and manifest["row_counts"]["visit"] == 500
    expected = dump(backup)

    crash_after_writes(db)
    leftovers = {suffix: Path(f"{db}{suffix}").read_bytes() for suffix in ("-wal", "-shm")}
    result = manage(db, "restore", str(backup))
    assert result.returncode == 0, result.stderr
    assert "integrity_check: ok" in result.stdout and "removed" in result.stdout
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
    assert dump(db) == expected
    assert dbfiles.integrity_problems(db) == []
    # Nothing is lost silently: the database it replaced is kept beside it, with its log.
    kept = [p for p in tmp_path.iterdir() if ".before-restore-" in p.name]
    assert {p.name.endswith("-wal") for p in kept} == {True, False}

    # Why the leftovers must go: the README's old advice (copy the backup over the file) with the
    # crash's -wal/-shm still there gives rows that are not in the backup.
    naive = tmp_path / "naive.sqlite3"
    shutil.copyfile(backup, naive)
    for suffix, content in leftovers.items():
        Path(f"{naive}{suffix}").write_bytes(content)
    assert dump(naive) != expected


def test_it_checks_the_backup_on_restore_before_touching_anything(tmp_path):
    db, backup = tmp_path / "db.sqlite3", tmp_path / "b.sqlite3"
    make_database(db)
    make_database(backup)
    before = dump(db)
    with pytest.raises(dbfiles.RestoreError, match="no manifest"):
        dbfiles.restore_sqlite(backup, db)
    dbfiles.write_manifest(backup, vendor="sqlite", counts=dbfiles.row_counts(backup))
    con = sqlite3.connect(backup)
    con.execute("INSERT INTO patient (name) VALUES ('added later')")
    con.commit()
    con.close()
    with pytest.raises(dbfiles.RestoreError, match="checksum"):
        dbfiles.restore_sqlite(backup, db)
    dbfiles.write_manifest(backup, vendor="sqlite", counts={"patient": 1})
    with pytest.raises(dbfiles.RestoreError, match="row counts"):
        dbfiles.restore_sqlite(backup, db)
    backup.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    dbfiles.write_manifest(backup, vendor="sqlite", counts={})
    with pytest.raises(dbfiles.RestoreError, match="integrity_check"):
        dbfiles.restore_sqlite(backup, db)
    assert dump(db) == before


def test_it_refuses_restore_while_a_server_holds_the_database(tmp_path):
    db = tmp_path / "db.sqlite3"
    make_database(db)
    backup = tmp_path / "b.sqlite3"
    assert manage(db, "backup", "--output", str(backup)).returncode == 0
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL"}}
    env.update(DEBUG="true", DATABASE_URL=f"sqlite:///{db}", DJANGO_SETTINGS_MODULE="trialplanner.settings")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serverlock", sys.executable, "-c", "import time; time.sleep(120)"],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not dbfiles.live_holders(db) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert dbfiles.live_holders(db)[0]["pid"] == server.pid
        refused = manage(db, "restore", str(backup))
        assert refused.returncode == 1 and "a server is using" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    assert dbfiles.live_holders(db) == []  # the lock went with the server
    assert manage(db, "restore", str(backup)).returncode == 0


def test_it_does_not_block_on_a_stale_lock_of_a_dead_process(tmp_path):
    db = tmp_path / "db.sqlite3"
    make_database(db)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = dbfiles.lock_path(db, int(dead.stdout))
    stale.write_text(json.dumps({"pid": int(dead.stdout), "command": "gunicorn"}))
    assert dbfiles.live_holders(db) == [] and not stale.exists()


def mode(path):
    return stat.S_IMODE(Path(path).stat().st_mode)


def test_it_keeps_database_backups_and_manifests_private(tmp_path):
    db = tmp_path / "db.sqlite3"
    make_database(db)
    os.chmod(db, 0o644)
    old_umask = os.umask(0o022)
    try:
        assert manage(db, "backup").returncode == 0  # default folder backups/ under the project
    finally:
        os.umask(old_umask)
    assert mode(db) == 0o600  # made private on the first connection
    written = sorted((ROOT / "backups").glob("trialplanner-*.sqlite3"), key=os.path.getmtime)[-1]
    try:
        assert mode(written) == 0o600 and mode(dbfiles.manifest_path(written)) == 0o600
        assert mode(ROOT / "backups") == 0o700
    finally:
        written.unlink()
        dbfiles.manifest_path(written).unlink()


def test_it_writes_the_secret_key_privately_in_the_serve_recipe():
    recipe = (ROOT / "Makefile").read_text().split("\nserve:", 1)[1].split("\n\n", 1)[0]
    assert "umask 077" in recipe and "chmod 600 .secret_key" in recipe
    assert "serverlock" in recipe and "serverlock" in (ROOT / "Makefile").read_text().split("\nrun:", 1)[1]


# --- logs ---------------------------------------------------------------------------------------------


def access_line(path, query=""):
    from gunicorn.config import Config

    config = Config()
    config.set("access_log_format", accesslog.ACCESS_LOG_FORMAT)
    logger = accesslog.RedactingLogger(config)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"{path}?{query}", "PATH_INFO": path, "QUERY_STRING": query,
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.9",
               "HTTP_REFERER": "https://trials.example.org/patients/?q=Smith"}  # fmt: skip
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    request = SimpleNamespace(headers=[("REFERER", "https://trials.example.org/patients/?q=Smith")])
    atoms = logger.atoms(response, request, environ, SimpleNamespace(seconds=0, microseconds=1500))
    return accesslog.ACCESS_LOG_FORMAT % atoms


def test_it_drops_query_strings_and_feed_tokens_from_the_access_log():
    line = access_line("/patients/", "q=Smith&page=2")
    assert '"GET /patients/ HTTP/1.1" 200' in line and "Smith" not in line
    feed = access_line("/calendar/s3cr3t-t0ken_abc.ics")
    assert "/calendar/[token].ics" in feed and "s3cr3t" not in feed


def test_it_hides_feed_tokens_in_the_request_log():
    import logging

    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", ("/calendar/s3cr3t-t0ken.ics",), None
    )
    RedactPathFilter().filter(record)
    assert record.getMessage() == "Not Found: /calendar/[token].ics"
    served = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /patients/?q=Smith&page=2 HTTP/1.1", "200", "512"),
        None,
    )
    RedactPathFilter().filter(served)
    assert served.getMessage() == '"GET /patients/ HTTP/1.1" 200 512'


def test_it_filters_request_records_where_they_are_made_in_the_logging_settings():
    import logging

    for name in ("django.request", "django.server"):
        assert any(isinstance(f, RedactPathFilter) for f in logging.getLogger(name).filters), name


@pytest.mark.parametrize(
    "manifest",
    [
        "[1, 2]",
        "{}",
        '{"vendor": "sqlite", "sha256": 5, "row_counts": {}}',
        '{"vendor": "sqlite", "sha256": "ab", "row_counts": {"patient": "many"}}',
        "\udcff not text",
    ],
)
def test_it_gives_a_bad_manifest_one_line_and_no_traceback(tmp_path, manifest):
    db, backup = tmp_path / "db.sqlite3", tmp_path / "b.sqlite3"
    make_database(db)
    make_database(backup)
    dbfiles.manifest_path(backup).write_bytes(manifest.encode("utf-8", "surrogateescape"))
    with pytest.raises(dbfiles.RestoreError, match="manifest"):
        dbfiles.restore_sqlite(backup, db)
    if manifest == "[1, 2]":  # the command prints a RestoreError as one line (one case is enough to show it)
        refused = manage(db, "restore", str(backup))
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and "manifest" in refused.stderr


# A folder under a file, a folder itself, and /proc (where not even root may create a folder).
@pytest.mark.parametrize("where", ["a-file/backup.sqlite3", ".", "/proc/trialplanner/backup.sqlite3"])
def test_it_gives_an_unwritable_backup_output_one_line_and_no_traceback(tmp_path, where):
    """A CommandError, which manage.py prints as one line (an OSError would print a traceback)."""
    from django.core.management import CommandError, call_command

    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(CommandError, match="^backup: cannot write") as refused:
        call_command("backup", output=tmp_path / where)
    assert "\n" not in str(refused.value)


def test_it_stages_the_restored_copy_private_before_writing_a_byte(tmp_path, monkeypatch):
    db, backup = tmp_path / "db.sqlite3", tmp_path / "b.sqlite3"
    make_database(db)
    make_database(backup)
    dbfiles.write_manifest(backup, vendor="sqlite", counts=dbfiles.row_counts(backup))
    staged = Path(f"{db}.restoring")
    staged.write_bytes(b"left by an interrupted restore")
    os.chmod(staged, 0o644)
    modes = []
    real = shutil.copyfileobj

    def copy(source, target, *args):
        modes.append(stat.S_IMODE(os.fstat(target.fileno()).st_mode))
        return real(source, target, *args)

    monkeypatch.setattr(shutil, "copyfileobj", copy)
    old_umask = os.umask(0o022)
    try:
        dbfiles.restore_sqlite(backup, db)
    finally:
        os.umask(old_umask)
    assert modes == [0o600] and mode(db) == 0o600
    assert dump(db) == dump(backup)
