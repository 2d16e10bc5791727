"""Two-factor sign-in: the enrolment bypass stays closed, recovery codes, removal, audit."""

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.conftest import code, enrol, password_login
from tests.conftest import PASSWORD
from trialplanner.accounts.models import RecoveryCode, RecoveryCodeSet, hash_code
from trialplanner.accounts.views import PENDING_KEY
from trialplanner.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def security_events(user=None):
    events = AuditEvent.objects.filter(action=AuditEvent.Action.SECURITY).order_by("id")
    if user is not None:
        events = events.filter(user=user)
    return [(e.object_type, e.detail) for e in events]


def test_it_closes_the_reported_bypass(client, clinician, device, require_2fa, patient):
    """Password only, then GET the set-up page and POST a code from its secret: refused."""
    password_login(client)
    response = client.get(reverse("accounts:two_factor_setup"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:two_factor_verify"))
    assert PENDING_KEY not in client.session  # no secret was even handed out
    assert list(TOTPDevice.objects.values_list("pk", "key", "confirmed")) == [(device.pk, device.key, True)]
    # A secret planted in the session (say, from before the device existed) does not help either.
    session = client.session
    session[PENDING_KEY] = "00" * 20
    session.save()
    posted = client.post(reverse("accounts:two_factor_setup"), {"password": PASSWORD, "token": code("00" * 20)})
    assert posted.status_code == 302 and posted["Location"].startswith(reverse("accounts:two_factor_verify"))
    assert list(TOTPDevice.objects.values_list("pk", "key")) == [(device.pk, device.key)]
    for page in (patient.get_absolute_url(), reverse("audit:audit_list"), reverse("accounts:account")):
        assert client.get(page)["Location"].startswith(reverse("accounts:two_factor_verify")), page
    assert security_events(clinician) == [("login", "logged in with password")]  # and nothing else


@pytest.mark.parametrize("require", [True, False])
def test_it_needs_the_current_device_first_for_removal_and_new_codes(client, clinician, device, settings, require):
    settings.REQUIRE_2FA = require
    password_login(client)
    for name in ("accounts:two_factor_remove", "accounts:recovery_codes_regenerate"):
        response = client.post(reverse(name), {"remove-password": PASSWORD, "codes-password": PASSWORD})
        assert response["Location"].startswith(reverse("accounts:two_factor_verify")), name
    assert TOTPDevice.objects.filter(pk=device.pk).exists() and not RecoveryCodeSet.objects.exists()


def test_it_creates_no_device_on_opening_the_setup_page(client, clinician, require_2fa):
    password_login(client)
    first = client.get(reverse("accounts:two_factor_setup"))
    second = client.get(reverse("accounts:two_factor_setup"))
    assert first.status_code == second.status_code == 200
    assert first.context["secret"] == second.context["secret"]  # a reload shows the same QR code
    assert not TOTPDevice.objects.exists() and not RecoveryCodeSet.objects.exists()


def test_it_needs_the_password_again_for_a_first_device(client, clinician, require_2fa):
    password_login(client)
    client.get(reverse("accounts:two_factor_setup"))
    key = client.session[PENDING_KEY]
    wrong = client.post(reverse("accounts:two_factor_setup"), {"password": "not-my-password", "token": code(key)})
    assert wrong.status_code == 200
    assert wrong.context["form"].errors["password"] == [wrong.context["form"].error_messages["wrong_password"]]
    assert not TOTPDevice.objects.exists()
    assert security_events(clinician)[-1] == ("login", "failed log-in")  # counted like any wrong password
    ok = client.post(reverse("accounts:two_factor_setup"), {"password": PASSWORD, "token": code(key)})
    assert ok["Location"] == reverse("accounts:recovery_codes")
    device = TOTPDevice.objects.get(user=clinician)
    assert device.confirmed and device.key == key and PENDING_KEY not in client.session
    assert client.get(reverse("patients:patient_list")).status_code == 200  # this session is verified
    assert security_events(clinician)[-1] == ("two_factor", "authenticator enrolled")


def test_it_enrols_nothing_on_a_wrong_code(client, clinician, require_2fa):
    password_login(client)
    client.get(reverse("accounts:two_factor_setup"))
    key = client.session[PENDING_KEY]
    wrong_code = f"{(int(code(key)) + 1) % 1000000:06d}"
    response = client.post(reverse("accounts:two_factor_setup"), {"password": PASSWORD, "token": wrong_code})
    assert "did not match" in response.content.decode() and not TOTPDevice.objects.exists()


@pytest.mark.parametrize("token", ["١٢٣٤٥٦", "１２３４５６", "12345²", " 12345", "123 456"])
def test_it_accepts_codes_of_ascii_digits_only(client, clinician, require_2fa, token):
    password_login(client)
    client.get(reverse("accounts:two_factor_setup"))
    response = client.post(reverse("accounts:two_factor_setup"), {"password": PASSWORD, "token": token})
    assert response.status_code == 200 and not TOTPDevice.objects.exists()
    assert response.context["form"].errors["token"]


def test_it_shows_recovery_codes_once_and_keeps_them_hashed_and_single_use(client, clinician, require_2fa):
    password_login(client)
    key, codes = enrol(client)
    page = client.get(reverse("accounts:recovery_codes")).content.decode()
    assert len(codes) == len(set(codes)) == 10 and all(c in page for c in codes)
    assert not any(c in client.get(reverse("accounts:recovery_codes")).content.decode() for c in codes)
    stored = set(RecoveryCode.objects.values_list("code_hash", flat=True))
    assert stored == {hash_code(c) for c in codes} and not stored & set(codes)

    def sign_in_with(token):
        other = Client()
        password_login(other)
        return other, other.post(reverse("accounts:two_factor_verify"), {"token": token, "next": "/patients/"})

    other, response = sign_in_with(codes[3].upper().replace("-", " "))
    assert response["Location"] == "/patients/" and other.get("/patients/").status_code == 200
    assert security_events(clinician)[-1] == ("recovery_code", "recovery code used, 9 left")
    _, again = sign_in_with(codes[3])
    assert again.status_code == 200 and "did not match" in again.content.decode()
    assert security_events(clinician)[-1] == ("two_factor", "wrong recovery code")


def test_it_replaces_the_device_from_a_verified_session(client, clinician, require_2fa):
    password_login(client)
    old_key, old_codes = enrol(client)
    old_device = TOTPDevice.objects.get(user=clinician)
    page = client.get(reverse("accounts:two_factor_setup"))
    assert page.status_code == 200 and page.context["replacing"]
    new_key = client.session[PENDING_KEY]
    assert new_key != old_key
    client.post(reverse("accounts:two_factor_setup"), {"password": PASSWORD, "token": code(new_key)})
    assert list(TOTPDevice.objects.filter(user=clinician).values_list("key", flat=True)) == [new_key]
    assert not TOTPDevice.objects.filter(pk=old_device.pk).exists()
    assert not RecoveryCode.objects.filter(code_hash__in=[hash_code(c) for c in old_codes]).exists()
    assert security_events(clinician)[-1] == ("two_factor", "authenticator replaced")
    # The old app's codes no longer sign in.
    other = Client()
    password_login(other)
    response = other.post(reverse("accounts:two_factor_verify"), {"token": code(old_key, step=1)})
    assert response.status_code == 200 and other.get("/patients/").status_code == 302


def test_it_replaces_a_lost_phone_after_a_recovery_code(client, clinician, require_2fa):
    password_login(client)
    _, codes = enrol(client)
    phone_lost = Client()
    password_login(phone_lost)
    phone_lost.post(reverse("accounts:two_factor_verify"), {"token": codes[0]})
    assert phone_lost.get(reverse("accounts:two_factor_setup")).status_code == 200
    key = phone_lost.session[PENDING_KEY]
    phone_lost.post(reverse("accounts:two_factor_setup"), {"password": PASSWORD, "token": code(key)})
    assert TOTPDevice.objects.get(user=clinician).key == key


def test_it_needs_the_password_for_turning_two_factor_off_and_audits_it(client, clinician, require_2fa):
    password_login(client)
    enrol(client)
    wrong = client.post(reverse("accounts:two_factor_remove"), {"remove-password": "nope"}, follow=True)
    assert "not turned off" in wrong.content.decode() and TOTPDevice.objects.exists()
    client.post(reverse("accounts:two_factor_remove"), {"remove-password": PASSWORD})
    assert not TOTPDevice.objects.exists() and not RecoveryCodeSet.objects.exists()
    assert security_events(clinician)[-1] == ("two_factor", "authenticator removed")
    # Required here, so the next page asks for a new device.
    assert client.get("/patients/")["Location"] == reverse("accounts:two_factor_setup")


def test_it_replaces_the_old_recovery_codes_with_new_ones(client, clinician, require_2fa):
    password_login(client)
    _, old = enrol(client)
    client.post(reverse("accounts:recovery_codes_regenerate"), {"codes-password": PASSWORD})
    new = client.get(reverse("accounts:recovery_codes")).context["codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert RecoveryCodeSet.objects.get(user=clinician).remaining() == 10
    assert security_events(clinician)[-1] == ("recovery_code", "recovery codes replaced")


def test_it_audits_log_ins_without_storing_unknown_names(client, clinician):
    client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    client.post(reverse("login"), {"username": "my-password-typed-here", "password": "x"})
    password_login(client)
    events = list(AuditEvent.objects.filter(action="security").order_by("id"))
    assert [(e.user, e.detail) for e in events] == [
        (clinician, "failed log-in"),
        (None, "failed log-in for an unknown user name"),
        (clinician, "logged in with password"),
    ]
    assert not AuditEvent.objects.filter(detail__contains="my-password").exists()


def test_it_sends_the_admin_log_in_through_the_audited_page(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_it_lets_an_administrator_reset_two_factor_from_the_command_line(clinician, device):
    from django.core import mail
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--reason"):
        call_command("reset_two_factor", "alice", "--reason", "line one\nline two")
    call_command("reset_two_factor", "alice", "--reason", "identity checked in person")
    assert not TOTPDevice.objects.filter(user=clinician).exists()
    event = AuditEvent.objects.get(action="security", object_type="two_factor")
    assert event.user is None and event.detail.endswith("identity checked in person")
    assert mail.outbox[-1].to == [clinician.email]
