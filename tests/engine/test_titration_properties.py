"""Hypothesis properties of build_plan and build_taper: the dose invariants."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.engine.conftest import indications_from, load_file, rulebook_from, strengths_from
from trialplanner.engine import (
    EngineInputError,
    Medication,
    PatientProfile,
    PlanOptions,
    StepKind,
    assess_risk,
    build_plan,
    build_taper,
)
from trialplanner.engine.titration import dose_grid
from trialplanner.engine.types import PHENOTYPES_BY_GENE, Alcohol, Sex

DATA = load_file()
RULES = rulebook_from(DATA)
INDICATIONS = indications_from(DATA)
STRENGTHS = strengths_from(DATA)
TABLETS = sorted({s.amount_mg for s in STRENGTHS if s.form == "tablet"})
fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Profiles that may carry any warning or info finding but no critical one, so that a plan
# is always built (critical findings are covered by the risk properties and PlanBlocked tests).
SAFE_CONDITIONS = sorted(
    c for c, facts in RULES.conditions.items() if RULES.rules[facts.rule_code].indicator != "critical"
)
SAFE_DRUGS = sorted(d.name for d in RULES.drugs if not (d.is_maoi or d.contraindicated))
profiles = st.builds(
    PatientProfile,
    age=st.integers(18, 100),
    sex=st.sampled_from(list(Sex)),
    frail=st.booleans(),
    falls=st.booleans(),
    pregnant=st.booleans(),
    breastfeeding=st.booleans(),
    self_harm_last_12_months=st.booleans(),
    alcohol=st.sampled_from(list(Alcohol)),
    conditions=st.frozensets(st.sampled_from(SAFE_CONDITIONS), max_size=4),
    medications=st.lists(st.sampled_from(SAFE_DRUGS).map(Medication), max_size=5).map(tuple),
    cyp2d6=st.one_of(st.none(), st.sampled_from(PHENOTYPES_BY_GENE["cyp2d6"])),
    cyp2c19=st.one_of(st.none(), st.sampled_from(PHENOTYPES_BY_GENE["cyp2c19"])),
    qtc_ms=st.one_of(st.none(), st.integers(300, 500)),
    potassium=st.one_of(st.none(), st.sampled_from([Decimal("3.1"), Decimal("3.5"), Decimal("4.2")])),
    sodium=st.one_of(st.none(), st.integers(126, 145)),
)


@st.composite
def plan_inputs(draw):
    slug = draw(st.sampled_from(sorted(INDICATIONS)))
    facts, protocol = INDICATIONS[slug]
    start = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)))
    target = draw(st.one_of(st.none(), st.sampled_from(dose_grid(protocol))))
    tablet = draw(st.one_of(st.none(), st.sampled_from(TABLETS)))
    days = draw(st.one_of(st.none(), st.integers(14, 35)))
    return draw(profiles), facts, protocol, start, target, tablet, days


def build(profile, facts, protocol, start, target, tablet, days):
    assessment = assess_risk(profile, facts, protocol, RULES, start)
    assume(not assessment.blocked)
    options = PlanOptions(strengths=STRENGTHS, target_mg=target, tablet_strength_mg=tablet, days_per_step=days)
    try:
        return build_plan(protocol, assessment, start, options, RULES), protocol
    except EngineInputError:  # e.g. a target below an adjusted start: refused, never a bad plan
        assume(False)


@fast
@given(plan_inputs())
def test_it_keeps_the_plan_invariants(inputs):
    draft, protocol = build(*inputs)
    steps = draft.steps
    assert steps and steps[0].start == draft.start_date and steps[-1].end == draft.end_date
    previous = None
    for step in steps:
        assert Decimal(0) < step.dose_mg <= protocol.ceiling_mg
        assert step.dispense.dose_mg == step.dose_mg  # tablets x strength (or ml) equals the dose
        assert all(t.count > 0 for t in step.tablets)
        if step.liquid_ml is None:
            assert step.tablets
        else:
            assert step.dose_mg < RULES.param("liquid_below_mg")  # liquid only below 10 mg
        if any(step.dose_mg % t == 0 for t in TABLETS):
            assert len(step.tablets) == 1  # one strength whenever one strength makes the dose
        if previous is not None:
            assert step.start == previous.end + timedelta(days=1)  # contiguous
            assert Decimal(0) < step.dose_mg - previous.dose_mg <= protocol.step_mg  # rises by at most a step
            assert previous.nights >= max(protocol.min_days_per_step, draft.days_per_step)
        previous = step
    dues = [f.due for f in draft.followups]
    assert dues == sorted(dues) and len(dues) == len(set(dues))
    assert all(draft.start_date <= due <= draft.end_date for due in dues)
    assert draft.target_mg == steps[-1].dose_mg


@fast
@given(plan_inputs())
def test_it_builds_deterministic_plans(inputs):
    first, _ = build(*inputs)
    second, _ = build(*inputs)
    assert first == second


@fast
@given(
    st.sampled_from([Decimal(v) for v in range(5, 80, 5)]),
    st.integers(0, 200),
    st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    st.sampled_from(TABLETS + [None]),
)
def test_it_keeps_the_taper_invariants(current, weeks, start, tablet):
    draft = build_taper(current, weeks, start, RULES, STRENGTHS, tablet)
    steps = draft.steps
    assert steps[0].dose_mg < current  # the first taper step is already lower (or the stop)
    assert steps[-1].dose_mg == 0 and steps[-1].kind == StepKind.STOP
    for earlier, later in zip(steps, steps[1:], strict=False):
        assert later.dose_mg < earlier.dose_mg
        assert later.start == earlier.end + timedelta(days=1)
    for step in steps:
        assert step.dispense.dose_mg == step.dose_mg
        if step.dose_mg and any(step.dose_mg % t == 0 for t in TABLETS):
            assert len(step.tablets) == 1  # one strength whenever one strength makes the dose
        assert step.liquid_ml is None or step.dose_mg < 10  # liquid only below 10 mg
    assert draft == build_taper(current, weeks, start, RULES, STRENGTHS, tablet)
    assert all(draft.start_date <= f.due <= draft.end_date for f in draft.followups)


@fast
@given(st.sampled_from(sorted(INDICATIONS)), st.decimals(min_value=1, max_value=200, places=1))
def test_it_always_refuses_targets_off_the_grid(slug, target):
    facts, protocol = INDICATIONS[slug]
    assume(target not in dose_grid(protocol))
    assessment = assess_risk(PatientProfile(age=30, sex=Sex.FEMALE), facts, protocol, RULES, date(2027, 1, 4))
    options = PlanOptions(strengths=STRENGTHS, target_mg=target)
    try:
        build_plan(protocol, assessment, date(2027, 1, 4), options, RULES)
    except EngineInputError as exc:
        assert exc.field == "target_mg"
    else:
        raise AssertionError(f"{target} mg was accepted as a target")


@fast
@given(plan_inputs())
def test_every_dated_check_a_card_asks_for_is_booked_and_guards_the_next_rise(inputs):
    """Reference A.4: a check asked for within N days is a follow-up within N days; no rise comes before
    it, and the first rise on or after it waits for the result (the handout says so)."""
    draft, protocol = build(*inputs)
    assessment = assess_risk(inputs[0], inputs[1], protocol, RULES, inputs[3])
    rises = [s for i, s in enumerate(draft.steps) if i and s.dose_mg > draft.steps[i - 1].dose_mg]
    for check in assessment.checks:
        if check.within_days is None:
            continue
        window = (
            draft.start_date + timedelta(days=check.after_days),
            draft.start_date + timedelta(days=check.within_days),
        )
        booked = [f for f in draft.followups if check.key in f.assess and window[0] <= f.due <= window[1]]
        assert booked, (check, draft.followups)
        assert all(rise.start >= booked[0].due for rise in rises)
        after = [rise for rise in rises if rise.start >= booked[0].due]
        if after:
            assert check.key in after[0].awaits
    if assessment.review_each_rise:
        for rise in rises:
            assert "rise-review" in rise.awaits
            assert any(f.due == rise.start and "rise-review" in f.assess for f in draft.followups)
