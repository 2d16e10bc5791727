"""Visits as clinical records: findings (reference A.3), checks on file, safer decisions at once,
and prescribable quantities per dispensing interval."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from tests.plans.conftest import START
from trialplanner.engine import EngineInputError, PlanBlocked
from trialplanner.plans import selectors, services
from trialplanner.plans.models import FollowUp, Plan, Visit

pytestmark = pytest.mark.django_db
D = Decimal


def activate(plan, user):
    services.plan_activate(
        plan=plan,
        user=user,
        lock_version=plan.lock_version,
        reasons={c.code: "Discussed and agreed" for c in _warnings(plan)},
    )
    plan.refresh_from_db()
    return plan


def _warnings(plan):
    return selectors.current_assessment(plan).warning_cards


def record(followup, user, decision, day, **fields):
    values = {"visit_date": day, "decision": decision, "mood": "usual", "self_harm_thoughts": False}
    values.update(fields)
    return services.followup_record_visit(followup=followup, user=user, **values)


@pytest.fixture
def older_plan(patient, indication, clinician, with_profile):
    """A 66-year-old: a baseline visit asks for an ECG, sodium and lying/standing blood pressure."""
    with_profile(patient)
    plan = services.plan_create(patient=patient, indication=indication, user=clinician, start_date=START)
    return activate(plan, clinician)


BASELINE_VALUES = {"qtc_ms": 430, "sodium": 139, "bp_lying_systolic": 135, "bp_lying_diastolic": 80,
                   "bp_standing_systolic": 130, "bp_standing_diastolic": 78}  # fmt: skip


def test_it_closes_the_baseline_visit_on_recording_it_and_does_not_recreate_it(older_plan, clinician, patient):
    baseline = older_plan.followups.get(kind="baseline")
    assert {"baseline-ecg", "sodium", "lying-standing-bp"} <= set(baseline.assess)
    visit, new = record(baseline, clinician, "continue", START, **BASELINE_VALUES)
    baseline.refresh_from_db()
    assert baseline.status == "done" and visit.followup == baseline
    assert new.status == "active" and not new.followups.filter(kind="baseline").exists()
    assert not FollowUp.objects.filter(plan__patient=patient, worklist_date=START).exists()  # leaves "Due today"
    profile = patient.risk_profiles.first()
    assert (profile.qtc_ms, profile.ecg_date, profile.sodium, profile.bloods_date, profile.bp_date) == (
        430,
        START,
        139,
        START,
        START,
    )
    # Re-planning again a week later does not ask for the checks either: they are on file.
    review = new.followups.filter(status="due").first()
    _, third = record(review, clinician, "hold", START + timedelta(days=7))
    assert not third.followups.filter(kind="baseline").exists()
    assert not {"baseline-ecg", "sodium", "lying-standing-bp"} & set(third.followups.first().assess)


def test_it_joins_checks_not_recorded_to_the_next_review_instead_of_a_same_day_visit(older_plan, clinician):
    baseline = older_plan.followups.get(kind="baseline")
    _, new = record(baseline, clinician, "continue", START)
    assert not new.followups.filter(due_date=START).exists()
    first = new.followups.first()
    assert first.due_date > START and {"baseline-ecg", "sodium", "lying-standing-bp"} <= set(first.assess)


def test_it_expires_checks_on_file_after_their_validity_days(patient, indication, clinician, with_profile):
    with_profile(patient, qtc_ms=420, ecg_date=START - timedelta(days=90))
    assert (
        "baseline-ecg"
        not in services.plan_create(patient=patient, indication=indication, user=clinician, start_date=START)
        .followups.get(kind="baseline")
        .assess
    )
    with_profile(patient, qtc_ms=420, ecg_date=START - timedelta(days=91))
    plan = services.plan_create(patient=patient, indication=indication, user=clinician, start_date=START)
    assert "baseline-ecg" in plan.followups.get(kind="baseline").assess


def test_it_does_not_ask_for_a_new_baseline_ecg_when_a_qtc_is_supplied_on_the_profile(
    young_patient, indication, clinician, with_profile
):
    young_patient.date_of_birth = date(1970, 1, 1)  # over 40: a baseline ECG is indicated
    young_patient.save()
    with_profile(young_patient)
    first = services.plan_create(patient=young_patient, indication=indication, user=clinician, start_date=START)
    assert first.followups.get(kind="baseline").assess[0] == "baseline-ecg"
    with_profile(young_patient, qtc_ms=420, ecg_date=START - timedelta(days=3))
    plan = services.plan_create(patient=young_patient, indication=indication, user=clinician, start_date=START)
    assert not plan.followups.filter(kind="baseline").exists()


@pytest.mark.parametrize("decision", ["hold", "step_down", "stop"])
def test_it_lets_a_safer_decision_take_effect_at_once_despite_a_new_warning(
    active, clinician, young_patient, with_profile, decision
):
    with_profile(young_patient, "epilepsy")  # a new warning with no reason yet
    followup = active.followups.filter(status="due").first()
    _, new = record(followup, clinician, decision, START + timedelta(days=15))
    active.refresh_from_db()
    assert new.status == "active" and active.status in ("revised", "stopped")


def test_it_makes_a_rise_wait_for_the_new_warnings_reason(active, clinician, young_patient, with_profile):
    with_profile(young_patient, "epilepsy")
    followup = active.followups.filter(status="due").first()
    _, new = record(followup, clinician, "step_up", START + timedelta(days=15))
    active.refresh_from_db()
    assert (new.status, active.status) == ("draft", "active")


def test_it_holds_and_books_the_repeat_ecg_before_any_rise_on_a_qtc_warning(active, clinician):
    followup = active.followups.filter(status="due").first()
    day = START + timedelta(days=15)
    with pytest.raises(services.DecisionRefused) as exc:
        record(followup, clinician, "step_up", day, qtc_ms=480)
    assert exc.value.fields == ("qtc_ms",)
    _, held = record(followup, clinician, "hold", day, qtc_ms=480)
    assert [s.dose_mg for s in held.steps.all()] == [30]
    assert "repeat-ecg-before-rise" in held.followups.first().assess
    # The next review without a new ECG: no rise (the QTc on file still holds the dose).
    with pytest.raises(EngineInputError, match="no rise"):
        record(held.followups.first(), clinician, "step_up", day + timedelta(days=14))
    _, again = record(held.followups.first(), clinician, "continue", day + timedelta(days=14))
    assert [s.dose_mg for s in again.steps.all()] == [30]
    # A repeat ECG below the threshold allows the rise.
    _, rising = record(again.followups.first(), clinician, "step_up", day + timedelta(days=28), qtc_ms=440)
    assert [s.dose_mg for s in rising.steps.all()] == [40] and rising.status == "active"


def test_it_turns_findings_into_a_new_risk_profile_version(active, clinician, young_patient):
    followup = active.followups.filter(status="due").first()
    day = START + timedelta(days=15)
    record(
        followup,
        clinician,
        "step_down",
        day,
        fall=True,
        urinary_retention=True,
        self_harm_thoughts=True,
        potassium=D("3.2"),
        magnesium=D("0.8"),
        weight_kg=D("60.5"),
    )
    profile = young_patient.risk_profiles.first()
    assert (profile.version, profile.falls, profile.self_harm_last_12_months) == (2, True, True)
    assert (profile.potassium, profile.magnesium, profile.weight_kg, profile.bloods_date) == (
        D("3.2"),
        D("0.8"),
        D("60.5"),
        day,
    )
    assert "urinary-retention" in [c.slug for c in profile.conditions.all()]
    visit = Visit.objects.get()
    codes = [f["code"] for f in visit.findings]
    assert codes == ["visit-anticholinergic-harm", "visit-self-harm-thoughts", "visit-low-potassium-magnesium"]


def test_it_counts_days_and_total_mg_in_the_self_harm_supply_limit(active, clinician, young_patient):
    followup = active.followups.filter(status="due").first()
    _, new = record(followup, clinician, "hold", START + timedelta(days=15), self_harm_thoughts=True, weight_kg=D("40"))
    assert (new.supply_limit_days, new.supply_limit_mg) == (14, D(200))  # 5 mg/kg x 40 kg, below 250 mg
    rows = selectors.dose_rows_from_steps(new.steps.all(), selectors.supply_terms(new))
    # 30 mg a night: 200 mg allows 6 nights a supply (180 mg), fewer than the 14-day limit.
    assert rows[0]["supply"].startswith("60 supplies of 18 × 10 mg (6 nights each)")
    same_day = new.followups.get(due_date=START + timedelta(days=15))
    assert same_day.kind == "recheck" and same_day.assess == ["mental-health-assessment"]


def test_it_makes_quantities_follow_the_clinics_dispensing_interval(active, clinic):
    rows = selectors.dose_rows_from_steps(active.steps.all(), selectors.supply_terms(active))
    assert rows[0]["supply"] == "7 × 10 mg (7 nights)"
    assert rows[0]["directions"] == "Take 1 x 10 mg tablet (10 mg) at night for 7 nights"
    assert rows[-1]["supply"] == "12 supplies of 28 × 50 mg (28 nights each), then 1 × 50 mg (1 night)"
    clinic.dispensing_interval_days = 30
    clinic.save()
    active.refresh_from_db()
    rows = selectors.dose_rows_from_steps(active.steps.all(), selectors.supply_terms(active))
    assert rows[-1]["supply"] == "11 supplies of 30 × 50 mg (30 nights each), then 7 × 50 mg (7 nights)"
    assert selectors.directions(rows).startswith(
        "Take 1 x 10 mg tablet (10 mg) at night for 7 nights, then take 2 x 10 mg tablets (20 mg) at night"
    )


def test_it_shows_the_directions_on_the_plan_page_and_handout(client, clinician, active):
    client.force_login(clinician)
    page = client.get(active.get_absolute_url()).content.decode()
    assert "Take 2 x 10 mg tablets (20 mg) at night for 7 nights" in page
    assert "then take 1 x 50 mg tablet (50 mg) at night" in page
    handout = client.get(reverse("handouts:handout", args=[active.uuid])).content.decode()
    assert "Take 2 x 10 mg tablets (20 mg) at night for 7 nights" in handout


def test_it_names_the_field_of_a_visit_form_refusal_next_to_it_and_in_the_summary(client, clinician, active):
    followup = active.followups.filter(status="due").first()
    url = reverse("plans:followup_visit", args=[followup.uuid])
    data = {"visit_date": (START + timedelta(days=15)).isoformat(), "adherence": "all", "mood": "usual",
            "self_harm_thoughts": "no", "decision": "hold", "qtc_ms": "505"}  # fmt: skip
    with time_machine.travel(date(2026, 12, 20)):
        client.force_login(clinician)
        response = client.post(url, {**data, "decision": "continue"})
        assert response.status_code == 200
        form = response.context["form"]
        assert form.errors["qtc_ms"] == form.errors["decision"] and "QTc 505 ms" in form.errors["decision"][0]
        body = response.content.decode()
        assert "data-error-summary" in body and 'href="#id_qtc_ms"' in body
        assert Plan.objects.count() == 1 and not Visit.objects.exists()
        response = client.post(url, data)  # hold is allowed at once
    new = Plan.objects.get(version=2)
    assert response["Location"] == new.get_absolute_url() and new.status == "active"


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"self_harm_thoughts": ""}, "self_harm_thoughts", "Ask about thoughts of self-harm"),
        ({"sodium": "1400"}, "sodium", "Enter a sodium between 100 and 200."),
        ({"potassium": "45"}, "potassium", "Enter a potassium between 1.0 and 10.0."),
        ({"bp_lying_systolic": "120"}, "bp_lying_diastolic", "Enter both the systolic and the diastolic value."),
        ({"bp_lying_systolic": "120", "bp_lying_diastolic": "80"}, "bp_standing_systolic", "Enter the lying and"),
        ({"ecg_date": "2026-12-10"}, "qtc_ms", "Enter the QTc from this ECG"),
        ({"weight_kg": "5"}, "weight_kg", "Enter a weight in kg between 20 and 350."),
    ],
)
def test_it_range_checks_findings_with_clear_messages(client, clinician, active, overrides, field, message):
    followup = active.followups.filter(status="due").first()
    data = {"visit_date": (START + timedelta(days=15)).isoformat(), "adherence": "all", "mood": "usual",
            "self_harm_thoughts": "no", "decision": "hold"}  # fmt: skip
    data.update(overrides)
    with time_machine.travel(date(2026, 12, 20)):
        client.force_login(clinician)
        response = client.post(reverse("plans:followup_visit", args=[followup.uuid]), data)
    assert response.status_code == 200
    assert response.context["form"].errors[field][0].startswith(message)
    assert not Visit.objects.exists()


def test_it_lets_sodium_on_the_profile_reach_the_engine(young_patient, indication, clinician, with_profile):
    with_profile(young_patient, sodium=124, bloods_date=START)
    with pytest.raises(PlanBlocked) as exc:
        services.plan_create(patient=young_patient, indication=indication, user=clinician, start_date=START)
    assert [c.code for c in exc.value.cards] == ["baseline-sodium-critical"]
    with_profile(young_patient, sodium=128, bloods_date=START)
    plan = services.plan_create(patient=young_patient, indication=indication, user=clinician, start_date=START)
    assert "baseline-sodium-low" in [c["code"] for c in plan.cards]
    assert [s.dose_mg for s in plan.steps.all()] == [10]  # held at the start dose until reviewed
    # The card says "recheck within a week": the plan holds a dated recheck within a week (reference A.4).
    recheck = [f for f in plan.followups.all() if "sodium-recheck" in f.assess]
    assert recheck and (recheck[0].due_date - START).days <= 7


def test_it_holds_the_start_for_orthostatic_hypotension_on_the_profile(
    young_patient, indication, clinician, with_profile
):
    with_profile(
        young_patient,
        bp_lying_systolic=140,
        bp_lying_diastolic=85,
        bp_standing_systolic=115,
        bp_standing_diastolic=80,
        bp_date=START,
    )
    plan = services.plan_create(patient=young_patient, indication=indication, user=clinician, start_date=START)
    assert "visit-orthostatic-hypotension" in [c["code"] for c in plan.cards]
    assert [s.dose_mg for s in plan.steps.all()] == [10]
