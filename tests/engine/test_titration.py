"""build_plan and build_taper: reference section A.1 (no database)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from trialplanner.engine import (
    EngineInputError,
    FollowUpKind,
    Form,
    Medication,
    PatientProfile,
    PlanBlocked,
    PlanOptions,
    StepKind,
    StrengthFacts,
    TabletCount,
    assess_risk,
    build_plan,
    build_taper,
    dispense,
)
from trialplanner.engine.types import Sex

START = date(2026, 12, 1)
D = Decimal
TEN = D(10)


@pytest.fixture
def plan(rulebook, indications, strengths):
    def run(indication="peripheral-neuropathic-pain", start=START, target=None, tablet=TEN, days=None,
            meds=(), conditions=(), **profile):  # fmt: skip
        profile.setdefault("age", 30)
        profile.setdefault("sex", Sex.FEMALE)
        person = PatientProfile(
            conditions=frozenset(conditions), medications=tuple(Medication(m) for m in meds), **profile
        )
        facts, protocol = indications[indication]
        assessment = assess_risk(person, facts, protocol, rulebook, start)
        options = PlanOptions(strengths=strengths, target_mg=target, tablet_strength_mg=tablet, days_per_step=days)
        return build_plan(protocol, assessment, start, options, rulebook)

    return run


def doses(draft):
    return [s.dose_mg for s in draft.steps]


def test_it_builds_the_standard_neuropathic_pain_plan(plan):
    draft = plan()
    assert doses(draft) == [10, 20, 30, 40, 50]
    assert [s.start for s in draft.steps] == [START + timedelta(days=7 * i) for i in range(5)]
    assert draft.steps[0].end == date(2026, 12, 7)
    assert draft.steps[0].tablets == (TabletCount(D(10), 1),)
    assert draft.steps[1].total_tablets() == (TabletCount(D(10), 14),)
    assert draft.steps[-1].kind == StepKind.TARGET
    assert draft.target_date == date(2026, 12, 29)
    assert draft.end_date == date(2027, 11, 30)
    kinds = [(f.kind, f.due) for f in draft.followups[:3]]
    assert kinds == [
        (FollowUpKind.FIRST_REVIEW, date(2026, 12, 29)),
        (FollowUpKind.RESPONSE, date(2027, 1, 26)),
        (FollowUpKind.PERIODIC, date(2027, 4, 26)),
    ]
    assert draft.adjustments == ()


def test_it_starts_an_older_patient_lower_and_goes_slower(plan):
    draft = plan(age=72)
    assert draft.days_per_step == 14
    assert draft.steps[1].start == START + timedelta(days=14)
    codes = {a.code: a.because for a in draft.adjustments}
    assert "older-age" in codes["step-interval"]
    assert draft.followups[0].kind == FollowUpKind.BASELINE  # ECG, sodium, lying/standing BP
    first = next(f for f in draft.followups if f.kind == FollowUpKind.FIRST_REVIEW)
    assert first.due == START + timedelta(days=14)
    assert "lying-standing-bp-review" in first.assess


def test_it_gives_a_frail_start_as_liquid_then_snaps_to_the_step_grid(plan):
    draft = plan(frail=True)
    assert doses(draft)[:3] == [5, 10, 20]
    first = draft.steps[0]
    assert first.tablets == () and first.liquid_ml == D("2.5")
    assert first.dispense.dose_mg == 5
    assert draft.adjustments[0].code == "start"
    assert "frailty-falls" in draft.adjustments[0].because


def test_it_ends_a_target_between_steps_with_a_smaller_rise(plan):
    assert doses(plan(indication="fibromyalgia")) == [10, 20, 25]
    assert plan(indication="fibromyalgia").steps[-1].tablets == (TabletCount(D(25), 1),)


def test_it_lets_the_fewest_tablets_win_over_the_chosen_strength(plan):
    draft = plan(target=D(50), tablet=D(25))
    assert draft.steps[-1].tablets == (TabletCount(D(50), 1),)  # not 2 x 25 mg
    assert draft.steps[0].tablets == (TabletCount(D(10), 1),)


def test_it_never_takes_ibs_past_its_30_mg_ceiling(plan):
    assert doses(plan(indication="irritable-bowel-syndrome")) == [10, 20, 30]
    with pytest.raises(EngineInputError) as exc:
        plan(indication="irritable-bowel-syndrome", target=D(40))
    assert exc.value.field == "target_mg"


def test_it_refuses_a_target_below_the_start(plan):
    with pytest.raises(EngineInputError, match="at least the start dose"):
        plan(target=D(5))


def test_it_blocks_on_a_critical_card_and_names_the_cards(plan):
    with pytest.raises(PlanBlocked) as exc:
        plan(conditions=["recent-mi"], meds=["phenelzine"])
    assert {c.code for c in exc.value.cards} == {"recent-mi", "maoi-washout"}
    assert "recent-mi" in str(exc.value)


def test_it_holds_at_the_start_dose_on_a_prolonged_qtc(plan):
    draft = plan(sex=Sex.MALE, qtc_ms=460)
    assert doses(draft) == [10]
    assert draft.steps[0].kind == StepKind.HOLD
    assert [a.code for a in draft.adjustments if a.code == "hold"] == ["hold"]


def test_it_repeats_a_baseline_ecg_at_target(plan):
    draft = plan(age=70, meds=["citalopram"])
    at_target = next(f for f in draft.followups if f.kind == FollowUpKind.AT_TARGET)
    assert at_target.due == draft.target_date
    assert "repeat-ecg-at-target" in at_target.assess
    assert draft.followups[0].kind == FollowUpKind.BASELINE
    assert "baseline-ecg" in draft.followups[0].assess


def test_it_repeats_the_ecg_at_the_first_review_when_a_target_is_reached_by_it(plan):
    draft = plan(meds=["citalopram"], sex=Sex.MALE)  # a QT tally of 6: no stacked card, 7 days per step
    first = next(f for f in draft.followups if f.kind == FollowUpKind.FIRST_REVIEW)
    assert first.due == draft.target_date
    assert "repeat-ecg-at-target" in first.assess
    assert FollowUpKind.AT_TARGET not in [f.kind for f in draft.followups]


def test_it_limits_the_supply_for_self_harm(plan):
    draft = plan(self_harm_last_12_months=True)
    assert draft.supply_limit_days == 14
    assert "supply-limit" in [a.code for a in draft.adjustments]


def test_it_lets_days_per_step_be_longer_but_not_shorter(plan):
    assert plan(days=21).steps[1].start == START + timedelta(days=21)
    with pytest.raises(EngineInputError) as exc:
        plan(days=5)
    assert exc.value.field == "days_per_step"


def test_it_judges_response_after_a_full_step_at_target(plan):
    draft = plan(indication="postherpetic-neuralgia", age=70, target=D(75))
    assert draft.target_date == START + timedelta(days=14 * 7)
    assert draft.response_date == draft.target_date + timedelta(days=14)


@pytest.mark.parametrize(
    "dose, expected",
    [
        (D(10), ((10, 1),)),
        (D(20), ((10, 2),)),
        (D(25), ((25, 1),)),
        (D(35), ((25, 1), (10, 1))),
        (D(50), ((50, 1),)),
        (D(60), ((10, 6),)),
        (D(75), ((25, 3),)),
    ],
)
def test_it_gives_doses_as_whole_tablets(strengths, dose, expected):
    result = dispense(dose, strengths, preferred_mg=D(10) if dose <= 30 else None)
    assert tuple((t.strength_mg, t.count) for t in result.tablets) == expected
    assert result.dose_mg == dose


def test_it_treats_a_dose_without_liquid_or_tablets_as_an_error():
    with pytest.raises(EngineInputError):
        dispense(D(5), (StrengthFacts(Form.TABLET, D(10)),))


def test_it_tapers_a_long_course_every_14_days_to_zero_from_one_step_below(rulebook, strengths):
    draft = build_taper(D(30), 12, START, rulebook, strengths)
    assert doses(draft) == [20, 10, 5, 0]
    assert [s.start for s in draft.steps] == [START + timedelta(days=14 * i) for i in range(4)]
    assert draft.steps[2].liquid_ml == D("2.5")
    assert draft.steps[-1].kind == StepKind.STOP
    assert draft.followups[0].due == draft.steps[-1].start


def test_it_tapers_a_short_course_weekly(rulebook, strengths):
    draft = build_taper(D(25), 4, START, rulebook, strengths)
    assert doses(draft) == [20, 10, 5, 0]
    assert draft.steps[1].start == START + timedelta(days=7)


def test_it_stops_the_taper_from_10_mg_without_liquid(rulebook):
    draft = build_taper(D(20), 20, START, rulebook, (StrengthFacts(Form.TABLET, D(10)),))
    assert doses(draft) == [10, 0]


def test_it_stops_at_once_on_a_taper_from_the_last_step(rulebook, strengths):
    draft = build_taper(D(5), 20, START, rulebook, strengths)
    assert doses(draft) == [0] and draft.steps[0].start == START


@pytest.mark.parametrize(
    "dose, expected",
    [(D(40), ((10, 4),)), (D(50), ((50, 1),)), (D(70), ((10, 7),)), (D(30), ((10, 3),)), (D(35), ((25, 1), (10, 1)))],
)
def test_it_makes_each_step_one_strength_in_the_fewest_whole_tablets(strengths, dose, expected):
    # Reference A.1: one strength, the fewest whole tablets of it; two strengths only when no
    # single strength makes the dose; whatever strength the clinician prefers.
    for preferred in (None, D(10), D(25), D(50)):
        result = dispense(dose, strengths, preferred, D(10))
        assert tuple((t.strength_mg, t.count) for t in result.tablets) == expected


def test_it_uses_liquid_only_below_10_mg(strengths):
    assert dispense(D(5), strengths, None, D(10)).liquid_ml == D("2.5")
    with pytest.raises(EngineInputError) as exc:
        dispense(D(15), strengths, None, D(10))  # no whole tablets make it, and 15 mg is not below 10
    assert exc.value.field == "strength_mg"


def test_it_refuses_targets_off_the_dose_grid_naming_the_allowed_ones(plan):
    with pytest.raises(EngineInputError) as exc:
        plan(target=D(47))
    assert exc.value.field == "target_mg"
    assert "10, 20, 30, 40, 50, 60, 70, 75 mg" in exc.value.message


def test_it_refuses_inactive_strengths(plan):
    with pytest.raises(EngineInputError) as exc:
        plan(tablet=D(75))
    assert exc.value.field == "strength_mg" and "10 mg, 25 mg, 50 mg" in exc.value.message
