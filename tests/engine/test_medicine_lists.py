"""Real medicine lists (reference A.4): three states per line, classes reviewed, A.4's facts and dose rules."""

from datetime import date
from decimal import Decimal

import pytest

from tests.engine.conftest import indications_from, load_file, rulebook_from
from trialplanner.engine import Medication, PatientProfile, assess_risk
from trialplanner.engine.medicines import MatchStatus, ReviewState, interaction_label, read_medicine
from trialplanner.engine.types import Sex

ON = date(2026, 3, 2)
DATA = load_file()
# A stand-in for the open dictionary: exact names to the dictionary's generic names, as it holds them.
DICTIONARY = {
    "warfarin": "warfarin",
    "coumadin": "warfarin",
    "brintellix": "vortioxetine",
    "eliquis": "apixaban",
    "ventolin": "albuterol",
    "albuterol": "albuterol",
    "salbutamol": "albuterol",
    "fostair": "beclometasone/formoterol",
    "microgynon": "ethinylestradiol/levonorgestrel",
    "septrin": "sulfamethoxazole/trimethoprim",
    "levonorgestrel": "levonorgestrel",
}
RULES = rulebook_from(DATA, DICTIONARY)
INDICATIONS = indications_from(DATA)


def read(line, **kw):
    return read_medicine(RULES, Medication(line, **kw))


def assess(meds=(), conditions=(), **profile):
    profile.setdefault("age", 40)
    profile.setdefault("sex", Sex.MALE)
    medications = tuple(m if isinstance(m, Medication) else Medication(m) for m in meds)
    person = PatientProfile(conditions=frozenset(conditions), medications=medications, **profile)
    facts, protocol = INDICATIONS["peripheral-neuropathic-pain"]
    return assess_risk(person, facts, protocol, RULES, ON)


def card(result, code):
    """The card of this rule, shown or folded under a stacked card."""
    found = [c for c in result.all_cards if c.code == code]
    assert len(found) == 1, f"{len(found)} {code} cards in {[c.code for c in result.all_cards]}"
    return found[0]


def codes(result):
    return {c.code for c in result.all_cards}


# --- three states --------------------------------------------------------------------------------


def test_a_brand_the_catalog_lacks_reads_through_the_dictionary_as_the_reviewed_medicine():
    reading = read("Brintellix 10mg od")
    assert reading.state is ReviewState.REVIEWED and reading.status is MatchStatus.MATCHED
    assert [d.name for d in reading.ingredients] == ["Vortioxetine"]
    assert "Vortioxetine" in card(assess(["Brintellix 10mg od"]), "serotonergic-drug").subjects


def test_a_real_medicine_nobody_reviewed_is_one_info_card_never_the_not_checked_warning():
    result = assess(["warfarin 3mg od", "Coumadin 1mg"])
    info = card(result, "medicine-not-reviewed")
    assert info.indicator.value == "info" and info.subjects == ("warfarin", "Coumadin (warfarin)")
    assert "not a statement that there is no interaction" in info.detail
    assert "medicine-not-checked" not in codes(result)
    assert result.unreviewed_medications == ("warfarin 3mg od", "Coumadin 1mg") and not result.unrecognised_medications
    assert read("warfarin 3mg").status is MatchStatus.RECOGNISED and not read("warfarin 3mg").checked


def test_a_name_nothing_knows_keeps_its_warning_and_is_never_fuzzy_matched_to_the_dictionary():
    result = assess(["Zorblatrex 5 mg", "warfarine 3mg"])
    assert card(result, "medicine-not-checked").subjects == ("Zorblatrex 5 mg", "warfarine 3mg")
    assert "medicine-not-reviewed" not in codes(result)
    assert read("warfarine 3mg").state is ReviewState.NOT_RECOGNISED


def test_a_combination_reads_reviewed_parts_and_names_the_part_nobody_reviewed():
    fostair = read("Fostair 100/6 2 puffs bd")
    assert [d.name for d in fostair.ingredients] == ["Beclometasone", "Formoterol"] and fostair.checked
    septrin = read("Septrin 480mg bd")
    assert [d.name for d in septrin.ingredients] == ["Trimethoprim"] and septrin.unreviewed == ("sulfamethoxazole",)
    assert septrin.status is MatchStatus.RECOGNISED and septrin.state is ReviewState.RECOGNISED
    pill = read("Microgynon 30")
    assert pill.unreviewed == ("ethinylestradiol", "levonorgestrel") and pill.state is ReviewState.RECOGNISED
    # UK brands the dictionary lacks are recognised from the catalog's curated names.
    assert read("Seretide 250").state is ReviewState.REVIEWED
    assert read("Sinemet 110").unreviewed == ("levodopa", "carbidopa")


def test_reviewed_none_listed_names_its_source_and_never_says_safe():
    for line in ("apixaban 5mg bd", "Eliquis 2.5mg bd", "clopidogrel 75mg", "aspirin 75mg", "Xarelto 20mg"):
        reading = read(line)
        assert reading.state is ReviewState.REVIEWED, line
        label = interaction_label(reading.ingredients[0], {})
        assert label.startswith("none listed in UK SmPC") and "safe" not in label
    assert codes(assess(["apixaban 5mg bd", "clopidogrel 75mg", "edoxaban 60mg", "dabigatran 150mg bd"])) <= {
        "baseline-ecg"
    }


A4_NAMED = [
    "vortioxetine", "agomelatine", "trazodone", "mirtazapine", "tapentadol", "dihydrocodeine", "buprenorphine",
    "fentanyl", "sodium valproate", "valproic acid", "lamotrigine", "levetiracetam", "topiramate", "zonisamide",
    "hyoscine", "cyclizine", "quinine", "hydroxyzine", "cyclobenzaprine", "clopidogrel", "apixaban",
    "rivaroxaban", "edoxaban", "dabigatran", "aspirin", "nitrazepam", "naratriptan", "bumetanide", "ofloxacin",
    "prochlorperazine", "aripiprazole", "baclofen", "methocarbamol", "dronedarone", "voriconazole", "spironolactone",
]  # fmt: skip


@pytest.mark.parametrize("name", A4_NAMED)
def test_every_medicine_a4_names_is_reviewed_by_its_own_row_or_its_class(name):
    reading = read(name)
    assert reading.state is ReviewState.REVIEWED, name
    assert all(d.sources for d in reading.ingredients)


# --- A.4's missing facts ------------------------------------------------------------------------


def test_quinine_is_a_possible_risk_qt_drug_and_hydroxyzine_a_warning_on_every_plan():
    assert card(assess(["quinine sulfate 300mg nocte"]), "qt-possible").subjects == ("Quinine (possible risk)",)
    hydroxyzine = card(assess(["hydroxyzine 25mg"]), "qt-drug")
    assert hydroxyzine.indicator.value == "warning" and "MHRA" in hydroxyzine.detail


def test_valproate_raises_levels_and_tapentadol_and_vortioxetine_are_serotonergic():
    result = assess(["Epilim 500mg bd", "tapentadol 50mg bd", "vortioxetine 10mg"])
    assert card(result, "raised-levels").subjects == ("Valproate",)
    assert set(card(result, "serotonergic-drug").subjects) == {"Tapentadol", "Vortioxetine"}
    assert "Tapentadol" in card(result, "seizure-threshold").subjects


def test_cyclobenzaprine_warns_of_additive_tricyclic_effects_without_the_duplicate_tricyclic_block():
    result = assess(["cyclobenzaprine 10mg tds"])
    assert "duplicate-tricyclic" not in codes(result) and not result.blocked
    assert "Tricyclic structure" in card(result, "serotonergic-drug").detail
    assert dict(result.anticholinergic_items)["Cyclobenzaprine"] == 2


# --- doses read from the line (A.4 dose rules) --------------------------------------------------------


def test_citalopram_40_mg_at_70_warns_naming_the_dose_and_the_older_limit():
    result = assess(["citalopram 40 mg od"], age=70)
    warning = card(result, "ssri-qt-dose")
    assert warning.subjects == ("Citalopram 40 mg a day",)
    assert "above 20 mg a day at age 65 or over" in warning.detail and "citalopram 40 mg od" in warning.detail
    assert "ssri-qt-dose" not in codes(assess(["citalopram 40 mg od"], age=50))
    assert "ssri-qt-dose" in codes(assess(["citalopram 60mg od"], age=50))
    assert "ssri-qt-dose" in codes(
        assess(["citalopram 30mg od"], age=50, conditions={"liver-impairment-mild-moderate"})
    )


def test_escitalopram_limits_read_the_same_way():
    assert "ssri-qt-dose" in codes(assess(["escitalopram 15mg od"], age=66))
    assert "ssri-qt-dose" not in codes(assess(["escitalopram 15mg od"], age=64))
    assert "ssri-qt-dose" in codes(assess(["Lexapro 10mg 1 tab tds"], age=40))
    assert "ssri-qt-dose" not in codes(assess(["Lexapro 10mg 1 tab bd"], age=40))  # 20 mg: at the limit


@pytest.mark.parametrize(
    ("line", "age", "fires"),
    [
        ("tramadol 100mg qds", 40, True),  # 400 mg a day: the limit itself is too much
        ("tramadol 50mg qds", 40, False),
        ("tramadol 50mg prn max 8/day", 40, True),
        ("tramadol 100mg tds", 80, False),  # 300 mg a day over 75: at the limit, not above it
        ("tramadol 50mg 7 times a day", 80, True),  # 350 mg a day over 75
        ("tramadol 100mg tds", 75, False),  # "over 75" starts at 76
        ("Tramacet 37.5/325 2 tabs qds", 80, False),  # 300 mg of tramadol
    ],
)
def test_tramadol_high_dose(line, age, fires):
    assert ("tramadol-high-dose" in codes(assess([line], age=age))) is fires


def test_methadone_above_100_mg_asks_for_an_ecg_before_the_start_and_at_the_target():
    result = assess(["methadone 120mg"])
    warning = card(result, "methadone-high-dose")
    assert warning.subjects == ("Methadone 120 mg a dose (at least that a day)",)
    assert {"baseline-ecg", "repeat-ecg-at-target"} <= set(result.monitoring)
    assert "methadone-high-dose" not in codes(assess(["methadone 90mg od"]))
    assert "methadone-high-dose" in codes(assess(["methadone 1mg/ml oral solution 110 ml daily"]))


def test_a_dose_that_cannot_be_read_is_said_so_never_guessed():
    result = assess(["citalopram", "tramadol as directed"])
    assert card(result, "dose-not-read").subjects == ("citalopram", "tramadol as directed")
    assert "ssri-qt-dose" not in codes(result) and "tramadol-high-dose" not in codes(result)
    assert read("citalopram").dose_read() == ""
    assert read("citalopram one daily").dose_read().startswith("not read")


def test_a_stopped_medicine_has_no_dose_warning_and_a_correction_wins_over_the_line():
    assert "ssri-qt-dose" not in codes(assess([Medication("citalopram 60mg od", stopped_on=date(2026, 2, 1))]))
    corrected = Medication("citalopram 20mg tabs", daily_mg=Decimal("60"))
    result = assess([corrected])
    assert card(result, "ssri-qt-dose").subjects == ("Citalopram 60 mg a day",)
    assert read("citalopram 20mg", daily_mg=Decimal("60")).dose_read() == "entered by the clinician as 60 mg a day"
