"""Configuration parsing: bad settings stop start-up with one clear message."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from trialplanner import envconf

ROOT = Path(__file__).resolve().parent.parent


def test_it_defaults_to_a_sqlite_file(tmp_path):
    config = envconf.database(tmp_path / "db.sqlite3", environ={})
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(tmp_path / "db.sqlite3")


def test_it_reads_a_postgres_url(tmp_path):
    environ = {"DATABASE_URL": "postgres://alice:s3cret@db.example:6543/trials"}
    config = envconf.database(tmp_path / "unused", environ=environ)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["HOST"], config["PORT"]) == ("trials", "alice", "db.example", 6543)


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://root@localhost/trials", "unsupported database"),
        ("nonsense://x", "not a valid database URL"),
        ("postgres://postgres@localhost:5432/", "must name the database"),
    ],
)
def test_it_rejects_bad_database_urls(tmp_path, url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        envconf.database(tmp_path / "db.sqlite3", environ={"DATABASE_URL": url})


def test_it_requires_secret_key_when_debug_is_off():
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY must be set"):
        envconf.secret_key(debug=False, environ={})


def test_it_rejects_a_short_secret_key_in_production():
    with pytest.raises(ImproperlyConfigured, match="at least 32 characters"):
        envconf.secret_key(debug=False, environ={"SECRET_KEY": "short"})


def test_it_allows_a_development_key_in_debug_mode():
    assert envconf.secret_key(debug=True, environ={}).startswith("django-insecure")


@pytest.mark.parametrize(
    "raw, expected", [("true", True), ("1", True), ("off", False), ("", "default"), (" ", "default")]
)
def test_it_parses_booleans(raw, expected):
    """Empty is the default, never false: compose's `REQUIRE_2FA: ${REQUIRE_2FA:-}` must not turn two-factor off."""
    for default in (True, False):
        wanted = default if expected == "default" else expected
        assert envconf.env_bool("X", default=default, environ={"X": raw}) is wanted


def test_it_rejects_a_non_boolean():
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be true or false"):
        envconf.env_bool("DEBUG", environ={"DEBUG": "maybe"})


def test_it_rejects_an_unknown_time_zone():
    with pytest.raises(ImproperlyConfigured, match="TIME_ZONE must be an IANA time zone"):
        envconf.env_time_zone("TIME_ZONE", environ={"TIME_ZONE": "Mars/Olympus"})


def test_it_rejects_a_non_numeric_port():
    with pytest.raises(ImproperlyConfigured, match="EMAIL_PORT must be a whole number"):
        envconf.env_int("EMAIL_PORT", 25, environ={"EMAIL_PORT": "twenty-five"})


def test_it_splits_lists():
    assert envconf.env_list("ALLOWED_HOSTS", environ={"ALLOWED_HOSTS": "a.example, b.example,"}) == [
        "a.example",
        "b.example",
    ]


def load_settings(**env):
    """Import the real settings module in a fresh interpreter with the given environment."""
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import trialplanner.settings as s; print(s.DEBUG, s.DATABASES['default']['ENGINE'])"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_stops_production_start_up_without_a_secret_key():
    result = load_settings()
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_stops_start_up_on_a_bad_database_url():
    result = load_settings(SECRET_KEY="x" * 40, DATABASE_URL="mysql://root@localhost/db")
    assert result.returncode != 0
    assert "DATABASE_URL uses an unsupported database" in result.stderr


def test_it_starts_in_production_mode_with_valid_settings():
    result = load_settings(SECRET_KEY="x" * 40, DATABASE_URL="postgres://postgres@127.0.0.1:5432/test")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "django.db.backends.postgresql"]


def test_it_reports_a_bad_setting_from_manage_py_in_one_line():
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Configuration error: SECRET_KEY must be set when DEBUG is off")
