"""The catalog loader and the data file it loads (reference section A)."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import Q

from trialplanner.catalog import models as m
from trialplanner.catalog.loader import DEFAULT_PATH, CatalogError, load_catalog, read_catalog

CATALOG_MODELS = [
    m.Source,
    m.Drug,
    m.Strength,
    m.OutcomeMeasure,
    m.Indication,
    m.Protocol,
    m.PublishedOutcome,
    m.MonitoringItem,
    m.Rule,
    m.RuleParameter,
    m.Condition,
    m.InteractingDrug,
    m.ReasonPreset,
    m.WatchFor,
]
CITED_MODELS = [model for model in CATALOG_MODELS if model is not m.Source]

# Reference section A.1: slug -> (start, older, frail, step, min days, target, ceiling, judge days)
A1_PROTOCOLS = {
    "peripheral-neuropathic-pain": ("10", "10", "5", "10", 7, "50", "75", 56),
    "postherpetic-neuralgia": ("10", "10", "5", "10", 7, "50", "75", 56),
    "migraine-prophylaxis": ("10", "10", "10", "10", 7, "50", "75", 84),
    "tension-type-headache": ("10", "10", "10", "10", 14, "50", "75", 84),
    "fibromyalgia": ("10", "10", "5", "10", 14, "25", "50", 56),
    "irritable-bowel-syndrome": ("10", "5", "5", "10", 7, "30", "30", 84),
    "bladder-pain-syndrome": ("10", "10", "10", "10", 7, "50", "75", 84),
    "insomnia": ("10", "10", "10", "10", 14, "10", "25", 42),
    "chronic-low-back-pain": ("10", "10", "10", "10", 7, "25", "75", 56),
}


@pytest.fixture
def empty_catalog(db):
    """Start from an empty catalog (the session loads one for every other test)."""
    for model in [m.DoseLimit, m.DrugClass, m.MedicineName, m.ReasonPreset, m.WatchFor, m.MonitoringItem,
                  m.Condition, m.Rule, m.Protocol,
                  m.PublishedOutcome, m.Indication, m.OutcomeMeasure, m.Strength, m.Drug, m.InteractingDrug,
                  m.RuleParameter, m.Source, m.CatalogVersion]:  # fmt: skip
        model.objects.all().delete()


def counts():
    return {model.__name__: model.objects.count() for model in CATALOG_MODELS}


@pytest.mark.django_db
def test_it_loads_twice_with_identical_row_counts(empty_catalog):
    first = load_catalog()
    after_first = counts()
    second = load_catalog()
    assert counts() == after_first
    assert sum(first.created.values()) > 0
    assert sum(second.created.values()) == 0
    assert sum(second.updated.values()) == 0


@pytest.mark.django_db
def test_it_restores_an_edited_row_on_reload():
    load_catalog()
    m.Protocol.objects.filter(indication__slug="fibromyalgia").update(ceiling_mg=Decimal("40"))
    report = load_catalog()
    assert report.updated == {"protocols": 1}
    assert m.Protocol.objects.get(indication__slug="fibromyalgia").ceiling_mg == Decimal("50")


@pytest.mark.django_db
def test_it_encodes_every_protocol_of_reference_section_a1(catalog):
    protocols = {p.indication.slug: p for p in m.Protocol.objects.select_related("indication")}
    assert set(protocols) == set(A1_PROTOCOLS)
    for slug, (start, older, frail, step, days, target, ceiling, judge) in A1_PROTOCOLS.items():
        p = protocols[slug]
        actual = (
            p.start_mg,
            p.older_start_mg,
            p.frail_start_mg,
            p.step_mg,
            p.min_days_per_step,
            p.default_target_mg,
            p.ceiling_mg,
            p.response_judgement_days,
        )
        expected = (
            Decimal(start),
            Decimal(older),
            Decimal(frail),
            Decimal(step),
            days,
            Decimal(target),
            Decimal(ceiling),
            judge,
        )
        assert actual == expected, slug
        assert p.first_review_days == 28, slug


@pytest.mark.django_db
def test_it_cites_a_source_on_every_row(catalog):
    for model in CITED_MODELS:
        uncited = model.objects.filter(sources__isnull=True)
        assert not uncited.exists(), f"{model.__name__} rows without a source: {list(uncited)}"
    assert m.Source.objects.filter(key="S3").exists()


@pytest.mark.django_db
def test_it_loads_the_tablet_and_liquid_strengths(catalog):
    offered = {(s.form, s.amount_mg, s.per_volume_ml) for s in m.Strength.objects.filter(is_active=True)}
    assert offered == {
        ("tablet", Decimal("10"), None),
        ("tablet", Decimal("25"), None),
        ("tablet", Decimal("50"), None),
        ("oral_solution", Decimal("10"), Decimal("5")),
    }


@pytest.mark.django_db
def test_it_keeps_rule_parameters_from_reference_section_a2(catalog):
    values = dict(m.RuleParameter.objects.values_list("key", "value"))
    assert values["qtc_warning_male_ms"] == 450
    assert values["qtc_warning_female_ms"] == 470
    assert values["qtc_critical_ms"] == 500
    assert values["older_age_years"] == 65
    moclobemide = m.InteractingDrug.objects.get(slug="moclobemide")
    phenelzine = m.InteractingDrug.objects.get(slug="phenelzine")
    assert (moclobemide.is_maoi, moclobemide.washout_days) == (True, 1)
    assert (phenelzine.is_maoi, phenelzine.washout_days) == (True, 14)
    assert m.Drug.objects.get(slug="amitriptyline").anticholinergic_score == 3


@pytest.mark.django_db
def test_it_fits_every_rule_summary_on_a_card(catalog):
    assert m.Rule.objects.filter(indicator="critical").count() >= 10
    for rule in m.Rule.objects.all():
        assert 0 < len(rule.summary) <= 140, rule.code


@pytest.mark.django_db
def test_it_rejects_a_start_above_the_ceiling_in_the_database(catalog):
    protocol = m.Protocol.objects.get(indication__slug="irritable-bowel-syndrome")
    with pytest.raises(IntegrityError), transaction.atomic():
        m.Protocol.objects.filter(pk=protocol.pk).update(start_mg=Decimal("40"))


@pytest.mark.django_db
def test_it_rejects_a_target_above_the_ceiling_in_the_database(catalog):
    protocol = m.Protocol.objects.get(indication__slug="insomnia")
    with pytest.raises(IntegrityError), transaction.atomic():
        m.Protocol.objects.filter(pk=protocol.pk).update(default_target_mg=Decimal("30"))


def write_variant(tmp_path, old, new):
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "catalog.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.django_db
def test_it_rejects_a_file_row_with_start_above_ceiling_and_writes_nothing(tmp_path, empty_catalog):
    data = read_catalog()
    ibs = next(i for i in data["indications"] if i["slug"] == "irritable-bowel-syndrome")
    assert ibs["protocol"]["ceiling_mg"] == "30"
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    path = tmp_path / "catalog.toml"
    # Raise every start in the file above its ceiling; the first protocol must fail the load.
    path.write_text(text.replace('start_mg = "10"', 'start_mg = "100"'), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"indications\[.*\]\.protocol"):
        load_catalog(path)
    assert m.Indication.objects.count() == 0


@pytest.mark.django_db
def test_it_names_an_unknown_source(tmp_path):
    path = write_variant(tmp_path, 'sources = ["S', 'sources = ["S999", "S')
    with pytest.raises(CatalogError, match="unknown source S999"):
        load_catalog(path)


@pytest.mark.django_db
def test_it_reports_invalid_toml(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("version = \n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid TOML"):
        load_catalog(path)


@pytest.mark.django_db
def test_it_writes_nothing_in_check_mode(capsys, empty_catalog):
    call_command("load_catalog", "--check")
    assert m.Indication.objects.count() == 0
    assert "Checked catalog version" in capsys.readouterr().out


@pytest.mark.django_db
def test_it_prints_what_the_command_did(capsys, empty_catalog):
    call_command("load_catalog")
    out = capsys.readouterr().out
    assert "indications: 9 created, 0 updated, 0 unchanged" in out
    call_command("load_catalog")
    assert "indications: 0 created, 0 updated, 9 unchanged" in capsys.readouterr().out


@pytest.mark.django_db
def test_it_rejects_internal_markers_in_clinician_facing_text(tmp_path):
    marked = 'summary = "UNCONFIRMED: known hypersensitivity'
    path = write_variant(tmp_path, 'summary = "Known hypersensitivity', marked)
    with pytest.raises(CatalogError, match=r"rules\[hypersensitivity\]\.summary: .*'UNCONFIRMED'"):
        load_catalog(path)
    path = write_variant(tmp_path, 'note = "Thyroid hormone', 'note = "See DESIGN.md. Thyroid hormone')
    with pytest.raises(CatalogError, match=r"levothyroxine\]\.note"):
        load_catalog(path)
    path = write_variant(tmp_path, "Specialists may go higher; sources disagree", "See the disagreement register")
    with pytest.raises(CatalogError, match=r"migraine-prophylaxis.*ceiling_note: .*'disagreement register'"):
        load_catalog(path)


@pytest.mark.django_db
def test_it_takes_the_facts_of_a_combination_from_its_ingredients(tmp_path):
    path = write_variant(tmp_path, 'ingredients = "codeine, paracetamol"', 'ingredients = "codeine, nosuchdrug"')
    with pytest.raises(CatalogError, match=r"co-codamol\]: ingredient nosuchdrug"):
        load_catalog(path)


@pytest.mark.django_db
def test_it_persists_an_maoi_for_its_washout(catalog):
    for drug in m.InteractingDrug.objects.filter(is_maoi=True):
        assert drug.persistence_days >= drug.washout_days, drug.slug
    assert m.InteractingDrug.objects.get(slug="fluoxetine").persistence_days == 63
    with pytest.raises(IntegrityError), transaction.atomic():
        m.InteractingDrug.objects.filter(slug="phenelzine").update(persistence_days=3)


@pytest.mark.django_db
def test_it_states_the_self_harm_supply_limit_in_days_and_total_mg(empty_catalog):
    call_command("load_catalog")
    rule = m.Rule.objects.get(code="self-harm")
    assert "14 days and 250 mg" in rule.detail and "5 mg per kg" in rule.detail
    assert "instalment dispensing" in rule.detail


# Warnings the risk check raises before a plan starts (a visit's findings are recorded with the visit).
PLANNING_WARNINGS = ~Q(code__startswith="visit-") & Q(indicator="warning")


@pytest.mark.django_db
def test_it_offers_preset_reasons_for_every_planning_warning(catalog):
    bare = m.Rule.objects.filter(PLANNING_WARNINGS, needs_specialist_advice=False, reason_presets__isnull=True)
    assert not bare.exists(), list(bare.values_list("code", flat=True))
    # High QT risk accepts only recorded specialist advice (who, when): no preset stands in for it.
    assert not m.Rule.objects.get(code="qt-tally-high").reason_presets.exists()
    not_checked = m.Rule.objects.get(code="medicine-not-checked").reason_presets.values_list("text", flat=True)
    assert "Reviewed the medicine: no interaction expected" in not_checked


@pytest.mark.django_db
def test_it_lets_a_preset_answer_only_a_warning(tmp_path):
    path = write_variant(tmp_path, 'rules = ["medicine-not-checked"]', 'rules = ["recent-mi"]')
    with pytest.raises(CatalogError, match=r"reason_presets\[.*\]: only a warning is acknowledged; recent-mi"):
        load_catalog(path)


@pytest.mark.django_db
def test_it_requires_a_watch_for_block_to_name_known_rules(tmp_path):
    path = write_variant(
        tmp_path,
        'rules = ["serotonergic-drug"]\ndisplay_order = 10\ntitle_en',
        'rules = ["no-such-rule"]\ndisplay_order = 10\ntitle_en',
    )
    with pytest.raises(CatalogError, match=r"watch_for\[serotonin\]: unknown rule no-such-rule"):
        load_catalog(path)


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["serotonin", "heart", "falls", "urine", "mood"])
def test_it_gives_each_watch_for_block_both_languages_and_sources(catalog, key):
    block = m.WatchFor.objects.get(key=key)
    for language in ("en", "es"):
        text = block.text(language)
        assert all(text.values()), (key, language)
    assert block.text("es")["title"] != block.text("en")["title"]
    assert block.sources.exists() and block.rules.exists()


@pytest.mark.django_db
def test_it_loads_which_presets_ask_for_details(catalog):
    assert m.ReasonPreset.objects.get(key="specialist-advice").needs_details
    assert not m.ReasonPreset.objects.get(key="discussed-benefit").needs_details  # the default


@pytest.mark.django_db
def test_it_refuses_a_needs_details_that_is_not_true_or_false(tmp_path):
    path = write_variant(tmp_path, 'details)"\nneeds_details = true', 'details)"\nneeds_details = "yes"')
    with pytest.raises(CatalogError, match=r"reason_presets\[specialist-advice\]: needs_details must be true or false"):
        load_catalog(path)


@pytest.mark.django_db
def test_it_refuses_a_class_member_without_reviewed_facts_where_members_differ(tmp_path):
    path = write_variant(
        tmp_path, 'members = "amiodarone, flecainide,', 'members = "amiodarone, procainamide, flecainide,'
    )
    with pytest.raises(CatalogError, match=r"drug_classes\[antiarrhythmics\]: procainamide has no reviewed facts"):
        load_catalog(path)


@pytest.mark.django_db
def test_it_refuses_a_medicine_in_two_classes_with_different_facts(tmp_path):
    path = write_variant(
        tmp_path, 'members = "gabapentin, pregabalin"', 'members = "gabapentin, pregabalin, nitrazepam"'
    )
    with pytest.raises(CatalogError, match=r"nitrazepam is also in benzodiazepines-z-drugs with other facts"):
        load_catalog(path)


@pytest.mark.django_db
def test_it_refuses_a_curated_name_that_the_catalog_already_reviews(tmp_path):
    path = write_variant(tmp_path, 'names = "co-careldopa, Sinemet', 'names = "co-careldopa, apixaban, Sinemet')
    with pytest.raises(CatalogError, match=r"medicine_names\[co-careldopa\]: apixaban is reviewed in the catalog"):
        load_catalog(path)
