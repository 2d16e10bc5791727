import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD
from trialplanner.accounts.views import CODES_ONCE, PENDING_KEY


def code(key_hex, step=0):
    """The authenticator's code for a hex key, `step` time steps from now (one step = 30 s)."""
    return f"{totp(bytes.fromhex(key_hex), drift=step):06d}"


def password_login(client, username="alice", password=PASSWORD):
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 302, "the password log-in itself should succeed"
    return response


def enrol(client, password=PASSWORD):
    """Open the set-up page and confirm the secret it shows; the recovery codes shown once."""
    client.get(reverse("accounts:two_factor_setup"))
    key = client.session[PENDING_KEY]
    response = client.post(reverse("accounts:two_factor_setup"), {"password": password, "token": code(key)})
    assert response.status_code == 302, response.content.decode()[-2000:]
    codes = client.session[CODES_ONCE]
    return key, codes


@pytest.fixture
def device(clinician):
    """Alice's confirmed authenticator, as if enrolled earlier."""
    return TOTPDevice.objects.create(user=clinician, name="phone", confirmed=True)


@pytest.fixture
def require_2fa(settings):
    settings.REQUIRE_2FA = True
