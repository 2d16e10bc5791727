from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from trialplanner.ops.demo import DEMO_PASSWORD
from trialplanner.patients.models import Clinic, Membership, Patient
from trialplanner.plans.models import Plan

pytestmark = pytest.mark.django_db


def test_it_runs_seed_demo_idempotently_and_prints_the_login(capsys):
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
    assert first == second == (1, 2, 2, 7)
    out = capsys.readouterr().out
    assert "username: demo " in out and DEMO_PASSWORD in out
    user = get_user_model().objects.get(username="demo")
    assert user.check_password(DEMO_PASSWORD)
    bob = Patient.objects.get(mrn="DEMO-002")
    assert bob.risk_profiles.count() == 1
    assert {c.slug for c in bob.risk_profiles.get().conditions.all()} == {"prostate-enlargement", "diabetes"}
    assert [p.status for p in bob.plans.all()] == ["active"]
    assert bob.plans.get().acknowledgements.exists()
    assert Plan.objects.values("series").distinct().count() == 6


def test_it_gives_the_demo_outcome_history():
    """A responder, a non-responder and a stop for side effects, so the chart and the review show them."""
    from trialplanner.outcomes.review import clinic_review
    from trialplanner.outcomes.trajectory import trajectory

    call_command("seed_demo")
    clinic = Clinic.objects.get()

    def latest(mrn):
        return Plan.objects.filter(patient__mrn=mrn).order_by("-version").first()

    assert "from baseline: response" in trajectory(latest("DEMO-005")).status
    assert "not yet a response" in trajectory(latest("DEMO-006")).status
    assert latest("DEMO-007").previous.stop_reason == "side_effect"
    today = timezone.localdate()
    review = clinic_review(clinic=clinic, indication=None, start=today - timedelta(days=365), end=today, today=today)
    figures = {f.key: (f.count, f.denominator) for f in [*review.figures, *review.stops]}
    assert figures["responded"] == (1, 2) and figures["stop_side_effect"][0] == 1
