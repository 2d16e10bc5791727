"""Code-system fields of the catalog: check digits, and the codes the interop layer relies on."""

from pathlib import Path

import pytest

from trialplanner.catalog import models as m
from trialplanner.catalog.codes import is_loinc, is_sctid, loinc_check_digit, verhoeff_valid
from trialplanner.catalog.loader import DEFAULT_PATH, CatalogError, load_catalog


@pytest.mark.parametrize("code", ["247398009", "2177002", "321745007", "29686711000001103"])
def test_it_accepts_snomed_ids_whose_verhoeff_digit_matches(code):
    assert is_sctid(code)


@pytest.mark.parametrize("code", ["247398008", "2177003", "321745070", "1172111000001102", "12345", "0247398009"])
def test_it_rejects_snomed_ids_with_a_wrong_digit_or_form(code):
    assert not is_sctid(code)


def test_it_catches_every_single_digit_change_and_adjacent_swap_with_verhoeff():
    code = "29686711000001103"
    for i, digit in enumerate(code):
        for other in "0123456789":
            if other != digit:
                assert not verhoeff_valid(code[:i] + other + code[i + 1 :]), (i, other)
    for i in range(len(code) - 1):
        if code[i] != code[i + 1]:
            assert not verhoeff_valid(code[:i] + code[i + 1] + code[i] + code[i + 2 :]), i


def test_it_follows_the_published_worked_example_for_the_loinc_check_digit():
    # LOINC's own example: the mod-10 check digit of 12345 is 5.
    assert loinc_check_digit("12345") == 5
    assert [is_loinc(c) for c in ["8636-3", "2823-3", "2601-3", "2951-2", "76634-5", "76635-2"]] == [True] * 6
    assert not is_loinc("8636-4")
    assert not is_loinc("86363")


@pytest.mark.django_db
def test_it_carries_the_amitriptyline_codes_in_the_catalog(catalog):
    assert m.Drug.objects.get(slug="amitriptyline").rxnorm_code == "704"
    tablets = {
        int(s.amount_mg): (s.rxnorm_code, s.dmd_code)
        for s in m.Strength.objects.filter(drug__slug="amitriptyline", form="tablet")
    }
    assert tablets[10] == ("856783", "321745007")
    assert tablets[25] == ("856834", "321746008")
    assert tablets[50] == ("856845", "321747004")
    solution = m.Strength.objects.get(drug__slug="amitriptyline", form="oral_solution", amount_mg=10)
    assert solution.dmd_code == "29686711000001103"
    assert solution.sources.filter(key="X6", unconfirmed=True).exists()


@pytest.mark.django_db
def test_it_gives_every_indication_a_checked_snomed_code_and_cites_it(catalog):
    for indication in m.Indication.objects.all():
        assert is_sctid(indication.snomed_code), indication.slug
        assert indication.sources.filter(key="X5").exists(), indication.slug


@pytest.mark.django_db
def test_it_covers_qtc_and_electrolytes_with_observation_codes(catalog):
    codes = dict(m.ObservationCode.objects.values_list("key", "loinc_code"))
    assert codes == {
        "qtc": "8636-3",
        "qtc-bazett": "76635-2",
        "qtc-fridericia": "76634-5",
        "potassium": "2823-3",
        "magnesium": "2601-3",
        "sodium": "2951-2",
    }
    assert not m.ObservationCode.objects.filter(sources__isnull=True).exists()


@pytest.mark.django_db
def test_it_stores_interacting_medicine_codes_as_cited_digits(catalog):
    coded = m.InteractingDrug.objects.exclude(rxnorm_code="")
    assert coded.count() >= 40
    assert coded.get(slug="fluoxetine").rxnorm_code == "4493"
    for drug in coded:
        assert drug.rxnorm_code.isdigit()
        assert drug.sources.filter(key="X3").exists(), drug.slug


def _variant(tmp_path, old, new):
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "catalog.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.django_db
def test_it_rejects_a_mistyped_snomed_code_in_the_loader_and_names_the_row(tmp_path, catalog):
    path = _variant(tmp_path, 'snomed_code = "37796009"', 'snomed_code = "37796008"')
    with pytest.raises(CatalogError, match=r"indications\[migraine-prophylaxis\].*37796008.*Verhoeff"):
        load_catalog(path)
    assert m.Indication.objects.get(slug="migraine-prophylaxis").snomed_code == "37796009"


@pytest.mark.django_db
def test_it_rejects_a_mistyped_dmd_code_in_the_loader(tmp_path, catalog):
    path = _variant(tmp_path, 'dmd_code = "321746008"', 'dmd_code = "321746009"')
    with pytest.raises(CatalogError, match=r"strengths\[\d+\].*321746009"):
        load_catalog(path)


@pytest.mark.django_db
def test_it_rejects_a_loinc_code_with_a_wrong_check_digit_in_the_loader(tmp_path, catalog):
    path = _variant(tmp_path, 'loinc_code = "2823-3"', 'loinc_code = "2823-4"')
    with pytest.raises(CatalogError, match=r"observation_codes\[potassium\].*2823-4.*mod-10"):
        load_catalog(path)


@pytest.mark.django_db
def test_it_cites_the_cross_check_for_coded_conditions(catalog):
    coded = m.Condition.objects.exclude(snomed_code="")
    assert dict(coded.values_list("slug", "snomed_code"))["diabetes"] == "73211009"
    for condition in coded:
        assert is_sctid(condition.snomed_code), condition.slug
        assert condition.sources.filter(key="X5").exists(), condition.slug


@pytest.mark.django_db
def test_it_checks_every_stored_code_and_cites_a_code_source(catalog):
    """SNOMED CT / dm+d ids carry a valid Verhoeff digit, LOINC a valid mod-10 digit, and every coded row
    cites where its code came from (interop.md, eCQM, CPIC, LOINC, the SNOMED cross-check or dm+d)."""
    code_sources = {"X1", "X2", "X3", "X4", "X5", "X6"}
    columns = [
        (m.Drug, ["rxnorm_code", "dmd_vtm_code"]),
        (m.Strength, ["rxnorm_code", "dmd_code"]),
        (m.Indication, ["snomed_code"]),
        (m.Condition, ["snomed_code"]),
        (m.InteractingDrug, ["rxnorm_code", "dmd_vtm_code"]),
        (m.ObservationCode, ["loinc_code"]),
    ]
    checked = 0
    for model, names in columns:
        for row in model.objects.all():
            for name in names:
                code = getattr(row, name, "")
                if not code:
                    continue
                checked += 1
                if name.startswith(("snomed", "dmd")):
                    assert is_sctid(code), (model.__name__, row.pk, name, code)
                elif name == "loinc_code":
                    assert is_loinc(code), (model.__name__, row.pk, code)
                else:
                    assert code.isdigit() and not code.startswith("0"), (model.__name__, row.pk, code)
                keys = set(row.sources.values_list("key", flat=True))
                assert keys & code_sources, (model.__name__, str(row), name, "cites no code source")
    assert checked >= 76  # every code the catalog holds today


@pytest.mark.django_db
def test_it_matches_rxnorm_ingredient_codes_to_the_cpic_drug_table(catalog):
    data = Path(__file__).parent / "data" / "cpic_drug_rxnorm.tsv"
    cpic = {}
    for line in data.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            rxcui, name = line.split("\t")
            cpic[name] = rxcui
    rows = [*m.Drug.objects.exclude(rxnorm_code=""), *m.InteractingDrug.objects.exclude(rxnorm_code="")]
    assert rows
    for row in rows:
        assert cpic.get(row.slug.replace("-", " ")) == row.rxnorm_code, (row.slug, row.rxnorm_code)
