"""Titration and taper plans: reference section A.1 as date arithmetic.

Doses, steps, intervals and review times come from the protocol and the RuleBook
parameters (the catalog); this module only turns them into dated steps.
"""

import calendar
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from itertools import product

from trialplanner.engine import risk
from trialplanner.engine.errors import EngineInputError, PlanBlocked
from trialplanner.engine.plan_types import (
    Adjustment,
    Decision,
    Dispense,
    FollowUp,
    FollowUpKind,
    Form,
    PlanDraft,
    PlanOptions,
    Step,
    StepKind,
    StrengthFacts,
    TabletCount,
)
from trialplanner.engine.types import Assessment, ProtocolFacts, RuleBook, StartDose

# Follow-up contents, as catalog monitoring slugs.
BASELINE_OUTCOME = "baseline-outcome-score"
OUTCOME = "review-outcome-score"
SIDE_EFFECTS = "review-side-effects"
RED_FLAGS = "review-red-flags"
ADHERENCE = "review-adherence"
PERIODIC_REVIEW = "periodic-review"
LYING_STANDING_BP_REVIEW = "lying-standing-bp-review"
SODIUM_DOSE_CHANGE = "sodium-dose-change"
REVIEW_KEYS = (OUTCOME, SIDE_EFFECTS, RED_FLAGS, ADHERENCE)
# What a risk finding adds to every review during titration.
REVIEW_EXTRAS = {
    risk.MOOD: risk.MOOD,
    risk.LYING_STANDING_BP: LYING_STANDING_BP_REVIEW,
    risk.SODIUM: SODIUM_DOSE_CHANGE,
    risk.GLUCOSE: risk.GLUCOSE,
}
START_NAMES = {StartDose.OLDER: "older or higher-risk start", StartDose.FRAIL: "frail start"}
MONTHS_IN_FIRST_YEAR = 12


def add_months(day: date, months: int) -> date:
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def mg(value: Decimal) -> str:
    return f"{value.normalize():f} mg"


# --- doses as tablets or liquid ---------------------------------------------------------


def dispense(dose: Decimal, strengths, preferred_mg: Decimal | None = None) -> Dispense:
    """Whole tablets of the preferred strength, else the fewest whole tablets, else liquid."""
    if dose == 0:
        return Dispense()
    tablets = sorted({s.amount_mg for s in strengths if s.form is Form.TABLET}, reverse=True)
    if preferred_mg in tablets and dose % preferred_mg == 0:
        return Dispense(tablets=(TabletCount(preferred_mg, int(dose / preferred_mg)),))
    combination = _fewest_tablets(dose, tablets, preferred_mg)
    if combination:
        return Dispense(tablets=combination)
    liquids = sorted(
        (s for s in strengths if s.form is Form.ORAL_SOLUTION), key=lambda s: s.amount_mg / s.per_volume_ml
    )
    if liquids:
        liquid = liquids[0]
        return Dispense(liquid_ml=dose * liquid.per_volume_ml / liquid.amount_mg, liquid_strength=liquid)
    raise EngineInputError("strength_mg", f"{mg(dose)} cannot be made from whole tablets of the available strengths")


def _fewest_tablets(dose, tablets, preferred_mg):
    best = None
    limits = [int(dose // t) for t in tablets]
    for counts in product(*(range(limit + 1) for limit in limits)):
        if sum(c * t for c, t in zip(counts, tablets, strict=True)) != dose:
            continue
        # Fewest tablets; on a tie, more of the preferred strength.
        preferred_count = sum(c for c, t in zip(counts, tablets, strict=True) if t == preferred_mg)
        key = (sum(counts), -preferred_count)
        if best is None or key < best[0]:
            best = (key, counts)
    if best is None:
        return ()
    return tuple(TabletCount(t, c) for t, c in zip(tablets, best[1], strict=True) if c)


# --- titration ----------------------------------------------------------------------------


def build_plan(
    protocol: ProtocolFacts,
    assessment: Assessment,
    start_date: date,
    options: PlanOptions,
    rules: RuleBook,
) -> PlanDraft:
    """Build the dated titration plan of reference section A.1, adjusted by the assessment's cards."""
    if assessment.blocked:
        raise PlanBlocked(assessment.critical_cards)
    if assessment.earliest_start and start_date < assessment.earliest_start:
        raise EngineInputError("start_date", f"must be on or after {assessment.earliest_start.isoformat()}")
    adjustments = []
    if options.from_mg is not None:
        start_mg = Decimal(options.from_mg)
        if not Decimal(0) < start_mg <= protocol.ceiling_mg:
            raise EngineInputError("from_mg", f"must be above 0 and not above the ceiling of {mg(protocol.ceiling_mg)}")
    else:
        start_mg = protocol.start_for(assessment.start)
        if start_mg != protocol.start_mg:
            because = _because(assessment, lambda e: e.start == assessment.start)
            text = f"Start at {mg(start_mg)} ({START_NAMES[assessment.start]}) instead of {mg(protocol.start_mg)}."
            adjustments.append(Adjustment("start", text, because))

    target = protocol.default_target_mg if options.target_mg is None else Decimal(options.target_mg)
    if target > protocol.ceiling_mg:
        raise EngineInputError("target_mg", f"must not be above the ceiling of {mg(protocol.ceiling_mg)}")
    if target < start_mg:
        raise EngineInputError("target_mg", f"must be at least the start dose of {mg(start_mg)}")
    if target != protocol.default_target_mg and not options.hold:
        text = f"Planned target {mg(target)}, chosen by the clinician (usual target {mg(protocol.default_target_mg)})."
        adjustments.append(Adjustment("target", text))

    days = _days_per_step(protocol, assessment, options, adjustments)
    if options.hold:
        adjustments.append(Adjustment("hold", f"Held at {mg(start_mg)}, as decided at the visit."))
        doses = [start_mg]
    elif assessment.hold_at_start and target > start_mg:
        because = _because(assessment, lambda e: e.hold_at_start)
        text = f"Held at the start dose of {mg(start_mg)} until reviewed; no rise towards {mg(target)} yet."
        adjustments.append(Adjustment("hold", text, because))
        doses = [start_mg]
    else:
        doses = _titration_doses(start_mg, target, protocol.step_mg)

    first_review_days = protocol.first_review_days
    if assessment.early_first_review:
        first_review_days = min(first_review_days, rules.int_param("first_review_high_risk_days"))
        if first_review_days != protocol.first_review_days:
            because = _because(assessment, lambda e: e.early_first_review)
            text = f"First review after {first_review_days} days instead of {protocol.first_review_days}."
            adjustments.append(Adjustment("first-review", text, because))
    if assessment.supply_limit_days:
        because = _because(assessment, lambda e: e.supply_limit_days)
        text = f"Prescribe at most {assessment.supply_limit_days} days' supply at a time."
        adjustments.append(Adjustment("supply-limit", text, because))

    target_date = start_date + timedelta(days=days * (len(doses) - 1))
    response_date = max(
        start_date + timedelta(days=protocol.response_judgement_days), target_date + timedelta(days=days)
    )
    end_date = max(add_months(start_date, MONTHS_IN_FIRST_YEAR) - timedelta(days=1), response_date)
    held = options.hold or (assessment.hold_at_start and target > start_mg)
    steps = _steps(doses, start_date, days, end_date, options, hold=held)
    followups = _followups(
        assessment, rules, start_date, end_date, start_date + timedelta(days=first_review_days),
        target_date if len(doses) > 1 else None, response_date,
    )  # fmt: skip
    return PlanDraft(
        start_date=start_date,
        end_date=end_date,
        start_mg=start_mg,
        target_mg=doses[-1],
        ceiling_mg=protocol.ceiling_mg,
        days_per_step=days,
        target_date=target_date,
        response_date=response_date,
        supply_limit_days=assessment.supply_limit_days,
        steps=steps,
        followups=followups,
        adjustments=tuple(adjustments),
        cards=assessment.cards,
        monitoring=assessment.monitoring,
    )


def _because(assessment, predicate):
    return tuple(card.code for card in assessment.cards if predicate(card.effects))


def _days_per_step(protocol, assessment, options, adjustments):
    required = max(protocol.min_days_per_step, assessment.min_days_per_step or 0)
    if required != protocol.min_days_per_step:
        because = _because(assessment, lambda e: (e.min_days_per_step or 0) > protocol.min_days_per_step)
        text = f"At least {required} days per step instead of {protocol.min_days_per_step}."
        adjustments.append(Adjustment("step-interval", text, because))
    if options.days_per_step is None:
        return required
    if options.days_per_step < required:
        raise EngineInputError("days_per_step", f"must be at least {required} days for this patient")
    if options.days_per_step > required:
        text = f"{options.days_per_step} days per step, chosen by the clinician (at least {required} needed)."
        adjustments.append(Adjustment("step-interval-choice", text))
    return options.days_per_step


def _titration_doses(start_mg, target, step_mg):
    """Start, then the next multiple of the step each time, never past the target."""
    doses = [start_mg]
    while doses[-1] < target:
        on_grid = (doses[-1] // step_mg) * step_mg
        doses.append(min(target, on_grid + step_mg))
    return doses


def _steps(doses, start_date, days, end_date, options, hold=False):
    steps = []
    for number, dose in enumerate(doses, start=1):
        first = start_date + timedelta(days=days * (number - 1))
        last = end_date if number == len(doses) else first + timedelta(days=days - 1)
        if hold:
            kind = StepKind.HOLD
        elif number == len(doses):
            kind = StepKind.TARGET
        else:
            kind = StepKind.TITRATION
        step_dispense = dispense(dose, options.strengths, options.tablet_strength_mg)
        steps.append(Step(number, first, last, dose, step_dispense, kind))
    return tuple(steps)


def _review_keys(assessment, *extra):
    keys = list(REVIEW_KEYS)
    keys += [REVIEW_EXTRAS[k] for k in assessment.monitoring if k in REVIEW_EXTRAS]
    keys += [k for k in extra if k]
    return tuple(dict.fromkeys(keys))


def _followups(assessment, rules, start_date, end_date, first_review, target_date, response_date):
    repeat_ecg = risk.REPEAT_ECG if risk.REPEAT_ECG in assessment.monitoring else None
    visits = []
    if assessment.baseline_checks:
        visits.append(FollowUp(start_date, FollowUpKind.BASELINE, (*assessment.baseline_checks, BASELINE_OUTCOME)))
    at_target_in_first = target_date is not None and target_date <= first_review
    visits.append(
        FollowUp(first_review, FollowUpKind.FIRST_REVIEW,
                 _review_keys(assessment, repeat_ecg if at_target_in_first else None))
    )  # fmt: skip
    if target_date is not None and not at_target_in_first:
        visits.append(FollowUp(target_date, FollowUpKind.AT_TARGET, _review_keys(assessment, repeat_ecg)))
    visits.append(FollowUp(response_date, FollowUpKind.RESPONSE, _review_keys(assessment)))
    interval = rules.int_param("periodic_review_first_year_months")
    due = add_months(response_date, interval)
    while due <= end_date:
        visits.append(FollowUp(due, FollowUpKind.PERIODIC, (PERIODIC_REVIEW, OUTCOME, SIDE_EFFECTS)))
        due = add_months(due, interval)
    return _merge_same_day(visits)


def _merge_same_day(visits):
    merged = {}
    for visit in sorted(visits, key=lambda v: v.due):
        if visit.due in merged:
            earlier = merged[visit.due]
            merged[visit.due] = FollowUp(visit.due, earlier.kind, tuple(dict.fromkeys(earlier.assess + visit.assess)))
        else:
            merged[visit.due] = visit
    return tuple(merged.values())


# --- taper ----------------------------------------------------------------------------------


def build_taper(
    current_mg: Decimal,
    weeks_on_drug: int,
    start_date: date,
    rules: RuleBook,
    strengths: tuple[StrengthFacts, ...],
    tablet_strength_mg: Decimal | None = None,
) -> PlanDraft:
    """Reduce to zero by the taper step, faster after a short course (reference A.1, S45, S52)."""
    if current_mg <= 0:
        raise EngineInputError("current_mg", "must be above zero to taper")
    if weeks_on_drug < 0:
        raise EngineInputError("weeks_on_drug", "must not be negative")
    step = rules.param("taper_step_mg")
    last = rules.param("taper_last_step_mg")
    short_course = weeks_on_drug < rules.int_param("taper_short_course_weeks")
    days = rules.int_param("taper_short_interval_days" if short_course else "taper_interval_days")
    has_liquid = any(s.form is Form.ORAL_SOLUTION for s in strengths)
    doses = [current_mg]
    while doses[-1] > 0:
        below = ((doses[-1] / step).to_integral_value(rounding=ROUND_CEILING) - 1) * step
        if below <= 0:
            below = last if has_liquid and doses[-1] > last else Decimal(0)
        doses.append(below)
    steps = []
    for number, dose in enumerate(doses[:-1], start=1):
        first = start_date + timedelta(days=days * (number - 1))
        steps.append(
            Step(number, first, first + timedelta(days=days - 1), dose,
                 dispense(dose, strengths, tablet_strength_mg), StepKind.TAPER)
        )  # fmt: skip
    stop_date = steps[-1].end + timedelta(days=1)
    steps.append(Step(len(steps) + 1, stop_date, stop_date, Decimal(0), Dispense(), StepKind.STOP))
    reason = "treated for less than" if short_course else "treated for at least"
    adjustments = (
        Adjustment(
            "taper",
            f"Reduce by {mg(step)} every {days} days ({reason} {rules.int_param('taper_short_course_weeks')} weeks); "
            "slow down if withdrawal symptoms appear.",
        ),
    )
    followups = (FollowUp(stop_date, FollowUpKind.TAPER_REVIEW, (SIDE_EFFECTS, OUTCOME, risk.MOOD)),)
    return PlanDraft(
        start_date=start_date,
        end_date=stop_date,
        start_mg=current_mg,
        target_mg=Decimal(0),
        ceiling_mg=current_mg,
        days_per_step=days,
        target_date=stop_date,
        response_date=stop_date,
        supply_limit_days=None,
        steps=tuple(steps),
        followups=followups,
        adjustments=adjustments,
        cards=(),
        monitoring=(),
    )


# --- re-planning from a visit -----------------------------------------------------------------


def replan(
    decision: Decision,
    *,
    current_mg: Decimal,
    target_mg: Decimal,
    protocol: ProtocolFacts,
    assessment: Assessment,
    on: date,
    options: PlanOptions,
    rules: RuleBook,
    weeks_on_drug: int,
) -> PlanDraft:
    """Re-plan from a visit on `on`: continue, step up, hold, step down, or stop (taper)."""
    if decision is Decision.STOP:
        return build_taper(current_mg, weeks_on_drug, on, rules, options.strengths, options.tablet_strength_mg)
    step = protocol.step_mg
    if decision is Decision.STEP_UP:
        if current_mg >= protocol.ceiling_mg:
            raise EngineInputError("decision", f"already at the ceiling of {mg(protocol.ceiling_mg)}")
        if assessment.hold_at_start:
            raise EngineInputError("decision", "no rise while a finding holds the dose; review it first")
        start = min(protocol.ceiling_mg, (current_mg // step) * step + step)
        return build_plan(protocol, assessment, on, replace(options, from_mg=start, target_mg=max(target_mg, start)),
                          rules)  # fmt: skip
    if decision is Decision.CONTINUE:
        target = max(target_mg, current_mg)
        return build_plan(protocol, assessment, on, replace(options, from_mg=current_mg, target_mg=target), rules)
    if decision is Decision.HOLD:
        return build_plan(
            protocol, assessment, on, replace(options, from_mg=current_mg, target_mg=current_mg, hold=True), rules
        )
    # Step down: the step grid below, or the frail start as the last rung before stopping.
    below = ((current_mg / step).to_integral_value(rounding=ROUND_CEILING) - 1) * step
    if below <= 0:
        below = protocol.frail_start_mg if protocol.frail_start_mg < current_mg else Decimal(0)
    if below <= 0:
        raise EngineInputError("decision", f"{mg(current_mg)} is already the lowest dose; choose stop instead")
    return build_plan(protocol, assessment, on, replace(options, from_mg=below, target_mg=below, hold=True), rules)
