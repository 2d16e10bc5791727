"""The load-test seed: deterministic, fast, and plans that obey the engine."""

from datetime import date

import pytest
from django.core.management import CommandError, call_command

from trialplanner.ops.seed import seed_load
from trialplanner.plans.models import FollowUp, Plan, Step, Visit

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 25)


def snapshot():
    return (
        list(Plan.objects.order_by("patient__mrn").values_list("patient__mrn", "indication__slug", "start_date")),
        list(Step.objects.order_by("plan__patient__mrn", "number").values_list("dose_mg", "start_date")),
        Visit.objects.count(),
    )


def test_it_seeds_deterministically(catalog):
    counts = seed_load(30, seed=7, today=TODAY)
    assert counts["patients"] == counts["plans"] == 30
    assert counts["steps"] == Step.objects.count() and counts["followups"] == FollowUp.objects.count()
    first = snapshot()
    Visit.objects.all().delete()
    FollowUp.objects.all().delete()
    Step.objects.all().delete()
    Plan.objects.all().delete()
    from trialplanner.patients.models import Patient, RiskProfile

    RiskProfile.objects.all().delete()
    Patient.objects.filter(clinic__name="Load Test Clinic").delete()
    seed_load(30, seed=7, today=TODAY)
    assert snapshot() == first


def test_it_keeps_seeded_plans_within_their_protocols(catalog):
    seed_load(40, today=TODAY)
    for plan in Plan.objects.select_related("indication__protocol").prefetch_related("steps"):
        doses = [s.dose_mg for s in plan.steps.all()]
        assert max(doses) <= plan.indication.protocol.ceiling_mg
        assert doses == sorted(doses)


def test_it_makes_the_command_check_its_input(catalog, capsys):
    with pytest.raises(CommandError, match="patients: must be at least 1"):
        call_command("seed_load", "--patients", "0")
    call_command("seed_load", "--patients", "5")
    assert "Seeded 5 patients" in capsys.readouterr().out
