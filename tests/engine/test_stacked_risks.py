"""Reference A.4, stacked risks: the QT tally, stacked sodium risk, dated checks, frail shaping, card order."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from trialplanner.engine import Medication, PatientProfile, PlanOptions, assess_risk, build_plan
from trialplanner.engine.checks import without_checks_on_file
from trialplanner.engine.plan_types import FollowUpKind
from trialplanner.engine.types import Indicator, Sex, card_key

ON = date(2026, 12, 1)
RECENT = ON - timedelta(days=20)
SEVEN_WARNINGS = ["furosemide 40 mg od", "citalopram 40 mg od", "methadone 120 mg daily", "ondansetron 8 mg bd",
                  "hydroxyzine 25 mg nocte", "tramadol 50 mg qds"]  # fmt: skip


@pytest.fixture
def assess(rulebook, indications):
    def run(meds=(), conditions=(), indication="peripheral-neuropathic-pain", **profile):
        profile.setdefault("age", 45)
        profile.setdefault("sex", Sex.FEMALE)
        medications = tuple(m if isinstance(m, Medication) else Medication(m) for m in meds)
        person = PatientProfile(conditions=frozenset(conditions), medications=medications, **profile)
        facts, protocol = indications[indication]
        return assess_risk(person, facts, protocol, rulebook, ON)

    return run


@pytest.fixture
def plan(assess, rulebook, indications, strengths):
    def run(indication="peripheral-neuropathic-pain", target=None, **kwargs):
        assessment = assess(indication=indication, **kwargs)
        _, protocol = indications[indication]
        options = PlanOptions(strengths=strengths, target_mg=target)
        return assessment, build_plan(protocol, assessment, ON, options, rulebook)

    return run


def tally(result):
    found = [c for c in result.cards if c.code in ("qt-tally-raised", "qt-tally-high")]
    assert len(found) <= 1
    return found[0] if found else None


def known(**dated):
    """Results on file, dated within their windows (an ECG in the last year, bloods in the last 3 months)."""
    return {"ecg_on": RECENT, "bloods_on": RECENT, **dated}


# --- the QT tally ---------------------------------------------------------------------------------


def test_the_seven_warning_patient_needs_specialist_advice_with_the_tally_first(assess):
    result = assess(SEVEN_WARNINGS, age=70, qtc_ms=462, potassium=D("3.3"), **known())
    card = tally(result)
    assert card.code == "qt-tally-high" and card.needs_specialist_advice
    assert result.cards[0] is card  # nothing critical: the stacked card leads
    assert card.subjects[0] == "score 13"
    for item in ("age 70 +1", "female +1", "loop diuretic (Furosemide) +1", "potassium 3.3 mmol/L +2",
                 "QTc 462 ms +2", "amitriptyline, a QT-prolonging drug +3"):  # fmt: skip
        assert item in card.subjects
    folded = {c.code for c in card.folded}
    assert {"qt-drug", "low-potassium-magnesium", "ssri-qt-dose", "methadone-high-dose", "electrolytes"} <= folded
    assert not folded & {c.code for c in result.cards}  # each card once: folded or shown
    assert "Citalopram" in card.detail and "Methadone" in card.detail  # two known-risk drugs named


def test_folding_leaves_one_reason_for_the_qt_concern(assess):
    result = assess(SEVEN_WARNINGS, age=70, qtc_ms=462, potassium=D("3.3"), **known())
    qt_warnings = [c for c in result.warning_cards if c.concern == "qt"]
    assert [c.code for c in qt_warnings] == ["qt-tally-high"]
    assert len(result.warning_cards) < len([c for c in result.all_cards if c.indicator is Indicator.WARNING])


def test_a_45_year_old_woman_on_omeprazole_gets_no_tally_card(assess):
    result = assess(["omeprazole 20 mg od"], age=45)
    assert tally(result) is None
    assert "qt-tally-raised" not in {c.code for c in result.all_cards}


def test_furosemide_and_citalopram_at_70_is_raised_with_ecgs_before_the_start_and_at_the_target(plan):
    assessment, draft = plan(meds=["furosemide 40 mg", "citalopram 20 mg"], age=70, potassium=D("4.1"), **known())
    card = tally(assessment)
    assert card.code == "qt-tally-raised" and not card.needs_specialist_advice
    assert card.subjects[0] == "score 9"
    assert "baseline-ecg" in assessment.baseline_checks and "potassium-magnesium" in assessment.baseline_checks
    at_target = [f for f in draft.followups if f.due == draft.target_date]
    assert at_target and "repeat-ecg-at-target" in at_target[0].assess
    assert draft.days_per_step == 14


def test_adding_potassium_3_3_makes_her_high_at_11(assess):
    result = assess(["furosemide 40 mg", "citalopram 20 mg"], age=70, potassium=D("3.3"), **known())
    card = tally(result)
    assert card.code == "qt-tally-high" and card.subjects[0] == "score 11"


def test_missing_or_old_results_show_as_not_known_never_zero(assess):
    missing = tally(assess(["furosemide", "citalopram 20 mg"], age=70))
    assert "potassium (no dated result in the last 90 days): not known" in missing.subjects
    assert "QTc (no dated ECG in the last 365 days): not known" in missing.subjects
    assert "Not known" in missing.detail
    old = tally(
        assess(["furosemide", "citalopram 20 mg"], age=70, qtc_ms=430, potassium=D("4.2"),
               ecg_on=ON - timedelta(days=400), bloods_on=ON - timedelta(days=100))
    )  # fmt: skip
    assert sum("not known" in s for s in old.subjects) == 2
    fresh = tally(assess(["furosemide", "citalopram 20 mg"], age=70, qtc_ms=430, potassium=D("4.2"), **known()))
    assert not any("not known" in s for s in fresh.subjects)


def test_a_qtc_that_scores_counts_whatever_its_date(assess):
    card = tally(assess(["citalopram 20 mg"], age=70, qtc_ms=455, ecg_on=ON - timedelta(days=900)))
    assert "QTc 455 ms +2" in card.subjects


def test_two_known_risk_qt_drugs_besides_amitriptyline_are_high_whatever_the_score(assess):
    result = assess(["citalopram 20 mg", "ondansetron 4 mg"], age=30, sex=Sex.MALE, **known(potassium=D("4.2")))
    card = tally(result)
    assert card.code == "qt-tally-high" and card.subjects[0] == "score 6"


def test_a_conditional_risk_drug_counts_only_with_one_of_its_conditions(assess):
    without = assess(["omeprazole"], age=45)
    assert tally(without) is None
    assert "omeprazole" not in " ".join(s for c in without.all_cards for s in c.subjects if "second" in s).lower()
    with_low_k = tally(assess(["omeprazole"], age=45, potassium=D("3.3"), **known()))
    assert with_low_k.subjects[0] == "score 9"
    assert "a second QT-prolonging drug (Omeprazole) +3" in with_low_k.subjects


def test_heart_failure_scores_three(assess):
    card = tally(assess(["citalopram 20 mg"], age=45, sex=Sex.MALE, conditions=["heart-failure"]))
    assert "heart failure +3" in card.subjects and card.subjects[0] == "score 9"


def test_a_short_course_of_a_qt_drug_suggests_starting_after_it(assess):
    course = Medication(
        "clarithromycin 500 mg bd", stopped_on=ON + timedelta(days=6), started_on=ON - timedelta(days=1)
    )
    card = tally(assess([course, "citalopram 20 mg"], age=70, **known(potassium=D("4.2"))))
    assert card is not None and "short course ending on 2026-12-07" in card.detail and "after it ends" in card.detail
    # A long course being stopped soon is not a short course; nor is one whose first dose is not known.
    long = Medication(
        "clarithromycin 500 mg bd", stopped_on=ON + timedelta(days=6), started_on=ON - timedelta(days=700)
    )
    for line in (long, Medication("clarithromycin 500 mg bd", stopped_on=ON + timedelta(days=6))):
        card = tally(assess([line, "citalopram 20 mg"], age=70, **known(potassium=D("4.2"))))
        assert "short course" not in card.detail


def test_the_tally_says_it_is_a_checklist_not_a_prediction(assess):
    card = tally(assess(["furosemide", "citalopram 20 mg"], age=70))
    assert "checklist, not a prediction" in card.detail


def test_a_high_qt_risk_plan_books_an_ecg_before_any_dose_above_50(plan):
    assessment, draft = plan(meds=["citalopram 20 mg", "ondansetron"], age=40, sex=Sex.MALE, target=D(70))
    above = next(s for s in draft.steps if s.dose_mg > 50)
    assert "ecg-before-higher-dose" in above.awaits
    assert any(f.due == above.start and "ecg-before-higher-dose" in f.assess for f in draft.followups)
    assert all("ecg-before-higher-dose" not in s.awaits for s in draft.steps if s.dose_mg <= 50)


# --- stacked sodium risk ------------------------------------------------------------------------------


@pytest.mark.parametrize("medicine", ["sertraline 50 mg", "carbamazepine 200 mg bd", "furosemide 40 mg", "quetiapine"])
def test_stacked_sodium_at_65_or_over(assess, medicine):
    card = next(c for c in assess([medicine], age=72).all_cards if c.code == "sodium-stacked")
    assert card.stacked and "age 72" in card.subjects
    assert not any(c.code == "sodium-stacked" for c in assess([medicine], age=64).all_cards)


def test_stacked_sodium_books_sodium_at_baseline_2_to_4_weeks_and_at_the_target(plan):
    assessment, draft = plan(meds=["sertraline 50 mg"], age=72, sex=Sex.MALE)
    assert "sodium" in assessment.baseline_checks
    check = [f for f in draft.followups if "sodium-after-start" in f.assess]
    assert check and ON + timedelta(days=14) <= check[0].due <= ON + timedelta(days=28)
    rises = [s for s in draft.steps[1:]]
    assert all(s.start >= check[0].due for s in rises)
    assert "sodium-after-start" in next(s for s in rises if s.start >= check[0].due).awaits
    assert any("sodium-at-target" in f.assess and f.due == draft.target_date for f in draft.followups)


def test_a_sodium_result_within_3_months_counts_as_the_baseline(assess, catalog_data):
    validity = {row["slug"]: row.get("validity_days") for row in catalog_data["monitoring"]}
    result = assess(["sertraline"], age=72, sex=Sex.MALE)
    assert "sodium" in result.baseline_checks
    on_file = {"sodium": ON - timedelta(days=80)}
    assert "sodium" not in without_checks_on_file(result, on_file, validity, ON).baseline_checks
    old = {"sodium": ON - timedelta(days=100)}
    assert "sodium" in without_checks_on_file(result, old, validity, ON).baseline_checks


def test_a_low_sodium_on_file_holds_and_books_a_recheck_within_a_week(plan):
    assessment, draft = plan(age=50, sodium=127, bloods_on=RECENT)
    assert any(c.code == "baseline-sodium-low" for c in assessment.cards)
    assert [s.dose_mg for s in draft.steps] == [D(10)]  # held at the start dose
    recheck = [f for f in draft.followups if "sodium-recheck" in f.assess]
    assert recheck and recheck[0].due <= ON + timedelta(days=7)


def test_a_dangerously_low_sodium_on_file_blocks(assess):
    result = assess(age=50, sodium=122)
    assert result.blocked and any(c.code == "baseline-sodium-critical" for c in result.critical_cards)


# --- frail and dementia shaping -----------------------------------------------------------------------


def test_a_frail_84_year_old_with_dementia_aims_for_20_mg_with_a_review_before_each_rise(plan):
    assessment, draft = plan(age=84, frail=True, conditions=["dementia"])
    assert draft.target_mg == D(20)
    assert "target-cap" in [a.code for a in draft.adjustments]
    rises = [s for i, s in enumerate(draft.steps) if i and s.dose_mg > draft.steps[i - 1].dose_mg]
    assert rises
    for rise in rises:
        assert "rise-review" in rise.awaits
        assert any(f.due == rise.start and f.kind in (FollowUpKind.RISE_REVIEW, FollowUpKind.FIRST_REVIEW,
                                                      FollowUpKind.AT_TARGET) and "rise-review" in f.assess
                   for f in draft.followups)  # fmt: skip


def test_dementia_alone_shapes_the_plan_but_falls_alone_do_not(plan):
    _, dementia = plan(age=70, conditions=["dementia"])
    _, falls = plan(age=70, falls=True)
    assert dementia.target_mg == D(20) and falls.target_mg == D(50)


def test_the_clinician_may_still_choose_a_higher_target(plan):
    _, draft = plan(age=84, frail=True, target=D(50))
    assert draft.target_mg == D(50)


def test_the_cap_stays_on_the_protocols_grid(plan):
    _, draft = plan(indication="irritable-bowel-syndrome", age=84, frail=True)
    assert draft.target_mg == D(20)


# --- order and identity ---------------------------------------------------------------------------------


def test_the_most_dangerous_pair_comes_first_among_warnings(assess):
    result = assess(["fluoxetine 20 mg", "tramadol 50 mg qds", "amlodipine 5 mg", "omeprazole 20 mg"], age=72)
    warnings = [c.code for c in result.cards if c.indicator is Indicator.WARNING and not c.stacked]
    assert warnings[:2] == ["serotonergic-drug", "cyp2d6-reduced"]
    groups = [c.group for c in result.cards]
    assert groups == sorted(groups)


def test_a_cards_key_is_its_rule_and_subjects_in_any_order():
    assert card_key("qt-drug", ["Citalopram", "Methadone"]) == card_key("qt-drug", ["Methadone", "Citalopram"])
    assert card_key("qt-drug", ["Citalopram"]) != card_key("qt-drug", ["Methadone"])
    assert card_key("qt-drug", ["Citalopram"]) != card_key("serotonergic-drug", ["Citalopram"])
    assert card_key("qt-drug", ["Citalopram"]).startswith("qt-drug~")


def test_two_medicines_over_one_dose_limit_share_one_card(assess):
    result = assess(["citalopram 60 mg", "escitalopram 30 mg"], age=40, sex=Sex.MALE)
    found = [c for c in result.all_cards if c.code == "ssri-qt-dose"]
    assert len(found) == 1 and len(found[0].subjects) == 2


# --- found in review: severity, reasons, checks, identity -------------------------------------------------


def test_a_low_sodium_warning_never_hides_under_the_stacked_sodium_information(assess):
    result = assess(["sertraline 50 mg"], age=72, sex=Sex.MALE, sodium=127, bloods_on=RECENT)
    assert "baseline-sodium-low" in {c.code for c in result.warning_cards}
    stacked = next(c for c in result.cards if c.code == "sodium-stacked")
    assert stacked.folded == ()


def test_a_hold_books_what_it_waits_for_and_names_its_cause(plan):
    _, low_k = plan(age=45, sex=Sex.MALE, potassium=D("3.2"), bloods_on=RECENT)
    first = next(f for f in low_k.followups if f.kind is FollowUpKind.FIRST_REVIEW)
    assert "potassium-magnesium" in first.assess and "repeat-ecg-before-rise" in first.assess
    _, low_na = plan(age=45, sex=Sex.MALE, sodium=127, bloods_on=RECENT)
    first = next(f for f in low_na.followups if f.kind is FollowUpKind.FIRST_REVIEW)
    assert "repeat-ecg-before-rise" not in first.assess  # a sodium hold waits for sodium, not an ECG
    _, folded = plan(
        meds=["citalopram 20 mg", "ondansetron"], age=75, sex=Sex.MALE, qtc_ms=480, **known(potassium=D("4.0"))
    )
    hold = next(a for a in folded.adjustments if a.code == "hold")
    assert "qtc-prolonged" in hold.because  # the card is folded under the tally, and still named


def test_choosing_above_the_frail_default_is_noted(plan):
    _, draft = plan(age=84, frail=True, target=D(50))
    assert any(a.code == "target" and "frail or dementia default of 20 mg" in a.text for a in draft.adjustments)


def test_a_sodium_that_cannot_be_a_measured_level_is_an_input_error(assess):
    from trialplanner.engine import EngineInputError

    for value in (0, 99, 1350):
        with pytest.raises(EngineInputError) as exc:
            assess(sodium=value)
        assert exc.value.field == "sodium"


def test_a_birthday_or_a_new_level_keeps_the_identity_of_the_same_finding(assess):
    def keys(**kwargs):
        return {c.code: c.key for c in assess(["furosemide", "citalopram 20 mg"], **known(), **kwargs).all_cards}

    before, after = keys(age=70, potassium=D("3.3")), keys(age=71, potassium=D("3.2"))
    assert before["qt-tally-high"] == after["qt-tally-high"]
    assert before["older-age"] == after["older-age"]
    assert keys(age=70, potassium=D("4.1"))["qt-tally-raised"] != before["qt-tally-high"]
