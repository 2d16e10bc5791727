"""A recorded reason answers one finding: the same card code and the same subjects."""

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.plans.conftest import START
from trialplanner.engine.types import card_key
from trialplanner.patients import selectors as patient_selectors
from trialplanner.plans import selectors, services
from trialplanner.plans.models import Acknowledgement

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
    assert card_key("serotonergic-drug", ["b", "a"]) == card_key("serotonergic-drug", ("a", "b"))
    assert card_key("serotonergic-drug", ["a"]) != card_key("serotonergic-drug", ["a", "b"])
    assert card_key("serotonergic-drug", ["a"]) != card_key("qt-drug", ["a"])


def test_a_reason_follows_the_finding_past_a_birthday(patient, indication, clinician, with_profile):
    """The older-age card's identity is "age 65 or over", not the age shown: a year on it is the same finding."""
    with_profile(patient)
    plan = services.plan_create(patient=patient, indication=indication, user=clinician, start_date=START)
    reasons = {c.code: services.CardReason("Discussed.") for c in selectors.current_assessment(plan).warning_cards}
    services.plan_activate(plan=plan, user=clinician, lock_version=plan.lock_version, reasons=reasons)
    saved = Acknowledgement.objects.get(plan=plan, card_code="older-age")
    profile = patient_selectors.current_profile(patient)
    later = patient_selectors.assess(patient, profile, indication, START + timedelta(days=366))
    card = next(c for c in later.warning_cards if c.code == "older-age")
    assert card.subjects != tuple(saved.subjects)  # the age shown moved on
    assert card.key == saved.card_key == saved.finding
