"""Authentication, sessions, headers and deployment checks."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

import trialplanner.settings as production
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def test_it_passes_check_deploy_with_production_settings():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        SECRET_KEY="p" * 20 + "-production-secret-key-for-check-0123456789",
        ALLOWED_HOSTS="trials.example.org",
        DJANGO_SETTINGS_MODULE="trialplanner.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_hashes_passwords_with_argon2_in_production():
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    hasher = Argon2PasswordHasher()
    encoded = hasher.encode("a long passphrase here", hasher.salt())
    assert encoded.startswith("argon2$") and hasher.verify("a long passphrase here", encoded)
    assert production.REQUIRE_2FA is True and production.SESSION_COOKIE_SECURE is True


@pytest.mark.parametrize(
    "password, ok", [("short-pass", False), ("password1234", False), ("a-good-long-passphrase", True)]
)
def test_it_applies_the_password_rules(password, ok, django_user_model):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    user = django_user_model(username="someone")
    if ok:
        validate_password(password, user)
    else:
        with pytest.raises(ValidationError):
            validate_password(password, user)


def login(client, username, password, ip="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_it_locks_the_username_from_that_address_after_five_failures(client, clinician):
    for _ in range(4):
        assert login(client, "alice", "wrong").status_code == 200
    assert login(client, "alice", "wrong").status_code == 429  # the fifth failure locks
    locked = login(client, "alice", PASSWORD)
    assert locked.status_code == 429 and "Too many failed log-ins" in locked.content.decode()
    assert login(Client(), "alice", PASSWORD, ip="10.0.0.2").status_code == 302  # another address still works
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert login(Client(), "alice", PASSWORD).status_code == 302  # after the cool-off


def test_it_ends_idle_sessions_after_15_minutes(client, clinician):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(clinician)
        assert client.get(reverse("patients:patient_list")).status_code == 200
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        assert client.get(reverse("patients:patient_list")).status_code == 200
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        response = client.get(reverse("patients:patient_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_it_ends_sessions_after_the_absolute_cap_even_when_active(client, clinician, settings):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(clinician)
        client.get(reverse("patients:patient_list"))
    now = start
    while now - start < timedelta(seconds=settings.SESSION_MAX_SECONDS - 600):
        now += timedelta(minutes=10)
        with time_machine.travel(now, tick=False):
            assert client.get(reverse("patients:patient_list")).status_code == 200
    with time_machine.travel(start + timedelta(seconds=settings.SESSION_MAX_SECONDS + 60), tick=False):
        assert client.get(reverse("patients:patient_list")).status_code == 302


def device_for(user):
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def test_it_makes_a_user_with_a_device_enter_a_code(client, clinician):
    device = device_for(clinician)
    login(client, "alice", PASSWORD)
    response = client.get(reverse("patients:patient_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:two_factor_verify"))
    wrong = client.post(reverse("accounts:two_factor_verify"), {"token": "000000", "next": "/patients/"})
    assert "did not match" in wrong.content.decode()
    # django-otp throttles after a failure; a person would wait a moment before the next try.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    token = f"{totp(device.bin_key):06d}"
    assert (
        client.post(reverse("accounts:two_factor_verify"), {"token": token, "next": "/patients/"})["Location"]
        == "/patients/"
    )
    assert client.get(reverse("patients:patient_list")).status_code == 200


def test_it_sends_users_without_a_device_to_set_one_up_under_require_2fa(client, clinician, settings):
    from tests.accounts.conftest import enrol

    settings.REQUIRE_2FA = True
    login(client, "alice", PASSWORD)
    response = client.get(reverse("patients:patient_list"))
    assert response["Location"] == reverse("accounts:two_factor_setup")
    enrol(client)
    assert TOTPDevice.objects.get(user=clinician).confirmed
    assert client.get(reverse("patients:patient_list")).status_code == 200


def test_it_sends_the_security_headers(client, clinician, patient):
    client.force_login(clinician)
    response = client.get(patient.get_absolute_url())
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_it_sends_hsts_over_https(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = client.get(reverse("login"), secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_it_finds_no_inline_script_in_any_template():
    offenders = [str(p) for p in (ROOT / "templates").rglob("*.html") if "<script>" in p.read_text()
                 or "onclick=" in p.read_text()]  # fmt: skip
    assert offenders == []


def test_it_writes_the_session_on_page_views_at_most_once_a_minute(client, clinician):
    start = timezone.now()

    def session_writes(at):
        with time_machine.travel(at, tick=False), CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("patients:patient_list")).status_code == 200
        return [
            q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE") and "django_session" in q["sql"]
        ]

    with time_machine.travel(start, tick=False):
        client.force_login(clinician)
    assert session_writes(start + timedelta(seconds=1))  # the first view stamps the session
    assert not session_writes(start + timedelta(seconds=30))
    assert session_writes(start + timedelta(seconds=95))  # over a minute since the stamp
