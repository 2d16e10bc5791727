"""A clinic lead resets a member's lost authenticator: only members of that clinic alone; audited; e-mailed."""

import pytest
from django.core import mail
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD
from trialplanner.accounts.models import RecoveryCodeSet
from trialplanner.audit.models import AuditEvent
from trialplanner.patients.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def devices(clinician, colleague):
    for user in (clinician, colleague):
        TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        RecoveryCodeSet.objects.create(user=user, name="codes", confirmed=True)


def reset(client, clinic, username, password=PASSWORD):
    return client.post(
        reverse("accounts:member_two_factor_reset", args=[clinic.uuid]), {"member": username, "password": password}
    )


def test_it_lets_a_lead_reset_a_member_of_their_clinic_alone(client, lead, clinician, clinic, devices):
    client.force_login(lead)
    response = reset(client, clinic, "alice")
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=clinician).exists()
    assert not RecoveryCodeSet.objects.filter(user=clinician).exists()
    assert TOTPDevice.objects.filter(user__username="bob").exists()
    event = AuditEvent.objects.get(action="security", object_type="two_factor")
    assert (event.user, event.clinic, event.detail) == (lead, clinic, "authenticator of alice reset by clinic lead")
    assert [m.to for m in mail.outbox] == [[clinician.email]] and "lena" in mail.outbox[0].body


def test_it_does_not_let_a_lead_reset_members_of_another_clinic_too(client, lead, clinician, clinic, other_clinic,
                                                                    devices):  # fmt: skip
    Membership.objects.create(user=clinician, clinic=other_clinic)
    client.force_login(lead)
    page = client.get(reverse("accounts:member_two_factor_reset", args=[clinic.uuid]))
    assert [u.username for u in page.context["eligible"]] == ["bob"]
    response = reset(client, clinic, "alice")
    assert response.status_code == 200 and response.context["form"].errors["member"]
    assert TOTPDevice.objects.filter(user=clinician).exists() and not mail.outbox


@pytest.mark.parametrize("who", ["clinician", "outsider"])
def test_it_lets_only_the_clinics_lead_reset(client, request, clinic, colleague, who):
    TOTPDevice.objects.create(user=colleague, name="phone", confirmed=True)
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("accounts:member_two_factor_reset", args=[clinic.uuid])).status_code == 404
    assert reset(client, clinic, "bob").status_code == 404
    assert TOTPDevice.objects.count() == 1


def test_it_makes_the_lead_confirm_with_their_password_and_refuses_to_reset_an_admin(
    client, lead, colleague, clinic, devices
):
    client.force_login(lead)
    assert reset(client, clinic, "bob", password="wrong").context["form"].errors["password"]
    colleague.is_staff = True
    colleague.save()
    assert reset(client, clinic, "bob").context["form"].errors["member"]
    assert TOTPDevice.objects.count() == 2
