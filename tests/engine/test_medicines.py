"""Medicines as clinicians write them: reading lines, matching, persistence and every A.2 medicine rule."""

from dataclasses import fields
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.conftest import indications_from, load_file, rulebook_from
from trialplanner.engine import EngineInputError, Indicator, Medication, PatientProfile, StartDose, assess_risk
from trialplanner.engine.medicines import MatchStatus, read_medicine, split_line
from trialplanner.engine.types import (
    DRUG_FACT_CHOICES,
    DRUG_FACT_FLAGS,
    DRUG_FACT_NUMBERS,
    DrugFacts,
    Phenotype,
    Sex,
)

ON = date(2026, 12, 1)
DATA = load_file()
RULES = rulebook_from(DATA)
INDICATIONS = indications_from(DATA)


def assess(meds=(), conditions=(), indication="peripheral-neuropathic-pain", **profile):
    profile.setdefault("age", 30)
    profile.setdefault("sex", Sex.MALE)
    medications = tuple(m if isinstance(m, Medication) else Medication(m) for m in meds)
    person = PatientProfile(conditions=frozenset(conditions), medications=medications, **profile)
    facts, protocol = INDICATIONS[indication]
    return assess_risk(person, facts, protocol, RULES, ON)


def cards(result, code):
    return [c for c in result.all_cards if c.code == code]


def card(result, code):
    found = cards(result, code)
    assert len(found) == 1, f"{len(found)} {code} cards in {[c.code for c in result.all_cards]}"
    return found[0]


def codes(result):
    return {c.code for c in result.all_cards}


# --- reading a line ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, name, dose",
    [
        ("phenelzine 15 mg", "phenelzine", "15 mg"),
        ("tramadol 50mg qds", "tramadol", "50mg qds"),
        ("Prozac 20 mg OD", "Prozac", "20 mg OD"),
        ("co-codamol 30/500 2 tabs qds", "co-codamol", "30/500 2 tabs qds"),
        ("St John's wort 300mg", "St John's wort", "300mg"),
        ("  levothyroxine   100 micrograms  ", "levothyroxine", "100 micrograms"),
        ("omeprazole", "omeprazole", ""),
        ("senna two at night", "senna", "two at night"),
    ],
)
def test_it_splits_a_line_into_name_and_dose_as_written(line, name, dose):
    assert (split_line(line).name, split_line(line).dose_text) == (name, dose)


@pytest.mark.parametrize(
    "line, slugs",
    [
        ("phenelzine 15 mg", ["phenelzine"]),
        ("Prozac 20 mg OD", ["fluoxetine"]),
        ("Tegretol 200mg bd", ["carbamazepine"]),
        ("tramadol MR 100mg", ["tramadol"]),
        ("co-codamol 30/500 2 tabs qds", ["codeine", "paracetamol"]),
        ("Co codamol", ["codeine", "paracetamol"]),
        ("paracetamol/codeine 500/30", ["paracetamol", "codeine"]),
        ("frusemide 40mg", ["furosemide"]),
        ("acetaminophen 1 g prn", ["paracetamol"]),
        ("Lithium carbonate 400mg nocte", ["lithium"]),
        ("Cocodamol 30/500", ["codeine", "paracetamol"]),
        ("Solpadeine Max 2 tabs qds", ["codeine", "paracetamol"]),
        ("Nurofen Plus 2 tabs tds", ["ibuprofen", "codeine"]),
        ("Zoloft 100mg", ["sertraline"]),
        ("Lyrica 75 mg bd", ["pregabalin"]),
        ("Zydol SR 100mg", ["tramadol"]),
        ("Priadel 400mg", ["lithium"]),
        ("Allegron 10mg", ["nortriptyline"]),
        ("Elavil 25mg", ["amitriptyline"]),
        ("Morphine sulfate MR 10mg bd", ["morphine"]),
    ],
)
def test_it_matches_generic_brand_spelling_and_every_ingredient(line, slugs):
    reading = read_medicine(RULES, Medication(line))
    assert reading.checked
    assert [d.slug for d in reading.ingredients] == slugs


@pytest.mark.parametrize(
    "line, suggestion",
    [("paroxetin 20mg", "Paroxetine"), ("sertralin", "Sertraline"), ("amitriptylin", "Amitriptyline")],
)
def test_it_suggests_a_spelling_for_a_misspelling_but_does_not_check_it(line, suggestion):
    reading = read_medicine(RULES, Medication(line))
    assert reading.status == MatchStatus.SUGGESTED
    assert not reading.checked and reading.ingredients == ()
    assert suggestion in reading.suggestions


def test_it_counts_a_confirmed_suggestion_as_checked():
    result = assess([Medication("paroxetin 20mg", confirmed_as="paroxetine")])
    assert "medicine-not-checked" not in codes(result)
    assert card(result, "cyp2d6-reduced").subjects == ("Paroxetine",)
    assert result.medicines[0].status == MatchStatus.CONFIRMED


def test_it_never_reads_quinine_as_quinidine():
    reading = read_medicine(RULES, Medication("quinine 300mg nocte"))
    assert reading.checked and [d.slug for d in reading.ingredients] == ["quinine"]
    result = assess(["quinine 300mg nocte"])
    assert "cyp2d6-reduced" not in codes(result)  # quinidine's CYP2D6 inhibition is not quinine's
    assert card(result, "qt-possible").subjects == ("Quinine (possible risk)",)
    quinidine = read_medicine(RULES, Medication("quinidin 200mg"))
    assert not quinidine.checked and "Quinidine" in quinidine.suggestions


def test_it_puts_an_unknown_line_on_the_not_checked_card_with_its_suggestion():
    result = assess(["paroxetin 20mg", "Zorblatrex 5 mg", "metformin 500mg bd"])
    not_checked = card(result, "medicine-not-checked")
    assert not_checked.subjects == ("paroxetin 20mg (did you mean Paroxetine?)", "Zorblatrex 5 mg")
    assert "Not checked: paroxetin 20mg (did you mean Paroxetine?); Zorblatrex 5 mg." in not_checked.detail
    assert result.unrecognised_medications == ("paroxetin 20mg", "Zorblatrex 5 mg")


def test_it_checks_a_common_medicine_with_no_listed_interaction_and_stays_quiet():
    result = assess(["paracetamol 1g qds", "metformin 500mg bd", "atorvastatin 20mg"])
    assert result.cards == ()
    assert all(r.checked and r.ingredients[0].action == "none" for r in result.medicines)


@pytest.mark.parametrize(
    "line",
    [
        "Amoxicillin 500mg tds",
        "Gliclazide 80mg bd",
        "Alendronic acid 70mg weekly",
        "Ferrous sulphate 200mg od",
        "Vitamin B12 1mg",
        "Calcium carbonate 1.25g",
        "Letrozole 2.5mg",
        "Finasteride 5mg",
        "Mebeverine 135mg tds",
        "Fybogel 1 sachet bd",
        "Docusate 100mg",
        "Bisacodyl 5mg nocte",
        "Ibuprofen 400mg tds",
        "Senna 7.5mg ON",
    ],
)
def test_it_checks_a_common_medicine_with_no_listed_interaction_without_a_card(line):
    result = assess([line])
    assert result.cards == ()
    assert result.medicines[0].checked and result.unrecognised_medications == ()


def test_it_reads_a_medicine_entered_by_brand_and_by_generic_once():
    result = assess(["Prozac 20 mg OD", "fluoxetine 20mg", "Seroxat 20mg"])
    assert card(result, "cyp2d6-reduced").subjects == ("Fluoxetine", "Paroxetine")
    assert card(result, "serotonergic-drug").subjects == ("Fluoxetine", "Paroxetine")


def test_it_counts_a_medicine_in_a_combination_and_alone_once():
    result = assess(["co-codamol 30/500 2 tabs qds", "codeine phosphate 30mg prn"], age=70)
    assert card(result, "cns-depressant").subjects == ("Codeine (in Co-codamol)",)
    assert [name for name, _ in result.anticholinergic_items] == ["amitriptyline", "Codeine (in Co-codamol)"]


def test_it_keeps_a_planned_last_dose_in_the_future_active():
    result = assess([Medication("fluoxetine 20mg", stopped_on=ON + timedelta(days=10))])
    assert card(result, "cyp2d6-reduced").subjects == ("Fluoxetine (last dose 2026-12-11)",)
    assert result.min_days_per_step == RULES.int_param("cautious_min_days_per_step")


def test_it_shows_the_maoi_washout_end_as_the_earliest_start():
    result = assess([Medication("Nardil 15mg tds", stopped_on=ON - timedelta(days=10))])
    assert card(result, "maoi-washout").indicator == Indicator.CRITICAL
    assert result.earliest_start == ON - timedelta(days=10) + timedelta(days=14)


def test_it_warns_about_seizures_only_with_epilepsy_for_every_threshold_lowering_drug():
    lowering = sorted(d.name for d in RULES.drugs if d.lowers_seizure_threshold and not d.ingredients)
    assert {"Bupropion", "Tramadol", "Haloperidol", "Quetiapine"} <= set(lowering)
    quiet = assess(lowering)
    loud = assess(lowering, conditions=["epilepsy"])
    assert card(quiet, "seizure-threshold").indicator == Indicator.INFO
    assert card(loud, "seizure-threshold").indicator == Indicator.WARNING
    assert set(card(loud, "seizure-threshold").subjects) == set(lowering)


# --- the examples ---------------------------------------------------------------------------


def test_it_blocks_on_phenelzine_with_a_dose():
    result = assess(["phenelzine 15 mg"])
    assert result.blocked
    assert card(result, "maoi-washout").subjects == ("Phenelzine",)
    assert result.earliest_start is None


def test_it_keeps_all_the_warnings_of_tramadol_with_a_dose():
    result = assess(["tramadol 50mg qds"], conditions=["epilepsy"])
    assert {"serotonergic-drug", "cns-depressant", "seizure-threshold", "qt-possible"} <= codes(result)
    assert card(result, "seizure-threshold").indicator == Indicator.WARNING


def test_it_gives_the_seizure_threshold_as_information_without_epilepsy():
    assert card(assess(["bupropion 150mg"]), "seizure-threshold").indicator == Indicator.INFO
    result = assess(["tramadol 50mg", "bupropion 150mg"], conditions=["epilepsy"])
    assert card(result, "seizure-threshold").subjects == ("Tramadol", "Bupropion")


def test_it_still_counts_fluoxetine_stopped_a_week_ago_as_inhibiting_cyp2d6():
    result = assess([Medication("Prozac 20 mg OD", stopped_on=ON - timedelta(days=7))])
    inhibition = card(result, "cyp2d6-reduced")
    assert inhibition.subjects == (f"Fluoxetine (last dose {(ON - timedelta(days=7)).isoformat()})",)
    assert (result.start, result.min_days_per_step) == (StartDose.OLDER, 14)
    assert "serotonergic-drug" in codes(result)


def test_it_stops_counting_fluoxetine_after_its_persistence_window():
    window = RULES.drug_by_slug("fluoxetine").persistence_days
    assert "cyp2d6-reduced" in codes(assess([Medication("fluoxetine", stopped_on=ON - timedelta(days=window - 1))]))
    assert "cyp2d6-reduced" not in codes(assess([Medication("fluoxetine", stopped_on=ON - timedelta(days=window))]))


def test_it_treats_terbinafine_as_a_strong_inhibitor_that_lasts():
    result = assess([Medication("terbinafine 250mg", stopped_on=ON - timedelta(days=60))])
    assert card(result, "cyp2d6-reduced").indicator == Indicator.WARNING


@pytest.mark.parametrize(
    "drug, code",
    [
        ("levothyroxine 100 micrograms", "thyroid-hormone"),
        ("mirabegron 50mg", "cyp2d6-moderate"),
        ("Tegretol 200mg", "cyp-inducer"),
        ("trazodone 50mg", "qt-possible"),
        ("tamoxifen 20mg", "qt-possible"),
        ("cinacalcet 30mg", "cyp2d6-moderate"),
        ("abiraterone 1g", "cyp2d6-moderate"),
        ("mirtazapine 15mg", "qt-possible"),
        ("metoclopramide 10mg", "qt-possible"),
        ("omeprazole 20mg", "qt-possible"),
        ("rifampicin 600mg", "cyp-inducer"),
    ],
)
def test_it_now_informs_on_catalogued_medicines_that_gave_no_card(drug, code):
    assert card(assess([drug]), code).indicator == Indicator.INFO


@pytest.mark.parametrize(
    "drug",
    [
        "quinidine",
        "chlorpromazine",
        "azithromycin",
        "levofloxacin",
        "moxifloxacin",
        "hydroxychloroquine",
        "donepezil",
        "flecainide",
        "pimozide",
        "sulpiride",
    ],
)
def test_it_warns_and_asks_for_an_ecg_on_known_risk_qt_drugs(drug):
    result = assess([drug])
    assert card(result, "qt-drug").indicator == Indicator.WARNING
    assert "baseline-ecg" in result.baseline_checks


def test_it_says_the_smpc_contraindicates_citalopram_with_qt_drugs():
    assert "contraindicates it with other QT-prolonging drugs" in card(assess(["citalopram 20mg"]), "qt-drug").detail


@pytest.mark.parametrize("drug", ["nortriptyline 10mg", "imipramine", "dosulepin 75mg", "lofepramine"])
def test_it_blocks_on_another_tricyclic(drug):
    result = assess([drug])
    assert result.blocked
    assert card(result, "duplicate-tricyclic").indicator == Indicator.CRITICAL


def test_it_blocks_on_amitriptyline_on_the_list_unless_it_is_this_course():
    assert card(assess(["amitriptyline 10mg nocte"]), "amitriptyline-on-list").indicator == Indicator.CRITICAL
    this_course = assess([Medication("Elavil 10mg", this_course=True)])
    assert not this_course.blocked
    assert this_course.anticholinergic_total == 3


def test_it_counts_every_anticholinergic_score_toward_the_total():
    result = assess(["furosemide 40mg", "codeine 30mg", "diazepam 2mg"], age=80)
    assert result.anticholinergic_total == 6
    assert card(result, "anticholinergic-burden").indicator == Indicator.WARNING


@pytest.mark.parametrize("measured", [{"potassium": Decimal("3.2")}, {"magnesium": Decimal("0.6")}])
def test_it_warns_and_asks_for_an_ecg_on_measured_low_potassium_or_magnesium(measured):
    result = assess(**measured)
    low = card(result, "low-potassium-magnesium")
    assert low.indicator == Indicator.WARNING
    assert low.effects.hold_at_start
    assert "baseline-ecg" in result.baseline_checks


def test_it_says_nothing_on_normal_potassium_and_magnesium():
    assert assess(potassium=Decimal("3.5"), magnesium=Decimal("0.7")).cards == ()


def test_it_can_start_the_next_day_after_linezolid_stopped_on_the_start_day():
    result = assess([Medication("linezolid 600mg bd", stopped_on=ON)])
    assert result.blocked
    assert result.earliest_start == ON + timedelta(days=1)
    assert "linezolid" not in str(codes(assess([Medication("linezolid", stopped_on=ON - timedelta(days=1))])))


def test_it_gives_one_card_for_the_same_maoi_current_and_stopped():
    result = assess(["phenelzine", Medication("phenelzine 15mg", stopped_on=ON - timedelta(days=3))])
    assert len(cards(result, "maoi-washout")) == 1
    assert result.earliest_start is None  # still taken: no safe date yet


def test_it_uses_the_latest_stop_of_an_maoi_stopped_twice():
    result = assess(
        [
            Medication("phenelzine", stopped_on=ON - timedelta(days=10)),
            Medication("Nardil", stopped_on=ON - timedelta(days=3)),
        ]
    )
    assert len(cards(result, "maoi-washout")) == 1
    assert result.earliest_start == ON + timedelta(days=11)


def test_it_checks_phenotypes_per_gene():
    with pytest.raises(EngineInputError) as raised:
        assess(cyp2d6=Phenotype.RAPID)
    assert raised.value.field == "cyp2d6"
    assert "cyp-ultrarapid-poor-2c19" in codes(assess(cyp2c19=Phenotype.RAPID))


def test_it_triggers_the_baseline_ecg_for_a_diuretic_but_not_for_a_conditional_qt_drug_alone():
    assert "baseline-ecg" in codes(assess(["bendroflumethiazide 2.5mg"]))
    assert "baseline-ecg" not in codes(assess(["omeprazole"], sex=Sex.MALE))
    assert "baseline-ecg" not in codes(assess(sex=Sex.FEMALE))
    assert "baseline-ecg" in codes(assess(["omeprazole"], sex=Sex.FEMALE))
    assert "baseline-ecg" in codes(assess(["omeprazole", "trazodone"], sex=Sex.MALE))


# --- every fact is read: properties over the catalog ----------------------------------------------------

FACT_CASES = {
    # fact -> (value that flags it, rule code, extra profile needed for it to show)
    "is_amitriptyline": (True, "amitriptyline-on-list", {}),
    "is_tricyclic": (True, "duplicate-tricyclic", {}),
    "is_maoi": (True, "maoi-washout", {}),
    "contraindicated": (True, "contraindicated-drug", {}),
    "lowers_seizure_threshold": (True, "seizure-threshold", {}),
    "cyp_inducer": (True, "cyp-inducer", {}),
    "cns_depressant": (True, "cns-depressant", {}),
    "cns_active": (True, "cns-active-older", {"age": 70, "meds": ["diazepam"]}),
    "lowers_electrolytes": (True, "electrolytes", {}),
    "sympathomimetic": (True, "sympathomimetic", {}),
    "lowers_blood_pressure": (True, "blood-pressure-drugs", {}),
    "thyroid_hormone": (True, "thyroid-hormone", {}),
    "loop_diuretic": (True, "qt-tally-raised", {"age": 70, "meds": ["citalopram"]}),
    "lowers_sodium": (True, "sodium-stacked", {"age": 70}),
    "serotonergic:yes": ("yes", "serotonergic-drug", {}),
    "serotonergic:low": ("low", "serotonergic-low", {}),
    "cyp2d6_inhibition:strong": ("strong", "cyp2d6-reduced", {}),
    "cyp2d6_inhibition:moderate": ("moderate", "cyp2d6-moderate", {}),
    "raises_levels:warning": ("warning", "raised-levels-avoid", {}),
    "raises_levels:info": ("info", "raised-levels", {}),
    "qt_risk:known": ("known", "qt-drug", {}),
    "qt_risk:possible": ("possible", "qt-possible", {}),
    "qt_risk:conditional": ("conditional", "qt-possible", {}),
    "anticholinergic_score": (None, "anticholinergic-burden", {}),
}


def _fact_of(key):
    return key.split(":")[0]


def test_it_has_a_rule_for_every_fact_the_engine_carries():
    declared = {f.name for f in fields(DrugFacts)} - {
        "slug", "name", "aliases", "drug_class", "note", "action", "ingredients", "sources", "reviewed_class",
    }  # fmt: skip
    assert declared == {*DRUG_FACT_FLAGS, *DRUG_FACT_CHOICES, *DRUG_FACT_NUMBERS}
    covered = {_fact_of(k) for k in FACT_CASES} | {"washout_days", "persistence_days"}
    assert covered == declared


def _flagged(key):
    fact = _fact_of(key)
    value = FACT_CASES[key][0]
    for drug in RULES.drugs:
        if fact == "is_tricyclic" and drug.is_amitriptyline:
            continue  # amitriptyline itself has its own rule
        current = getattr(drug, fact)
        if (value is None and current) or (value is not None and current == value):
            yield drug


@pytest.mark.parametrize("key", sorted(FACT_CASES))
def test_it_produces_the_card_of_each_flagged_catalog_medicine(key):
    _, code, extra = FACT_CASES[key]
    flagged = list(_flagged(key))
    if key in {"sympathomimetic", "serotonergic:low"}:
        assert flagged  # every fact is used by at least one medicine ...
    for drug in flagged:
        others = [m for m in extra.get("meds", []) if m != drug.name.casefold()] or ["sertraline"] * bool(extra)
        meds = [f"{drug.name} 10mg daily", *others]
        result = assess(meds, age=extra.get("age", 30))
        found = cards(result, code)
        assert found, f"{drug.name}: no {code} card"
        assert any(drug.name in " ".join(c.subjects) for c in found), (drug.name, code)


def test_it_carries_every_fact_on_some_catalog_medicine():
    unused = [key for key in FACT_CASES if not list(_flagged(key))]
    assert unused == []


def test_it_applies_persistence_to_every_flag_of_the_medicine():
    for drug in RULES.drugs:
        if drug.persistence_days < 2 or drug.is_maoi:
            continue
        current = assess([drug.name])
        recently = assess([Medication(drug.name, stopped_on=ON - timedelta(days=drug.persistence_days - 1))])
        assert {c.code for c in current.cards} == {c.code for c in recently.cards}, drug.name


# --- nothing entered is dropped -----------------------------------------------------------------------

CATALOG_NAMES = sorted({n for d in RULES.drugs for n in (d.name, *d.aliases)})
lines = st.one_of(
    st.sampled_from(CATALOG_NAMES),
    st.builds(
        lambda n, dose: f"{n} {dose}",
        st.sampled_from(CATALOG_NAMES),
        st.sampled_from(["10mg", "2 tabs qds", "1g prn", ""]),
    ),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=30),
    st.builds(lambda a, b: f"{a}/{b}", st.sampled_from(CATALOG_NAMES), st.text(min_size=1, max_size=10)),
)
stops = st.one_of(st.none(), st.dates(min_value=ON - timedelta(days=120), max_value=ON + timedelta(days=30)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.builds(Medication, name=lines, stopped_on=stops), max_size=8))
def test_it_never_drops_an_entered_medicine(meds):
    result = assess(meds)
    entered = [m for m in meds if m.name.strip()]
    assert len(result.medicines) == len(entered)
    not_checked = [c for c in result.cards if c.code == "medicine-not-checked"]
    for reading in result.medicines:
        if reading.checked:
            assert reading.ingredients
        else:
            assert len(not_checked) == 1
            assert reading.not_checked_label() in not_checked[0].subjects
