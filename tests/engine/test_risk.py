"""assess_risk against every row of reference section A.2 (no database)."""

from datetime import date

import pytest

from trialplanner.engine import EngineInputError, Indicator, Medication, PatientProfile, StartDose, assess_risk
from trialplanner.engine.types import Alcohol, Phenotype, Sex

ON = date(2026, 12, 1)


@pytest.fixture
def assess(rulebook, indications):
    def run(indication="peripheral-neuropathic-pain", on=ON, meds=(), conditions=(), **profile):
        profile.setdefault("age", 30)
        profile.setdefault("sex", Sex.FEMALE)
        medications = tuple(m if isinstance(m, Medication) else Medication(m) for m in meds)
        person = PatientProfile(conditions=frozenset(conditions), medications=medications, **profile)
        facts, protocol = indications[indication]
        return assess_risk(person, facts, protocol, rulebook, on)

    return run


def codes(assessment, indicator=None):
    """Codes of the cards shown or folded under a stacked card."""
    return {c.code for c in assessment.all_cards if indicator is None or c.indicator == indicator}


def card(assessment, code):
    found = [c for c in assessment.all_cards if c.code == code]
    assert found, f"no {code} card in {codes(assessment)}"
    return found[0]


def test_it_gives_a_healthy_30_year_old_no_cards(assess):
    result = assess()
    assert result.cards == ()
    assert not result.blocked
    assert result.start == StartDose.STANDARD
    assert result.anticholinergic_total == 3


# --- critical rows ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "condition, code",
    [
        ("hypersensitivity-amitriptyline", "hypersensitivity"),
        ("recent-mi", "recent-mi"),
        ("heart-block", "cardiac-conduction"),
        ("cardiac-rhythm-disorder", "cardiac-conduction"),
        ("coronary-artery-insufficiency", "cardiac-conduction"),
        ("brugada-syndrome", "brugada-long-qt"),
        ("congenital-long-qt", "brugada-long-qt"),
        ("severe-liver-disease", "severe-liver-disease"),
        ("bipolar-manic-phase", "mania-porphyria"),
        ("acute-porphyria", "mania-porphyria"),
    ],
)
def test_it_blocks_on_contraindicating_conditions(assess, condition, code):
    result = assess(conditions=[condition])
    assert code in codes(result, Indicator.CRITICAL)
    assert result.blocked


def test_it_treats_under_18_as_out_of_scope(assess):
    assert "under-18" in codes(assess(age=17), Indicator.CRITICAL)
    assert "under-18" not in codes(assess(age=18))


def test_it_blocks_on_qtc_above_500(assess):
    assert "qtc-critical" in codes(assess(qtc_ms=501, sex=Sex.MALE), Indicator.CRITICAL)
    result = assess(qtc_ms=500, sex=Sex.MALE)
    assert "qtc-critical" not in codes(result)
    assert "qtc-prolonged" in codes(result, Indicator.WARNING)


def test_it_blocks_on_a_qtc_rise_above_60_ms(assess):
    assert "qtc-critical" in codes(assess(qtc_ms=461, previous_qtc_ms=400, sex=Sex.FEMALE))
    assert "qtc-critical" not in codes(assess(qtc_ms=460, previous_qtc_ms=400, sex=Sex.FEMALE))


@pytest.mark.parametrize(
    "sex, qtc, prolonged",
    [
        (Sex.MALE, 450, False),
        (Sex.MALE, 451, True),
        (Sex.FEMALE, 451, False),
        (Sex.FEMALE, 470, False),
        (Sex.FEMALE, 471, True),
    ],
)
def test_it_uses_sex_specific_qtc_thresholds(assess, sex, qtc, prolonged):
    result = assess(sex=sex, qtc_ms=qtc)
    assert ("qtc-prolonged" in codes(result, Indicator.WARNING)) is prolonged
    if prolonged:
        assert result.hold_at_start
        assert "repeat-ecg-at-target" in card(result, "qtc-prolonged").effects.monitoring


def test_it_blocks_on_a_current_maoi_with_no_start_date(assess):
    result = assess(meds=["Phenelzine"])
    maoi = card(result, "maoi-washout")
    assert maoi.indicator == Indicator.CRITICAL
    assert result.earliest_start is None
    assert maoi.subjects == ("Phenelzine",)


def test_it_blocks_on_a_stopped_maoi_until_14_days_after_the_last_dose(assess):
    stopped = Medication("tranylcypromine", stopped_on=date(2026, 11, 25))
    result = assess(meds=[stopped])
    assert card(result, "maoi-washout").indicator == Indicator.CRITICAL
    assert result.earliest_start == date(2026, 12, 9)
    assert "2026-12-09" in card(result, "maoi-washout").detail
    assert "maoi-washout" not in codes(assess(meds=[stopped], on=date(2026, 12, 9)))
    assert "maoi-washout" in codes(assess(meds=[stopped], on=date(2026, 12, 8)))


def test_it_needs_only_one_day_after_moclobemide(assess):
    stopped = Medication("moclobemide", stopped_on=date(2026, 11, 30))
    assert "maoi-washout" not in codes(assess(meds=[stopped]))
    same_day = assess(meds=[Medication("moclobemide", stopped_on=ON)])
    assert same_day.earliest_start == date(2026, 12, 2)
    assert same_day.blocked


def test_it_gives_the_earliest_start_from_a_planned_maoi_stop(assess):
    result = assess(meds=[Medication("selegiline", stopped_on=date(2026, 12, 10))])
    assert result.earliest_start == date(2026, 12, 24)


@pytest.mark.parametrize("drug", ["linezolid", "methylene blue", "cisapride"])
def test_it_blocks_on_contraindicated_drugs_while_taken(assess, drug):
    assert "contraindicated-drug" in codes(assess(meds=[drug]), Indicator.CRITICAL)
    stopped = Medication(drug, stopped_on=date(2026, 11, 1))
    assert "contraindicated-drug" not in codes(assess(meds=[stopped]))


# --- warning rows ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "drug",
    [
        "citalopram",
        "escitalopram",
        "methadone",
        "ondansetron",
        "domperidone",
        "amiodarone",
        "sotalol",
        "clarithromycin",
        "fluconazole",
        "haloperidol",
    ],
)
def test_it_warns_and_asks_for_ecgs_on_known_risk_qt_drugs(assess, drug):
    result = assess(meds=[drug])
    qt = card(result, "qt-drug")
    assert qt.indicator == Indicator.WARNING
    assert {"baseline-ecg", "potassium-magnesium", "repeat-ecg-at-target"} <= set(qt.effects.monitoring)
    assert "baseline-ecg" in result.baseline_checks
    assert "baseline-ecg" in codes(result, Indicator.INFO)


@pytest.mark.parametrize(
    "condition", ["heart-failure", "ischaemic-heart-disease", "marked-bradycardia", "hyperthyroidism"]
)
def test_it_lowers_the_start_and_slows_steps_for_other_cardiac_disease(assess, condition):
    result = assess(conditions=[condition])
    assert card(result, "other-cardiac").indicator == Indicator.WARNING
    assert result.start == StartDose.OLDER
    assert result.min_days_per_step == 14
    assert "baseline-ecg" in result.baseline_checks


def test_it_counts_age_65_as_older(assess):
    result = assess(age=65)
    older = card(result, "older-age")
    assert older.indicator == Indicator.WARNING
    assert result.start == StartDose.OLDER
    assert result.min_days_per_step == 14
    assert {"lying-standing-bp", "sodium"} <= set(result.monitoring)
    assert result.early_first_review
    assert "older-age" not in codes(assess(age=64))


@pytest.mark.parametrize(
    "profile", [{"frail": True}, {"falls": True}, {"conditions": ["dementia"]}, {"conditions": ["delirium-risk"]}]
)
def test_it_uses_the_frail_start_for_frailty_falls_dementia_and_delirium(assess, profile):
    result = assess(**profile)
    assert card(result, "frailty-falls").indicator == Indicator.WARNING
    assert result.start == StartDose.FRAIL
    assert result.min_days_per_step == 14


@pytest.mark.parametrize(
    "profile",
    [
        {"meds": ["fluoxetine"]},
        {"meds": ["paroxetine"]},
        {"meds": ["bupropion"]},
        {"meds": ["quinidine"]},
        {"cyp2d6": Phenotype.POOR},
        {"cyp2d6": Phenotype.INTERMEDIATE},
    ],
)
def test_it_starts_low_and_slow_with_reduced_cyp2d6_activity(assess, profile):
    result = assess(**profile)
    assert card(result, "cyp2d6-reduced").indicator == Indicator.WARNING
    assert result.start == StartDose.OLDER
    assert result.min_days_per_step == 14


@pytest.mark.parametrize(
    "profile", [{"cyp2d6": Phenotype.ULTRARAPID}, {"cyp2c19": Phenotype.ULTRARAPID}, {"cyp2c19": Phenotype.POOR}]
)
def test_it_gives_other_phenotypes_as_information(assess, profile):
    result = assess(**profile)
    assert card(result, "cyp-ultrarapid-poor-2c19").indicator == Indicator.INFO
    assert result.start == StartDose.STANDARD


def test_it_gives_normal_metabolisers_no_card(assess):
    assert assess(cyp2d6=Phenotype.NORMAL, cyp2c19=Phenotype.NORMAL).cards == ()


@pytest.mark.parametrize("drug", ["sertraline", "venlafaxine", "tramadol", "lithium", "St John's wort"])
def test_it_warns_on_serotonergic_drugs(assess, drug):
    assert card(assess(meds=[drug]), "serotonergic-drug").indicator == Indicator.WARNING


def test_it_gives_information_only_for_triptans(assess):
    result = assess(meds=["sumatriptan"])
    assert card(result, "serotonergic-low").indicator == Indicator.INFO
    assert "serotonergic-drug" not in codes(result)


def test_it_mentions_the_seizure_risk_for_tramadol(assess):
    assert "seizure" in card(assess(meds=["tramadol"]), "serotonergic-drug").detail.lower()


@pytest.mark.parametrize(
    "profile",
    [
        {"meds": ["diazepam"]},
        {"meds": ["zopiclone"]},
        {"meds": ["pregabalin"]},
        {"meds": ["morphine"]},
        {"alcohol": Alcohol.HEAVY},
    ],
)
def test_it_warns_on_cns_depressants_and_heavy_alcohol(assess, profile):
    result = assess(**profile)
    assert card(result, "cns-depressant").indicator == Indicator.WARNING
    assert result.min_days_per_step is None


def test_it_slows_the_steps_for_older_people_on_cns_depressants(assess):
    result = assess(age=70, meds=["diazepam"])
    assert card(result, "cns-depressant").effects.min_days_per_step == 14


def test_it_warns_on_three_cns_active_drugs_in_an_older_patient(assess):
    assert "cns-active-older" not in codes(assess(age=70, meds=["diazepam"]))
    result = assess(age=70, meds=["diazepam", "sertraline"])
    assert card(result, "cns-active-older").subjects == ("amitriptyline", "Diazepam", "Sertraline")
    assert "cns-active-older" not in codes(assess(age=50, meds=["diazepam", "sertraline"]))


def test_it_totals_the_anticholinergic_burden(assess):
    alone = assess()
    assert alone.anticholinergic_total == 3
    assert "anticholinergic-burden" not in codes(alone)
    result = assess(meds=["oxybutynin", "Chlorphenamine"])
    assert result.anticholinergic_total == 9
    assert result.anticholinergic_items == (("amitriptyline", 3), ("Oxybutynin", 3), ("Chlorphenamine", 3))
    burden = card(result, "anticholinergic-burden")
    assert burden.indicator == Indicator.WARNING
    assert "Total anticholinergic burden 9" in burden.detail


@pytest.mark.parametrize(
    "condition, code",
    [
        ("angle-closure-glaucoma", "angle-closure-glaucoma"),
        ("urinary-retention", "urinary-retention"),
        ("prostate-enlargement", "urinary-retention"),
        ("epilepsy", "epilepsy"),
        ("bipolar-disorder", "bipolar"),
    ],
)
def test_it_warns_on_cautionary_conditions(assess, condition, code):
    result = assess(conditions=[condition])
    assert card(result, code).indicator == Indicator.WARNING
    assert not result.blocked


def test_it_limits_each_supply_for_self_harm(assess):
    result = assess(self_harm_last_12_months=True)
    assert card(result, "self-harm").indicator == Indicator.WARNING
    assert result.supply_limit_days == 14


def test_it_starts_low_and_slow_with_mild_or_moderate_liver_impairment(assess):
    result = assess(conditions=["liver-impairment-mild-moderate"])
    assert card(result, "liver-impairment").indicator == Indicator.WARNING
    assert (result.start, result.min_days_per_step) == (StartDose.OLDER, 14)


def test_it_warns_on_pregnancy_and_informs_on_breastfeeding(assess):
    assert card(assess(pregnant=True), "pregnancy").indicator == Indicator.WARNING
    assert card(assess(breastfeeding=True), "breastfeeding").indicator == Indicator.INFO


def test_it_warns_on_fluvoxamine_and_informs_on_other_level_raisers(assess):
    assert card(assess(meds=["fluvoxamine"]), "raised-levels-avoid").indicator == Indicator.WARNING
    for drug in ["cimetidine", "ketoconazole", "fluconazole"]:
        assert card(assess(meds=[drug]), "raised-levels").indicator == Indicator.INFO, drug


def test_it_needs_a_reason_for_indications_without_guideline_support(assess):
    for slug in ["insomnia", "chronic-low-back-pain"]:
        assert card(assess(indication=slug), "indication-caution").indicator == Indicator.WARNING
    assert "indication-caution" not in codes(assess(indication="migraine-prophylaxis"))


# --- information rows --------------------------------------------------------------------


def test_it_asks_young_adults_about_mood(assess):
    for age in (18, 24):
        assert card(assess(age=age), "young-adult").indicator == Indicator.INFO
    assert "young-adult" not in codes(assess(age=25))


@pytest.mark.parametrize(
    "profile, code",
    [
        ({"conditions": ["diabetes"]}, "diabetes"),
        ({"meds": ["furosemide"]}, "electrolytes"),
        ({"meds": ["pseudoephedrine"]}, "sympathomimetic"),
        ({"meds": ["amlodipine"]}, "blood-pressure-drugs"),
        ({"meds": ["doxazosin"]}, "blood-pressure-drugs"),
    ],
)
def test_it_shows_information_rows_as_info(assess, profile, code):
    assert card(assess(**profile), code).indicator == Indicator.INFO


def test_it_advises_a_baseline_ecg_over_40_or_with_cardiac_history(assess):
    assert "baseline-ecg" not in codes(assess(age=40))
    assert "baseline-ecg" in codes(assess(age=41))
    assert "baseline-ecg" in codes(assess(conditions=["heart-failure"]))


def test_it_gives_one_baseline_ecg_card_for_qt_history_conditions(assess):
    result = assess(age=50, conditions=["previous-drug-induced-qt-prolongation", "family-history-sudden-cardiac-death"])
    ecg = [c for c in result.cards if c.code == "baseline-ecg"]
    assert len(ecg) == 1
    assert ecg[0].subjects[0] == "age 50"
    assert len(ecg[0].subjects) == 3


# --- the shape of the result ---------------------------------------------------------------


def test_it_sorts_cards_critical_warning_info_and_fits_a_summary(assess):
    result = assess(age=70, conditions=["recent-mi", "diabetes"], meds=["sertraline"], breastfeeding=True)
    groups = [c.group for c in result.cards]
    assert groups == sorted(groups)
    assert result.cards[0].indicator == Indicator.CRITICAL
    for c in result.cards:
        assert len(c.summary) <= 140 and c.sources and c.source == c.sources[0]


def test_it_reports_unknown_medicines_rather_than_ignoring_them(assess):
    result = assess(meds=["Zorblatrex 20mg", "sertraline"])
    assert result.unrecognised_medications == ("Zorblatrex 20mg",)
    assert result.recognised_medications == (("sertraline", "Sertraline"),)


def test_it_recognises_brand_names_and_spellings(assess):
    result = assess(meds=["PROZAC", "chlorpheniramine"])
    assert result.unrecognised_medications == ()
    assert "cyp2d6-reduced" in codes(result)


def test_it_treats_an_unknown_condition_as_an_input_error(assess):
    with pytest.raises(EngineInputError) as exc:
        assess(conditions=["vampirism"])
    assert exc.value.field == "conditions"


@pytest.mark.parametrize("profile, field", [({"age": -1}, "age"), ({"qtc_ms": 5000}, "qtc_ms")])
def test_it_treats_out_of_range_inputs_as_errors(assess, profile, field):
    with pytest.raises(EngineInputError) as exc:
        assess(**profile)
    assert exc.value.field == field
