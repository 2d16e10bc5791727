"""A recorded reason answers one finding: the same card code and the same subjects."""

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.plans.conftest import START
from trialplanner.plans import services
from trialplanner.plans.models import Acknowledgement, finding_key

pytestmark = pytest.mark.django_db
VISIT_DAY = START + timedelta(days=15)


@pytest.fixture
def on_sertraline(young_patient, indication, clinician, with_profile):
    """An active plan whose one warning (serotonergic: sertraline) was acknowledged."""
    with_profile(young_patient, medications=["sertraline"])
    plan = services.plan_create(
        patient=young_patient, indication=indication, user=clinician, start_date=START, tablet_strength_mg=Decimal(10)
    )
    services.plan_activate(
        plan=plan,
        user=clinician,
        lock_version=plan.lock_version,
        reasons={"serotonergic-drug": "Low dose; warned about serotonin symptoms."},
    )
    plan.refresh_from_db()
    return plan


def step_up(plan, user):
    followup = plan.followups.filter(status="due").first()
    return services.followup_record_visit(
        followup=followup,
        user=user,
        visit_date=VISIT_DAY,
        outcome_score=None,
        side_effects=[],
        side_effects_other="",
        adherence="all",
        qtc_ms=None,
        decision="step_up",
        notes="",
    )


def test_it_records_the_subjects_of_the_finding(on_sertraline):
    ack = on_sertraline.acknowledgements.get()
    assert (ack.card_code, ack.subjects) == ("serotonergic-drug", ["Sertraline"])


def test_it_carries_a_reason_over_to_the_same_finding(on_sertraline, clinician, young_patient, with_profile):
    with_profile(young_patient, medications=["sertraline"])  # a new profile version, same medicines
    _, new = step_up(on_sertraline, clinician)
    assert new.status == "active"
    carried = new.acknowledgements.get()
    assert (carried.card_code, carried.subjects, carried.reason) == (
        "serotonergic-drug",
        ["Sertraline"],
        "Low dose; warned about serotonin symptoms.",
    )


@pytest.mark.parametrize("medications", [["sertraline", "venlafaxine"], ["venlafaxine"]])
def test_it_asks_again_when_the_subjects_change(on_sertraline, clinician, young_patient, with_profile, medications):
    with_profile(young_patient, medications=medications)
    _, new = step_up(on_sertraline, clinician)
    on_sertraline.refresh_from_db()
    # Same card code, different medicines: the old reason does not answer it.
    assert (new.status, on_sertraline.status) == ("draft", "active")
    assert not new.acknowledgements.exists()
    assert Acknowledgement.objects.count() == 1


def test_it_compares_subjects_in_any_order():
    assert finding_key("serotonergic-drug", ["b", "a"]) == finding_key("serotonergic-drug", ("a", "b"))
    assert finding_key("serotonergic-drug", ["a"]) != finding_key("serotonergic-drug", ["a", "b"])
    assert finding_key("serotonergic-drug", ["a"]) != finding_key("qt-drug", ["a"])
