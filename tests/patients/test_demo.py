import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from trialplanner.patients.demo import DEMO_PASSWORD
from trialplanner.patients.models import Clinic, Membership, Patient
from trialplanner.plans.models import Plan

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_prints_the_login(capsys):
    call_command("seed_demo")
    first = (
        Clinic.objects.count(),
        get_user_model().objects.count(),
        Membership.objects.count(),
        Patient.objects.count(),
    )
    call_command("seed_demo")
    second = (
        Clinic.objects.count(),
        get_user_model().objects.count(),
        Membership.objects.count(),
        Patient.objects.count(),
    )
    assert first == second == (1, 2, 2, 4)
    out = capsys.readouterr().out
    assert "username: demo " in out and DEMO_PASSWORD in out
    user = get_user_model().objects.get(username="demo")
    assert user.check_password(DEMO_PASSWORD)
    bob = Patient.objects.get(mrn="DEMO-002")
    assert bob.risk_profiles.count() == 1
    assert {c.slug for c in bob.risk_profiles.get().conditions.all()} == {"prostate-enlargement", "diabetes"}
    assert [p.status for p in bob.plans.all()] == ["active"]
    assert bob.plans.get().acknowledgements.exists()
    assert Plan.objects.count() == 3
