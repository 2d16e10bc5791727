"""Password change and reset by e-mail: audited, no user enumeration, expiring tokens, two-factor kept."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.conftest import password_login
from tests.conftest import PASSWORD
from trialplanner.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-brand-new-long-passphrase"


def security_details(user):
    return list(AuditEvent.objects.filter(action="security", user=user).order_by("id").values_list("detail", flat=True))


def reset_link():
    body = mail.outbox[-1].body
    return re.search(r"https?://[^/\s]+(/account/password/reset/[^\s]+/)", body).group(1)


def test_it_answers_the_same_on_the_reset_page_for_known_and_unknown_addresses(client, clinician):
    known = client.post(reverse("accounts:password_reset"), {"email": clinician.email})
    unknown = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("accounts:password_reset_done")
    assert [m.to for m in mail.outbox] == [[clinician.email]]
    assert security_details(clinician) == ["password reset e-mail sent"]


def test_it_sets_the_password_on_a_reset_but_two_factor_still_applies(client, clinician, device, settings):
    settings.REQUIRE_2FA = True
    client.post(reverse("accounts:password_reset"), {"email": clinician.email})
    link = client.get(reset_link(), follow=True)
    form_url = link.redirect_chain[-1][0]
    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == reverse("accounts:password_reset_complete")
    assert TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()
    other = Client()
    password_login(other, password=NEW_PASSWORD)
    response = other.get(reverse("patients:patient_list"))
    assert response["Location"].startswith(reverse("accounts:two_factor_verify"))  # not signed in past it
    assert security_details(clinician)[-2:] == ["password reset by e-mail link", "logged in with password"]
    assert "password was reset" in mail.outbox[-1].subject


def test_it_makes_reset_links_work_once_and_expire_after_an_hour(client, clinician):
    client.post(reverse("accounts:password_reset"), {"email": clinician.email})
    link = reset_link()
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        expired = Client().get(link, follow=True)
    assert "no longer works" in expired.content.decode()
    first = client.get(link, follow=True)
    form_url = first.redirect_chain[-1][0]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert "no longer works" in Client().get(link, follow=True).content.decode()


def test_it_needs_the_old_password_for_changing_it_and_audits_the_change(client, clinician):
    password_login(client)
    url = reverse("accounts:password_change")
    wrong = client.post(url, {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert wrong.status_code == 200 and wrong.context["form"].errors["old_password"]
    ok = client.post(url, {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert ok["Location"] == reverse("accounts:account")
    clinician.refresh_from_db()
    assert clinician.check_password(NEW_PASSWORD)
    assert security_details(clinician)[-1] == "password changed"
    assert mail.outbox[-1].to == [clinician.email] and "password was changed" in mail.outbox[-1].subject


def test_it_needs_a_verified_session_for_changing_the_password(client, clinician, device):
    password_login(client)
    data = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    response = client.post(reverse("accounts:password_change"), data)
    assert response["Location"].startswith(reverse("accounts:two_factor_verify"))
    clinician.refresh_from_db()
    assert clinician.check_password(PASSWORD)
