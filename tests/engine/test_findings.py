"""Visit findings: reference section A.3, one test per row (no database)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from trialplanner.engine import Decision, PatientProfile, PlanOptions, assess_risk, replan
from trialplanner.engine.findings import VisitFindings, assess_findings, book, refusal
from trialplanner.engine.plan_types import FollowUpKind
from trialplanner.engine.types import Sex

VISIT = date(2027, 1, 5)
D = Decimal
THIRTY = D(30)
SAFER = (Decision.HOLD, Decision.STEP_DOWN, Decision.STOP)
RISES = (Decision.STEP_UP,)

# Each A.3 row: what was recorded, the rule code, its indicator, its first source, the form fields
# that show it, the decisions A.3 suggests, and the follow-up booked (days after the visit, or
# None for the next review) with what it checks.
ROWS = [
    pytest.param({"qtc_ms": 505}, "visit-qtc-critical", "critical", "S41", ("qtc_ms",),
                 {Decision.STOP_NOW, Decision.STOP}, 7, {"ecg-after-stop", "potassium-magnesium"}, id="qtc-over-500"),
    pytest.param({"qtc_ms": 470, "baseline_qtc_ms": 400}, "visit-qtc-critical", "critical", "S41", ("qtc_ms",),
                 {Decision.STOP_NOW, Decision.STOP}, 7, {"ecg-after-stop"}, id="qtc-rise-over-60"),
    pytest.param({"qtc_ms": 480}, "visit-qtc-prolonged", "warning", "S41", ("qtc_ms",),
                 {Decision.HOLD, Decision.STEP_DOWN}, None, {"repeat-ecg-before-rise"}, id="qtc-warning"),
    pytest.param({"bp_lying_systolic": 140, "bp_lying_diastolic": 80, "bp_standing_systolic": 118,
                  "bp_standing_diastolic": 78}, "visit-orthostatic-hypotension", "warning", "freeman-2011",
                 ("bp_standing_systolic",), {Decision.HOLD, Decision.STEP_DOWN}, None, {"lying-standing-bp-review"},
                 id="orthostatic-systolic"),
    pytest.param({"bp_lying_systolic": 130, "bp_lying_diastolic": 85, "bp_standing_systolic": 125,
                  "bp_standing_diastolic": 75}, "visit-orthostatic-hypotension", "warning", "freeman-2011",
                 ("bp_standing_diastolic",), {Decision.HOLD, Decision.STEP_DOWN}, None, {"lying-standing-bp-review"},
                 id="orthostatic-diastolic"),
    pytest.param({"sodium": 124}, "visit-sodium-critical", "critical", "S36", ("sodium",),
                 {Decision.STOP_NOW, Decision.STOP}, 0, {"same-day-sodium-assessment"}, id="sodium-below-125"),
    pytest.param({"sodium": 128, "hyponatraemia_symptoms": True}, "visit-sodium-critical", "critical", "S36",
                 ("sodium",), {Decision.STOP_NOW, Decision.STOP}, 0, {"same-day-sodium-assessment"},
                 id="sodium-below-130-with-symptoms"),
    pytest.param({"sodium": 127}, "visit-sodium-low", "warning", "S36", ("sodium",), {Decision.HOLD, Decision.STOP},
                 7, {"sodium-recheck"}, id="sodium-125-129"),
    pytest.param({"cardiac_symptoms": True}, "visit-cardiac-symptoms", "warning", "S3", ("cardiac_symptoms",),
                 {Decision.HOLD}, 0, {"same-day-ecg-assessment"}, id="palpitations-fainting-chest-pain"),
    pytest.param({"serotonin_symptoms": True}, "visit-serotonin-toxicity", "critical", "S3", ("serotonin_symptoms",),
                 {Decision.STOP_NOW, Decision.STOP}, 0, {"urgent-serotonin-assessment"}, id="serotonin-toxicity"),
    pytest.param({"urinary_retention": True}, "visit-anticholinergic-harm", "warning", "S36", ("urinary_retention",),
                 {Decision.STEP_DOWN, Decision.STOP}, None, {"anticholinergic-review"}, id="urinary-retention"),
    pytest.param({"confusion": True}, "visit-anticholinergic-harm", "warning", "S36", ("confusion",),
                 {Decision.STEP_DOWN, Decision.STOP}, None, {"anticholinergic-review"}, id="confusion"),
    pytest.param({"fall": True}, "visit-anticholinergic-harm", "warning", "S36", ("fall",),
                 {Decision.STEP_DOWN, Decision.STOP}, None, {"anticholinergic-review"}, id="fall"),
    pytest.param({"self_harm_thoughts": True}, "visit-self-harm-thoughts", "warning", "S4", ("self_harm_thoughts",),
                 {Decision.HOLD, Decision.STOP}, 0, {"mental-health-assessment"}, id="self-harm-thoughts"),
    pytest.param({"potassium": D("3.2")}, "visit-low-potassium-magnesium", "warning", "S3", ("potassium",),
                 {Decision.HOLD, Decision.STEP_DOWN}, None, {"potassium-magnesium", "repeat-ecg-before-rise"},
                 id="low-potassium"),
    pytest.param({"magnesium": D("0.65")}, "visit-low-potassium-magnesium", "warning", "S3", ("magnesium",),
                 {Decision.HOLD, Decision.STEP_DOWN}, None, {"potassium-magnesium"}, id="low-magnesium"),
]  # fmt: skip


@pytest.fixture
def replanned(rulebook, indications, strengths):
    def run(decision, current=THIRTY):
        facts, protocol = indications["peripheral-neuropathic-pain"]
        assessment = assess_risk(PatientProfile(age=40, sex=Sex.FEMALE), facts, protocol, rulebook, VISIT)
        return replan(
            decision,
            current_mg=current,
            target_mg=D(50),
            protocol=protocol,
            assessment=assessment,
            on=VISIT,
            options=PlanOptions(strengths=strengths),
            rules=rulebook,
            weeks_on_drug=5,
        )

    return run


@pytest.mark.parametrize("recorded, code, indicator, source, fields, offered, days, assess", ROWS)
def test_it_applies_each_a3_row(rulebook, replanned, recorded, code, indicator, source, fields, offered, days, assess):
    findings = assess_findings(VisitFindings(sex=Sex.FEMALE, **recorded), rulebook)
    assert [f.card.code for f in findings] == [code]
    finding = findings[0]
    # The card, with its source.
    assert finding.card.indicator == indicator and finding.card.sources[0].key == source
    assert finding.card.summary and finding.card.subjects and finding.fields == fields
    # The decisions offered: A.3's suggestion; hold, step down and stop always; stop now if critical.
    assert set(finding.offered) == offered
    for decision in SAFER:
        assert refusal(decision, findings, rise_ahead=True) is None
    for decision in (Decision.STEP_UP, Decision.CONTINUE):
        refused = refusal(decision, findings, rise_ahead=True)
        assert refused is not None and set(fields) <= set(refused.fields)
        assert finding.card.title in refused.message
    stop_now = refusal(Decision.STOP_NOW, findings, rise_ahead=True)
    assert (stop_now is None) == (indicator == "critical")
    continue_at_target = refusal(Decision.CONTINUE, findings, rise_ahead=False)
    assert (continue_at_target is None) == (indicator == "warning")
    # The follow-up booked on the re-planned draft.
    decision = Decision.STOP_NOW if indicator == "critical" else Decision.HOLD
    draft = book(replanned(decision), findings, VISIT)
    assert draft.cards[0].code == code  # the finding is shown on the plan
    if days is None:
        first = draft.followups[0]
        assert first.due > VISIT and assess <= set(first.assess)
    else:
        booked = [f for f in draft.followups if f.due == VISIT + timedelta(days=days)]
        assert booked and assess <= set(booked[0].assess) and booked[0].kind == FollowUpKind.RECHECK
    assert all(draft.start_date <= f.due <= draft.end_date for f in draft.followups)


@pytest.mark.parametrize(
    "recorded",
    [
        {"qtc_ms": 470},
        {"qtc_ms": 450, "baseline_qtc_ms": 395},
        {"sodium": 130},
        {"potassium": D("3.5"), "magnesium": D("0.7")},
        {"bp_lying_systolic": 140, "bp_lying_diastolic": 80, "bp_standing_systolic": 121, "bp_standing_diastolic": 71},
    ],
)
def test_it_gives_no_finding_for_values_at_the_thresholds(rulebook, recorded):
    assert assess_findings(VisitFindings(sex=Sex.FEMALE, **recorded), rulebook) == ()


def test_it_uses_the_male_threshold_for_a_male_qtc(rulebook):
    assert [f.card.code for f in assess_findings(VisitFindings(sex=Sex.MALE, qtc_ms=455), rulebook)] == [
        "visit-qtc-prolonged"
    ]


def test_it_treats_sodium_of_125_as_low_not_critical(rulebook):
    codes = [f.card.code for f in assess_findings(VisitFindings(sex=Sex.MALE, sodium=125), rulebook)]
    assert codes == ["visit-sodium-low"]


def test_it_treats_sodium_125_to_129_with_confusion_as_critical(rulebook):
    codes = [f.card.code for f in assess_findings(VisitFindings(sex=Sex.MALE, sodium=127, confusion=True), rulebook)]
    assert codes == ["visit-sodium-critical", "visit-anticholinergic-harm"]


def test_it_refuses_stop_now_without_a_critical_finding(rulebook):
    findings = assess_findings(VisitFindings(sex=Sex.MALE, fall=True), rulebook)
    assert "critical finding" in refusal(Decision.STOP_NOW, findings, rise_ahead=False).message
    assert refusal(Decision.STOP_NOW, (), rise_ahead=False) is not None


def test_it_allows_every_decision_but_stop_now_when_nothing_is_recorded(rulebook):
    findings = assess_findings(VisitFindings(sex=Sex.MALE), rulebook)
    assert findings == ()
    assert all(refusal(d, findings, rise_ahead=True) is None for d in Decision if d is not Decision.STOP_NOW)
