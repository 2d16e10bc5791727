"""Plan services: create, activate, revise, stop, entered in error; locking and atomicity."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.plans.conftest import START
from trialplanner.catalog.models import Rule
from trialplanner.engine import EngineInputError, PlanBlocked
from trialplanner.plans import services
from trialplanner.plans.models import Acknowledgement, FollowUp, Plan, Step

pytestmark = pytest.mark.django_db


def create(patient, indication, user, **options):
    return services.plan_create(patient=patient, indication=indication, user=user, start_date=START, **options)


def test_it_saves_a_draft_with_steps_and_followups(young_patient, indication, clinician, with_profile):
    with_profile(young_patient)
    plan = create(young_patient, indication, clinician, tablet_strength_mg=Decimal(10))
    assert (plan.status, plan.version, plan.kind) == ("draft", 1, "titration")
    assert [s.dose_mg for s in plan.steps.all()] == [10, 20, 30, 40, 50]
    assert plan.steps.first().tablets == [{"strength_mg": "10", "count": 1}]
    assert plan.followups.first().kind == "first-review"
    assert plan.engine_input["profile"]["age"] == 35
    assert plan.protocol_snapshot["ceiling_mg"] == "75"


def test_it_gives_a_blocked_patient_no_plan(young_patient, indication, clinician, with_profile):
    with_profile(young_patient, "recent-mi")
    with pytest.raises(PlanBlocked):
        create(young_patient, indication, clinician)
    assert not Plan.objects.exists()


def test_it_refuses_a_target_above_the_ceiling(young_patient, indication, clinician, with_profile):
    with_profile(young_patient)
    with pytest.raises(EngineInputError):
        create(young_patient, indication, clinician, target_mg=Decimal(100))
    assert not Plan.objects.exists()


def test_it_needs_a_reason_for_each_warning_on_activation(patient, indication, clinician, with_profile):
    with_profile(patient, medications=["sertraline"])  # age 66 and an SSRI: two warnings
    plan = create(patient, indication, clinician)
    with pytest.raises(services.AcknowledgementRequired) as exc:
        services.plan_activate(plan=plan, user=clinician, lock_version=plan.lock_version, reasons={"older-age": "ok"})
    assert [c.code for c in exc.value.cards] == ["serotonergic-drug"]
    plan.refresh_from_db()
    assert plan.status == "draft" and not Acknowledgement.objects.exists()
    reasons = {"older-age": "Discussed; patient prefers it.", "serotonergic-drug": "Low dose; advised on symptoms."}
    services.plan_activate(plan=plan, user=clinician, lock_version=plan.lock_version, reasons=reasons)
    plan.refresh_from_db()
    assert plan.status == "active" and plan.activated_by == clinician
    assert set(plan.acknowledgements.values_list("card_code", flat=True)) == set(reasons)


def test_it_refuses_activation_while_a_critical_card_stands(young_patient, indication, clinician, with_profile):
    with_profile(young_patient, "diabetes")
    plan = create(young_patient, indication, clinician)
    # A clinical lead raises the diabetes rule to critical in the catalog after the draft was made.
    Rule.objects.filter(code="diabetes").update(indicator="critical")
    with pytest.raises(PlanBlocked):
        services.plan_activate(plan=plan, user=clinician, lock_version=plan.lock_version, reasons={})
    plan.refresh_from_db()
    assert plan.status == "draft"


def test_it_refuses_activation_after_the_risk_profile_changed(young_patient, indication, clinician, with_profile):
    with_profile(young_patient)
    plan = create(young_patient, indication, clinician)
    with_profile(young_patient, "epilepsy")
    with pytest.raises(services.PlanError, match="risk profile changed"):
        services.plan_activate(plan=plan, user=clinician, lock_version=plan.lock_version, reasons={})


def activate(plan, user):
    services.plan_activate(plan=plan, user=user, lock_version=plan.lock_version, reasons={})
    plan.refresh_from_db()
    return plan


def test_it_makes_a_new_version_on_revision_and_keeps_the_old(
    young_patient, indication, clinician, colleague, with_profile
):
    with_profile(young_patient)
    first = activate(create(young_patient, indication, clinician), clinician)
    second = services.plan_revise(
        plan=first, user=colleague, lock_version=first.lock_version, start_date=START, target_mg=Decimal(30)
    )
    first.refresh_from_db()
    assert (second.version, second.status, second.series, second.previous) == (2, "draft", first.series, first)
    assert first.status == "active"  # until the new version is activated
    assert [s.dose_mg for s in second.steps.all()] == [10, 20, 30]
    activate(second, colleague)
    first.refresh_from_db()
    assert first.status == "revised"
    assert [s.dose_mg for s in first.steps.all()] == [10, 20, 30, 40, 50]
    assert not first.followups.filter(status="due").exists()


def test_it_treats_a_concurrent_edit_as_a_conflict_and_overwrites_nothing(
    young_patient, indication, clinician, with_profile
):
    with_profile(young_patient)
    plan = create(young_patient, indication, clinician)
    shown_version = plan.lock_version
    services.plan_revise(plan=plan, user=clinician, lock_version=shown_version, start_date=START, target_mg=Decimal(40))
    with pytest.raises(services.PlanConflict, match="Someone else changed this plan"):
        services.plan_mark_entered_in_error(plan=plan, user=clinician, lock_version=shown_version, reason="dup")
    plan.refresh_from_db()
    assert plan.status == "revised"
    assert Plan.objects.count() == 2


def test_it_leaves_no_partial_plan_after_a_failure_mid_save(
    young_patient, indication, clinician, with_profile, monkeypatch
):
    with_profile(young_patient)

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(FollowUp.objects, "bulk_create", explode)
    with pytest.raises(RuntimeError):
        create(young_patient, indication, clinician)
    assert not Plan.objects.exists() and not Step.objects.exists()


def test_it_tapers_from_one_step_below_the_current_dose_on_stopping(young_patient, indication, clinician, with_profile):
    with_profile(young_patient)
    plan = activate(create(young_patient, indication, clinician), clinician)
    stop_day = START + timedelta(days=15)  # third week: 30 mg
    taper = services.plan_stop(
        plan=plan, user=clinician, lock_version=plan.lock_version, reason="Side effects", stop_date=stop_day
    )
    plan.refresh_from_db()
    assert plan.status == "stopped" and plan.end_reason == "Side effects"
    assert (taper.kind, taper.status, taper.series, taper.version) == ("taper", "active", plan.series, 2)
    assert [s.dose_mg for s in taper.steps.all()] == [20, 10, 5, 0]  # the first night of the taper is lower
    assert taper.steps.all()[0].start_date == stop_day
    assert taper.steps.all()[1].start_date == stop_day + timedelta(days=7)  # under 8 weeks: weekly
    assert not plan.followups.filter(status="due").exists()


def test_it_keeps_the_record_when_entered_in_error(young_patient, indication, clinician, with_profile):
    with_profile(young_patient)
    plan = activate(create(young_patient, indication, clinician), clinician)
    services.plan_mark_entered_in_error(
        plan=plan, user=clinician, lock_version=plan.lock_version, reason="Wrong patient"
    )
    plan.refresh_from_db()
    assert (plan.status, plan.end_reason, plan.ended_by) == ("entered_in_error", "Wrong patient", clinician)
    assert plan.steps.count() == 5
    assert set(plan.followups.values_list("status", flat=True)) == {"cancelled"}


def test_it_lets_only_one_version_of_a_series_be_active(young_patient, indication, clinician, with_profile):
    from django.db import IntegrityError, transaction

    with_profile(young_patient)
    plan = activate(create(young_patient, indication, clinician), clinician)
    second = services.plan_revise(plan=plan, user=clinician, lock_version=plan.lock_version, start_date=START)
    with pytest.raises(IntegrityError), transaction.atomic():
        Plan.objects.filter(pk=second.pk).update(status="active")


def test_it_matches_the_preview_to_the_saved_plan(young_patient, indication, clinician, with_profile):
    with_profile(young_patient, medications=["citalopram"])
    assessment, draft = services.plan_preview(patient=young_patient, indication=indication, start_date=START)
    plan = create(young_patient, indication, clinician)
    preview = services.draft_json(assessment, draft)
    saved_steps = [
        {"start": s.start_date.isoformat(), "end": s.end_date.isoformat(), "dose_mg": f"{s.dose_mg.normalize():f}",
         "tablets": s.tablets, "liquid_ml": None, "awaits": s.awaits}
        for s in plan.steps.all()
    ]  # fmt: skip
    assert preview["steps"] == saved_steps
    assert [f["due"] for f in preview["followups"]] == [f.due_date.isoformat() for f in plan.followups.all()]
    assert [c["code"] for c in preview["cards"]] == [c["code"] for c in plan.cards]
    assert date.fromisoformat(preview["steps"][0]["start"]) == START
