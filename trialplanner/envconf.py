"""Small validating readers for configuration taken from the environment.

Each reader raises ImproperlyConfigured with the variable's name, so a bad
deployment stops at start-up with one clear line instead of failing later.
"""

import os
import zoneinfo
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name, default="", environ=None):
    environ = os.environ if environ is None else environ
    return environ.get(name, default)


def env_bool(name, default=False, environ=None):
    environ = os.environ if environ is None else environ
    raw = environ.get(name)
    if raw is None or raw.strip() == "":  # unset or empty (compose's ${X:-}): the default, never "false"
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name, default, environ=None, minimum=None):
    environ = os.environ if environ is None else environ
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_list(name, default=(), environ=None):
    environ = os.environ if environ is None else environ
    raw = environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_time_zone(name, default="UTC", environ=None):
    value = env_str(name, default, environ)
    if value not in zoneinfo.available_timezones():
        raise ImproperlyConfigured(f"{name} must be an IANA time zone such as Europe/London, not {value!r}.")
    return value


def secret_key(debug, environ=None):
    """Return SECRET_KEY; outside development it must be set and non-trivial."""
    value = env_str("SECRET_KEY", "", environ)
    if value:
        if not debug and len(value) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters when DEBUG is off.")
        return value
    if debug:
        return "django-insecure-development-only-key-never-use-in-production"
    raise ImproperlyConfigured(
        "SECRET_KEY must be set when DEBUG is off (development: set DEBUG=true, or use `make run`)."
    )


SUPPORTED_ENGINES = {
    "django.db.backends.sqlite3": "SQLite",
    "django.db.backends.postgresql": "PostgreSQL",
}


def database(default_sqlite_path: Path, environ=None, name="DATABASE_URL"):
    """Return the DATABASES['default'] dict: SQLite file by default, or DATABASE_URL (or the URL in `name`)."""
    url = env_str(name, "", environ).strip()
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(default_sqlite_path),
            "OPTIONS": {"timeout": 20},
        }
    try:
        config = dj_database_url.parse(url)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(
            f"{name} is not a valid database URL ({exc}). "
            "Use postgres://user:password@host:port/name or sqlite:///path/to/file.sqlite3."
        ) from None
    engine = config.get("ENGINE", "")
    if engine not in SUPPORTED_ENGINES:
        raise ImproperlyConfigured(
            f"{name} uses an unsupported database ({engine or 'unknown'}); trialplanner supports PostgreSQL and SQLite."
        )
    if engine == "django.db.backends.postgresql" and not config.get("NAME"):
        raise ImproperlyConfigured(
            f"{name} must name the database, e.g. postgres://postgres@127.0.0.1:5432/trialplanner."
        )
    if engine == "django.db.backends.sqlite3" and not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} must give a file path, e.g. sqlite:///var/lib/trialplanner/db.sqlite3.")
    return config
