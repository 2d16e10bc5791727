"""Backups restore to the same rows; SQLite runs in WAL mode; PostgreSQL survives a restart."""

import os
import sqlite3
import subprocess
import time
import urllib.request
import uuid

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def app_tables():
    return sorted(m._meta.db_table for m in apps.get_models() if m._meta.managed)


def live_counts():
    with connection.cursor() as cursor:
        counts = {}
        for table in app_tables():
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - table names come from the models
            counts[table] = cursor.fetchone()[0]
    return counts


@pytest.fixture
def some_data(world):
    return world


def test_it_restores_a_backup_to_the_same_row_counts(some_data, tmp_path):
    output = tmp_path / "backup.bin"
    call_command("backup", "--output", str(output))
    expected = live_counts()
    assert expected["plans_plan"] >= 1 and expected["audit_auditevent"] >= 1
    if connection.vendor == "sqlite":
        restored = sqlite3.connect(output)
        counts = {t: restored.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in app_tables()}  # noqa: S608
        restored.close()
    else:
        counts = restore_postgresql(output)
    assert counts == expected


def restore_postgresql(dump):
    settings = connection.settings_dict
    name = f"restore_check_{uuid.uuid4().hex[:8]}"
    base = ["--host", settings["HOST"] or "127.0.0.1", "--port", str(settings["PORT"] or 5432),
            "--username", settings["USER"] or "postgres"]  # fmt: skip
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    subprocess.run(["createdb", *base, name], check=True, env=env, timeout=60)
    try:
        subprocess.run(
            ["pg_restore", *base, "--no-owner", "--dbname", name, str(dump)], check=True, env=env, timeout=300
        )
        counts = {}
        for table in app_tables():
            query = f'SELECT COUNT(*) FROM "{table}"'  # noqa: S608 - table names come from the models
            out = subprocess.run(
                ["psql", *base, "-At", "-d", name, "-c", query],
                check=True,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            counts[table] = int(out.stdout.strip())
        return counts
    finally:
        subprocess.run(["dropdb", *base, "--if-exists", name], env=env, timeout=60)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite settings")
def test_it_uses_immediate_transactions_and_a_busy_timeout_on_sqlite():
    options = connection.settings_dict["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"] and "busy_timeout" in options["init_command"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL settings")
def test_it_keeps_postgresql_connections_with_health_checks():
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    assert connection.settings_dict["CONN_MAX_AGE"] > 0


@pytest.mark.serial
@pytest.mark.skipif(
    os.environ.get("PG_RESTART_TEST") != "1", reason="restarts PostgreSQL: only in .ci/run's PostgreSQL pass"
)
def test_it_serves_again_right_after_postgresql_restarts(live_server, world):
    url = live_server.url + "/login/"

    def get():
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback test server
            return response.status

    assert get() == 200
    version = subprocess.run(  # noqa: S602 - a fixed command, no input
        "ls /etc/postgresql | sort -n | tail -n 1", shell=True, capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True, timeout=120)
    deadline = time.monotonic() + 60
    while True:
        ready = subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], timeout=10)
        if ready.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    statuses = [get() for _ in range(30)]  # every request after the server is back must succeed
    assert statuses == [200] * 30
    connection.close()  # the test's own connection died with the restart; reconnect for teardown
