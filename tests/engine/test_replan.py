"""Re-planning from a visit decision, and judging response (no database)."""

from datetime import date
from decimal import Decimal

import pytest

from trialplanner.engine import (
    Decision,
    EngineInputError,
    MeasureFacts,
    PatientProfile,
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
    def run(decision, current, target=FIFTY, indication="peripheral-neuropathic-pain", weeks=5, **profile):
        profile.setdefault("age", 40)
        facts, protocol = indications[indication]
        assessment = assess_risk(PatientProfile(sex=Sex.MALE, **profile), facts, protocol, rulebook, VISIT)
        return replan(
            decision, current_mg=D(current), target_mg=target, protocol=protocol, assessment=assessment, on=VISIT,
            options=PlanOptions(strengths=strengths, tablet_strength_mg=D(10)), rules=rulebook, weeks_on_drug=weeks,
        )  # fmt: skip

    return run


def doses(draft):
    return [s.dose_mg for s in draft.steps]


def test_step_up_moves_one_step_then_continues_to_target(decide):
    draft = decide(Decision.STEP_UP, 20)
    assert doses(draft) == [30, 40, 50]
    assert draft.start_date == VISIT


def test_continue_keeps_the_current_dose_and_titration(decide):
    assert doses(decide(Decision.CONTINUE, 20)) == [20, 30, 40, 50]


def test_hold_stays_at_the_current_dose(decide):
    draft = decide(Decision.HOLD, 30)
    assert doses(draft) == [30]
    assert draft.steps[0].kind == StepKind.HOLD


def test_step_down_goes_one_step_lower_and_holds(decide):
    assert doses(decide(Decision.STEP_DOWN, 30)) == [20]
    assert doses(decide(Decision.STEP_DOWN, 25)) == [20]
    assert doses(decide(Decision.STEP_DOWN, 10)) == [5]  # the frail start, as liquid
    with pytest.raises(EngineInputError) as exc:
        decide(Decision.STEP_DOWN, 5)
    assert exc.value.field == "decision"


def test_stop_tapers_to_zero(decide):
    draft = decide(Decision.STOP, 30, weeks=20)
    assert doses(draft) == [30, 20, 10, 5, 0]


def test_step_up_is_refused_at_the_ceiling_or_under_a_qtc_hold(decide):
    with pytest.raises(EngineInputError, match="ceiling"):
        decide(Decision.STEP_UP, 75, target=D(75))
    with pytest.raises(EngineInputError, match="no rise"):
        decide(Decision.STEP_UP, 10, qtc_ms=460)


PAIN = MeasureFacts("pain-nrs", "Pain NRS", "percent_fall", D(30), True, D(0), D(10))
IBS = MeasureFacts("ibs-sss", "IBS-SSS", "points_fall", D(50), True, D(0), D(500))


def test_a_30_percent_fall_in_pain_is_a_response():
    judged = judge_response(PAIN, D(8), D(5))
    assert judged.responded and judged.percent == 38
    assert "meets the response threshold" in judged.text
    assert not judge_response(PAIN, D(8), D(6)).responded  # 25%


def test_a_50_point_fall_in_ibs_sss_is_a_response():
    assert judge_response(IBS, D(300), D(250)).responded
    assert not judge_response(IBS, D(300), D(251)).responded


def test_a_worse_score_says_so():
    assert "worse than at baseline" in judge_response(PAIN, D(5), D(7)).text


def test_category_measures_have_no_numeric_judgement():
    assert judge_response(MeasureFacts("gra", "GRA", "category", None), D(1), D(2)) is None
