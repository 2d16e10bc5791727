"""Hypothesis properties of assess_risk: deterministic, well-formed, monotone in risk."""

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.conftest import indications_from, load_file, rulebook_from
from trialplanner.engine import Indicator, Medication, PatientProfile, assess_risk
from trialplanner.engine.types import PHENOTYPES_BY_GENE, Alcohol, Sex

DATA = load_file()
RULES = rulebook_from(DATA)
INDICATIONS = indications_from(DATA)
CONDITIONS = sorted(RULES.conditions)
DRUG_NAMES = sorted(d.name for d in RULES.drugs)
ON = date(2026, 12, 1)

cyp2d6_phenotypes = st.one_of(st.none(), st.sampled_from(PHENOTYPES_BY_GENE["cyp2d6"]))
cyp2c19_phenotypes = st.one_of(st.none(), st.sampled_from(PHENOTYPES_BY_GENE["cyp2c19"]))
stop_dates = st.one_of(st.none(), st.dates(min_value=ON - timedelta(days=60), max_value=ON + timedelta(days=60)))
medications = st.builds(
    Medication,
    name=st.one_of(st.sampled_from(DRUG_NAMES), st.text(min_size=1, max_size=20)),
    stopped_on=stop_dates,
)
profiles = st.builds(
    PatientProfile,
    age=st.integers(0, 110),
    sex=st.sampled_from(list(Sex)),
    frail=st.booleans(),
    falls=st.booleans(),
    pregnant=st.booleans(),
    breastfeeding=st.booleans(),
    self_harm_last_12_months=st.booleans(),
    alcohol=st.sampled_from(list(Alcohol)),
    conditions=st.frozensets(st.sampled_from(CONDITIONS), max_size=5),
    medications=st.lists(medications, max_size=6).map(tuple),
    cyp2d6=cyp2d6_phenotypes,
    cyp2c19=cyp2c19_phenotypes,
    qtc_ms=st.one_of(st.none(), st.integers(300, 700)),
)
indication_slugs = st.sampled_from(sorted(INDICATIONS))
fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(profile, slug):
    facts, protocol = INDICATIONS[slug]
    return assess_risk(profile, facts, protocol, RULES, ON)


def critical_codes(result):
    return {(c.code, c.subjects) for c in result.cards if c.indicator == Indicator.CRITICAL}


@fast
@given(profiles, indication_slugs)
def test_it_gives_a_deterministic_well_formed_result_for_any_profile(profile, slug):
    result = run(profile, slug)
    assert result == run(profile, slug)
    groups = [c.group for c in result.cards]
    assert groups == sorted(groups)  # critical, stacked, warnings, information
    assert len({c.code for c in result.all_cards}) == len(result.all_cards)  # one card per rule
    for card in result.cards:
        assert all(f.concern == card.concern and f.indicator is not Indicator.CRITICAL for f in card.folded)
    for card in result.all_cards:
        assert card.code in RULES.rules
        assert 0 < len(card.summary) <= 140
        assert card.sources
        assert card.action.value in {"avoid", "adjust", "monitor"}
    assert result.blocked == any(c.indicator == Indicator.CRITICAL for c in result.cards)
    assert result.anticholinergic_total == sum(score for _, score in result.anticholinergic_items)
    assert result.anticholinergic_total >= RULES.amitriptyline_acb
    assert set(result.baseline_checks) <= set(result.monitoring)
    if result.earliest_start is not None:
        assert result.earliest_start > ON


extra_factors = st.one_of(
    st.sampled_from(CONDITIONS).map(lambda c: ("condition", c)),
    medications.map(lambda m: ("medication", m)),
    st.sampled_from(["frail", "falls", "pregnant", "breastfeeding", "self_harm_last_12_months"]).map(
        lambda f: ("flag", f)
    ),
    st.integers(300, 700).map(lambda q: ("qtc", q)),
)


def add_factor(profile, factor):
    kind, value = factor
    fields = dict(profile.__dict__)
    if kind == "condition":
        fields["conditions"] = profile.conditions | {value}
    elif kind == "medication":
        fields["medications"] = (*profile.medications, value)
    elif kind == "flag":
        fields[value] = True
    elif profile.qtc_ms is None:
        fields["qtc_ms"] = value
    return PatientProfile(**fields)


@fast
@given(profiles, extra_factors, indication_slugs)
def test_it_never_removes_a_critical_card_on_adding_a_risk_factor(profile, factor, slug):
    before = run(profile, slug)
    after = run(add_factor(profile, factor), slug)
    assert {code for code, _ in critical_codes(before)} <= {code for code, _ in critical_codes(after)}
    assert len(after.all_cards) >= len(before.all_cards)  # a card may fold under a stacked one, never vanish
