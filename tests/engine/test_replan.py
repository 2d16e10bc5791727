"""Re-planning from a visit decision, and judging response (no database)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from trialplanner.engine import (
    Decision,
    EngineInputError,
    MeasureFacts,
    PatientProfile,
    PlanBlocked,
    PlanOptions,
    StepKind,
    assess_risk,
    judge_response,
    replan,
)
from trialplanner.engine.types import Sex

VISIT = date(2027, 1, 5)
D = Decimal
FIFTY = D(50)


@pytest.fixture
def decide(rulebook, indications, strengths):
    def run(decision, current, target=FIFTY, indication="peripheral-neuropathic-pain", weeks=5, judged=False,
            course_start=None, **profile):  # fmt: skip
        profile.setdefault("age", 40)
        facts, protocol = indications[indication]
        assessment = assess_risk(PatientProfile(sex=Sex.MALE, **profile), facts, protocol, rulebook, VISIT)
        return replan(
            decision,
            current_mg=D(current),
            target_mg=target,
            protocol=protocol,
            assessment=assessment,
            on=VISIT,
            options=PlanOptions(strengths=strengths, tablet_strength_mg=D(10)),
            rules=rulebook,
            weeks_on_drug=weeks,
            response_judged=judged,
            course_start=course_start,
        )

    return run


def doses(draft):
    return [s.dose_mg for s in draft.steps]


def test_it_moves_one_step_on_step_up_then_continues_to_target(decide):
    draft = decide(Decision.STEP_UP, 20)
    assert doses(draft) == [30, 40, 50]
    assert draft.start_date == VISIT


def test_it_keeps_the_current_dose_and_titration_on_continue(decide):
    assert doses(decide(Decision.CONTINUE, 20)) == [20, 30, 40, 50]


def kinds(draft):
    return [f.kind.value for f in draft.followups]


def test_it_books_no_second_response_judgement_after_continuing_a_judged_response(decide):
    before = decide(Decision.CONTINUE, 50, weeks=8)
    assert "response" in kinds(before)  # not judged yet: the response visit is still to come
    after = decide(Decision.CONTINUE, 50, weeks=8, judged=True)
    assert doses(after) == [50]
    assert set(kinds(after)) == {"periodic"}  # judged: the dose goes on, reviewed periodically
    assert after.followups[0].due > VISIT


def test_it_counts_the_response_judgement_from_the_course_start_not_the_replan(decide, indications):
    _, protocol = indications["peripheral-neuropathic-pain"]
    started = VISIT - timedelta(days=7)
    draft = decide(Decision.CONTINUE, 50, course_start=started)
    [response] = [f for f in draft.followups if f.kind.value == "response"]
    assert response.due == started + timedelta(days=protocol.response_judgement_days)
    # Without the course start (a new course) it counts from the day the plan starts.
    [fresh] = [f for f in decide(Decision.CONTINUE, 50).followups if f.kind.value == "response"]
    assert fresh.due == VISIT + timedelta(days=protocol.response_judgement_days)


def test_it_judges_a_rise_late_in_a_course_no_sooner_than_its_review(decide, indications):
    _, protocol = indications["peripheral-neuropathic-pain"]
    draft = decide(Decision.STEP_UP, 50, target=D(60), course_start=VISIT - timedelta(days=120), judged=True)
    dates = {f.kind.value: f.due for f in draft.followups}
    assert dates["response"] >= VISIT + timedelta(days=protocol.first_review_days)
    assert all(f.due >= dates["response"] for f in draft.followups if f.kind.value == "first-review")


def test_it_reviews_a_hold_once_after_a_judged_response_then_periodically(decide):
    draft = decide(Decision.HOLD, 30, weeks=10, judged=True)
    assert kinds(draft)[0] == "first-review" and "response" not in kinds(draft)
    assert set(kinds(draft)[1:]) <= {"periodic"}


def test_it_judges_the_response_again_after_a_rise_even_when_judged_before(decide):
    draft = decide(Decision.STEP_UP, 30, weeks=10, judged=True)
    assert "response" in kinds(draft) and "first-review" in kinds(draft)


def test_it_stays_at_the_current_dose_on_hold(decide):
    draft = decide(Decision.HOLD, 30)
    assert doses(draft) == [30]
    assert draft.steps[0].kind == StepKind.HOLD


def test_it_goes_one_step_lower_and_holds_on_step_down(decide):
    assert doses(decide(Decision.STEP_DOWN, 30)) == [20]
    assert doses(decide(Decision.STEP_DOWN, 25)) == [20]
    assert doses(decide(Decision.STEP_DOWN, 10)) == [5]  # the frail start, as liquid
    with pytest.raises(EngineInputError) as exc:
        decide(Decision.STEP_DOWN, 5)
    assert exc.value.field == "decision"


def test_it_tapers_to_zero_on_stop_starting_one_step_below_the_current_dose(decide):
    draft = decide(Decision.STOP, 30, weeks=20)
    assert doses(draft) == [20, 10, 5, 0]
    assert draft.steps[0].start == VISIT  # the first night of the taper is already lower


def test_it_ends_the_course_that_day_on_stop_now(decide):
    draft = decide(Decision.STOP_NOW, 50)
    assert doses(draft) == [0]
    assert (draft.steps[0].start, draft.steps[0].kind, draft.end_date) == (VISIT, StepKind.STOP, VISIT)
    assert "without a taper" in draft.adjustments[0].text


@pytest.mark.parametrize("decision", [Decision.HOLD, Decision.STEP_DOWN, Decision.STOP, Decision.STOP_NOW])
def test_it_builds_a_safer_decision_even_when_a_critical_card_stands(decide, decision):
    draft = decide(decision, 30, qtc_ms=520)
    assert all(step.dose_mg <= 30 for step in draft.steps)
    if decision in (Decision.HOLD, Decision.STEP_DOWN):
        assert "qtc-critical" in [card.code for card in draft.cards]  # the finding stays on the plan


@pytest.mark.parametrize("decision", [Decision.CONTINUE, Decision.STEP_UP])
def test_it_refuses_continuing_or_rising_while_a_critical_card_stands(decide, decision):
    with pytest.raises(PlanBlocked):
        decide(decision, 30, qtc_ms=520)


def test_it_books_the_repeat_ecg_at_the_first_review_on_a_qtc_hold(decide):
    draft = decide(Decision.CONTINUE, 10, qtc_ms=480)
    assert doses(draft) == [10]
    assert "repeat-ecg-before-rise" in draft.followups[0].assess


def test_it_refuses_step_up_at_the_ceiling_or_under_a_qtc_hold(decide):
    with pytest.raises(EngineInputError, match="ceiling"):
        decide(Decision.STEP_UP, 75, target=D(75))
    with pytest.raises(EngineInputError, match="no rise"):
        decide(Decision.STEP_UP, 10, qtc_ms=460)


PAIN = MeasureFacts("pain-nrs", "Pain NRS", "percent_fall", D(30), True, D(0), D(10))
IBS = MeasureFacts("ibs-sss", "IBS-SSS", "points_fall", D(50), True, D(0), D(500))


def test_it_counts_a_30_percent_fall_in_pain_as_a_response():
    judged = judge_response(PAIN, D(8), D(5))
    assert judged.responded and judged.percent == 37  # 37.5%, shown rounded toward zero
    assert "meets the response threshold" in judged.text
    assert not judge_response(PAIN, D(8), D(6)).responded  # 25%


def test_it_applies_the_percent_threshold_exactly_and_never_shows_it_as_met_when_it_is_not():
    assert judge_response(PAIN, D("7.0"), D("4.9")).responded  # exactly 30%
    near = judge_response(PAIN, D("8.1"), D("5.7"))  # 29.6%
    assert not near.responded and near.percent == 29 and "does not yet meet" in near.text


def test_it_counts_a_50_point_fall_in_ibs_sss_as_a_response():
    assert judge_response(IBS, D(300), D(250)).responded
    assert not judge_response(IBS, D(300), D(251)).responded


def test_it_says_so_for_a_worse_score():
    assert "worse than at baseline" in judge_response(PAIN, D(5), D(7)).text


def test_it_makes_no_numeric_judgement_for_category_measures():
    assert judge_response(MeasureFacts("gra", "GRA", "category", None), D(1), D(2)) is None
