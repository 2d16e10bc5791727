"""Titration and taper plans: reference section A.1 as date arithmetic.

Doses, steps, intervals and review times come from the protocol and the RuleBook
parameters (the catalog); this module only turns them into dated steps.
"""

import calendar
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

from trialplanner.engine import risk
from trialplanner.engine.daterange import check_date
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
from trialplanner.engine.types import Assessment, Card, DatedCheck, Effects, ProtocolFacts, RuleBook, StartDose

# Follow-up contents, as catalog monitoring slugs.
BASELINE_OUTCOME = "baseline-outcome-score"
OUTCOME = "review-outcome-score"
SIDE_EFFECTS = "review-side-effects"
RED_FLAGS = "review-red-flags"
ADHERENCE = "review-adherence"
PERIODIC_REVIEW = "periodic-review"
LYING_STANDING_BP_REVIEW = "lying-standing-bp-review"
SODIUM_DOSE_CHANGE = "sodium-dose-change"
REPEAT_ECG_BEFORE_RISE = "repeat-ecg-before-rise"
RISE_REVIEW = "rise-review"
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


def dispense(
    dose: Decimal,
    strengths: Iterable[StrengthFacts],
    preferred_mg: Decimal | None = None,
    liquid_below_mg: Decimal | None = None,
) -> Dispense:
    """One strength, the fewest whole tablets of it; two strengths only when no single one makes
    the dose; liquid only below `liquid_below_mg` (reference A.1, S1 S3)."""
    if dose == 0:
        return Dispense()
    tablets = sorted({s.amount_mg for s in strengths if s.form is Form.TABLET}, reverse=True)
    single = [(dose / t, t != preferred_mg, -t) for t in tablets if dose % t == 0]
    if single:
        count, _, negative_strength = min(single)
        return Dispense(tablets=(TabletCount(-negative_strength, int(count)),))
    combination = _fewest_tablets(dose, tablets, preferred_mg)
    if combination:
        return Dispense(tablets=combination)
    liquids = sorted((s for s in strengths if s.form is Form.ORAL_SOLUTION), key=lambda s: s.amount_mg / _volume_ml(s))
    if liquids and (liquid_below_mg is None or dose < liquid_below_mg):
        liquid = liquids[0]
        return Dispense(liquid_ml=dose * _volume_ml(liquid) / liquid.amount_mg, liquid_strength=liquid)
    raise EngineInputError("strength_mg", f"{mg(dose)} cannot be made from whole tablets of the available strengths")


def _volume_ml(liquid: StrengthFacts) -> Decimal:
    """The volume an oral solution's strength is stated per (always set for a liquid)."""
    assert liquid.per_volume_ml is not None
    return liquid.per_volume_ml


def _fewest_tablets(dose: Decimal, tablets: Sequence[Decimal], preferred_mg: Decimal | None) -> tuple[TabletCount, ...]:
    """The fewest tablets of exactly two strengths that make the dose, or ()."""
    best: tuple[tuple[int, int], tuple[tuple[Decimal, int], ...]] | None = None
    for high, low in ((a, b) for i, a in enumerate(tablets) for b in tablets[i + 1 :]):
        for high_count in range(1, int(dose // high) + 1):
            rest = dose - high * high_count
            if rest <= 0 or rest % low:
                continue
            low_count = int(rest / low)
            preferred_count = (high_count if high == preferred_mg else 0) + (low_count if low == preferred_mg else 0)
            key = (high_count + low_count, -preferred_count)
            if best is None or key < best[0]:
                best = (key, ((high, high_count), (low, low_count)))
    if best is None:
        return ()
    return tuple(TabletCount(t, c) for t, c in best[1])


def dose_grid(protocol: ProtocolFacts) -> tuple[Decimal, ...]:
    """Doses a plan may aim for: the start doses, each multiple of the step up to the ceiling,
    the usual target and the ceiling (reference A.1: targets lie on the protocol's dose grid)."""
    values = {protocol.start_mg, protocol.older_start_mg, protocol.frail_start_mg, protocol.default_target_mg}
    values.add(protocol.ceiling_mg)
    dose = protocol.step_mg
    while dose <= protocol.ceiling_mg:
        values.add(dose)
        dose += protocol.step_mg
    return tuple(sorted(values))


def _check_strength(options: PlanOptions) -> None:
    if options.tablet_strength_mg is None:
        return
    active = sorted({s.amount_mg for s in options.strengths if s.form is Form.TABLET})
    if options.tablet_strength_mg not in active:
        listed = ", ".join(mg(a) for a in active)
        raise EngineInputError(
            "strength_mg", f"{mg(options.tablet_strength_mg)} is not an active tablet strength; use one of {listed}"
        )


# --- titration ----------------------------------------------------------------------------


def build_plan(
    protocol: ProtocolFacts,
    assessment: Assessment,
    start_date: date,
    options: PlanOptions,
    rules: RuleBook,
) -> PlanDraft:
    """Build the dated titration plan of reference section A.1, adjusted by the assessment's cards."""
    check_date("start_date", start_date)
    if assessment.blocked:
        raise PlanBlocked(assessment.critical_cards)
    _check_earliest_start(assessment, start_date)
    return _build(protocol, assessment, start_date, options, rules)


def _check_earliest_start(assessment: Assessment, start_date: date) -> None:
    if assessment.earliest_start and start_date < assessment.earliest_start:
        raise EngineInputError("start_date", f"must be on or after {assessment.earliest_start.isoformat()}")


def _build(
    protocol: ProtocolFacts,
    assessment: Assessment,
    start_date: date,
    options: PlanOptions,
    rules: RuleBook,
    *,
    replanned: bool = False,
    response_judged: bool = False,
    course_start: date | None = None,
) -> PlanDraft:
    """build_plan without the blocking checks: a safer decision at a visit still needs a plan.

    `response_judged`: the response was judged at an earlier visit of the course and this plan holds
    the dose, so no new response judgement is booked; reviews continue at the periodic interval.
    `course_start`: the first night of the course when re-planning; the response is judged that many
    days after the course began (and after a full step at the target), not after the re-plan.
    """
    _check_strength(options)
    adjustments: list[Adjustment] = []
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
    if options.target_mg is None and options.from_mg is None and assessment.target_cap_mg is not None:
        capped = _capped_target(protocol, assessment.target_cap_mg, start_mg)
        if capped < target:
            because = _because(assessment, lambda e: e.target_cap_mg is not None)
            text = (
                f"Planned target {mg(capped)} instead of {mg(protocol.default_target_mg)} (frail or dementia); "
                f"the clinician may choose up to {mg(protocol.ceiling_mg)}."
            )
            adjustments.append(Adjustment("target-cap", text, because))
            target = capped
    if target > protocol.ceiling_mg:
        raise EngineInputError("target_mg", f"must not be above the ceiling of {mg(protocol.ceiling_mg)}")
    if target < start_mg:
        raise EngineInputError("target_mg", f"must be at least the start dose of {mg(start_mg)}")
    if options.from_mg is None and options.target_mg is not None and target not in dose_grid(protocol):
        allowed = ", ".join(f"{d.normalize():f}" for d in dose_grid(protocol) if start_mg <= d)
        raise EngineInputError("target_mg", f"must be a dose on the protocol's grid: {allowed} mg")
    capped_default = (
        _capped_target(protocol, assessment.target_cap_mg, start_mg) if assessment.target_cap_mg is not None else None
    )
    if (
        options.from_mg is None
        and options.target_mg is not None
        and capped_default is not None
        and target > capped_default
    ):
        because = _because(assessment, lambda e: e.target_cap_mg is not None)
        text = (
            f"Planned target {mg(target)}, chosen by the clinician above the frail or dementia default "
            f"of {mg(capped_default)}."
        )
        adjustments.append(Adjustment("target", text, because))
    elif target != protocol.default_target_mg and not options.hold and options.target_mg is not None:
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
        text = f"Prescribe at most {assessment.supply_limit_days} days' supply at a time"
        if assessment.supply_limit_mg:
            text += f", and no more than {mg(assessment.supply_limit_mg)} of amitriptyline in one supply"
        text += "."
        adjustments.append(Adjustment("supply-limit", text, because))

    windows = _window_checks(assessment.checks, start_date)
    first_rise = start_date + timedelta(days=days)
    if len(doses) > 1 and windows and max(due for _, due in windows) > first_rise:
        first_rise = max(due for _, due in windows)
        keys = ", ".join(dict.fromkeys(check.key for check, _ in windows))
        because = _because(assessment, lambda e: any(c.within_days is not None for c in e.checks))
        adjustments.append(
            Adjustment("rise-waits", f"First rise on {first_rise.isoformat()}, after the check ({keys}).", because)
        )
    target_date = start_date if len(doses) == 1 else first_rise + timedelta(days=days * (len(doses) - 2))
    response_date = max(
        (course_start or start_date) + timedelta(days=protocol.response_judgement_days),
        target_date + timedelta(days=days),
    )
    if course_start is not None:
        # Re-planned in a running course: the response at the new dose is judged no sooner than the
        # review of the change (the same visit when they fall together), never before it.
        response_date = max(response_date, start_date + timedelta(days=first_review_days))
    end_date = max(add_months(start_date, MONTHS_IN_FIRST_YEAR) - timedelta(days=1), response_date)
    held = options.hold or (assessment.hold_at_start and target > start_mg)
    steps = _steps(doses, start_date, days, end_date, options, rules, hold=held, first_rise=first_rise)
    # A QTc hold books the repeat ECG at the first review: no rise until it is below the threshold.
    # A hold books what it waits for at the first review: a repeat ECG after a QTc or electrolyte hold (no
    # rise until it is below the threshold), potassium and magnesium again after a low result.
    first_extra: tuple[str, ...] = ()
    holding = [c.effects for c in assessment.all_cards if c.effects.hold_at_start]
    if any(risk.REPEAT_ECG in e.monitoring for e in holding):
        first_extra += (REPEAT_ECG_BEFORE_RISE,)
    if any(risk.ELECTROLYTES in e.monitoring for e in holding):
        first_extra += (risk.ELECTROLYTES,)
    if options.from_mg is not None:
        # Re-planned at a visit: checks still outstanding join the next review instead of a
        # same-day baseline visit the clinician has just held.
        first_extra = (*assessment.baseline_checks, *first_extra)
        assessment = replace(assessment, baseline_checks=())
    judged = response_judged and len(doses) == 1
    followups = _followups(
        assessment,
        rules,
        start_date,
        end_date,
        start_date + timedelta(days=first_review_days),
        target_date if len(doses) > 1 else None,
        None if judged else response_date,
        first_extra,
        review_change=not (judged and options.hold is False and not first_extra),
    )
    steps, followups = _dated_checks(assessment, steps, followups, windows, target_date)
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
        supply_limit_mg=assessment.supply_limit_mg,
        steps=steps,
        followups=followups,
        adjustments=tuple(adjustments),
        cards=assessment.cards,
        monitoring=assessment.monitoring,
    )


def _because(assessment: Assessment, predicate: Callable[[Effects], object]) -> tuple[str, ...]:
    """The codes of the cards, shown or folded under a stacked card, whose effects the predicate accepts."""
    return tuple(card.code for card in assessment.all_cards if predicate(card.effects))


def _days_per_step(
    protocol: ProtocolFacts, assessment: Assessment, options: PlanOptions, adjustments: list[Adjustment]
) -> int:
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


def _titration_doses(start_mg: Decimal, target: Decimal, step_mg: Decimal) -> list[Decimal]:
    """Start, then the next multiple of the step each time, never past the target."""
    doses = [start_mg]
    while doses[-1] < target:
        on_grid = (doses[-1] // step_mg) * step_mg
        doses.append(min(target, on_grid + step_mg))
    return doses


def liquid_below(rules: RuleBook) -> Decimal:
    return rules.param("liquid_below_mg")


def _steps(
    doses: Sequence[Decimal],
    start_date: date,
    days: int,
    end_date: date,
    options: PlanOptions,
    rules: RuleBook,
    hold: bool = False,
    first_rise: date | None = None,
) -> tuple[Step, ...]:
    """One step per dose; the first rise on `first_rise` (no sooner than a step's days), the rest `days` apart."""
    rise = first_rise or start_date + timedelta(days=days)
    starts = [start_date] + [rise + timedelta(days=days * i) for i in range(len(doses) - 1)]
    steps: list[Step] = []
    for number, dose in enumerate(doses, start=1):
        first = starts[number - 1]
        last = end_date if number == len(doses) else starts[number] - timedelta(days=1)
        if hold:
            kind = StepKind.HOLD
        elif number == len(doses):
            kind = StepKind.TARGET
        else:
            kind = StepKind.TITRATION
        step_dispense = dispense(dose, options.strengths, options.tablet_strength_mg, liquid_below(rules))
        steps.append(Step(number, first, last, dose, step_dispense, kind))
    return tuple(steps)


def _capped_target(protocol: ProtocolFacts, cap: Decimal, start_mg: Decimal) -> Decimal:
    """The highest dose on the protocol's grid at or below both the usual target and the cap (never below the start)."""
    limit = min(protocol.default_target_mg, cap)
    return max([d for d in dose_grid(protocol) if d <= limit] + [start_mg])


def _window_checks(checks: Iterable[DatedCheck], start_date: date) -> list[tuple[DatedCheck, date]]:
    """Checks due a number of days after the start, with the day each is booked: the first day of the
    window when it opens later (2-4 weeks: day 14), else its last day (within a week: day 7)."""
    return [
        (check, start_date + timedelta(days=check.after_days or check.within_days))
        for check in checks
        if check.within_days is not None
    ]


def _rises(steps: Sequence[Step]) -> list[Step]:
    """The steps that raise the dose (the first step counts as one: it starts the drug)."""
    return [s for i, s in enumerate(steps) if s.dose_mg > 0 and (i == 0 or s.dose_mg > steps[i - 1].dose_mg)]


def _dated_checks(
    assessment: Assessment,
    steps: tuple[Step, ...],
    followups: tuple[FollowUp, ...],
    windows: Sequence[tuple[DatedCheck, date]],
    target_date: date,
) -> tuple[tuple[Step, ...], tuple[FollowUp, ...]]:
    """Book every check the cards ask for (reference A.4) and mark the step each one guards.

    A check due N days after the start, or before the first dose above a level, or a review before each
    rise (frail), is a dated follow-up; the first rise on or after it waits for the clinic to confirm the
    result. Checks at the target join the visit on the target date. (Baseline checks are the baseline visit
    on the start date: the clinic sees the patient before the first night.)
    """
    visits = list(followups)
    guards: list[tuple[date, str]] = [(due, check.key) for check, due in windows]
    visits += [FollowUp(due, FollowUpKind.CHECK, (check.key,)) for check, due in windows]
    rises = _rises(steps)
    for check in assessment.checks:
        if check.before_dose_above_mg is not None:
            above = next((s for s in rises if s.dose_mg > check.before_dose_above_mg), None)
            if above is not None:
                visits.append(FollowUp(above.start, FollowUpKind.CHECK, (check.key,)))
                guards.append((above.start, check.key))
        elif check.at_target and len(steps) > 1 and steps[-1].kind is StepKind.TARGET:
            visits.append(FollowUp(target_date, FollowUpKind.AT_TARGET, (check.key,)))
    if assessment.review_each_rise:
        for rise in rises[1:]:
            visits.append(FollowUp(rise.start, FollowUpKind.RISE_REVIEW, (RISE_REVIEW,)))
            guards.append((rise.start, RISE_REVIEW))
    awaits: dict[int, list[str]] = {}
    for due, key in sorted(guards):
        guarded = next((s for s in rises if s.start >= due), None)
        if guarded is not None and key not in awaits.setdefault(guarded.number, []):
            awaits[guarded.number].append(key)
    if awaits:
        steps = tuple(replace(s, awaits=tuple(awaits.get(s.number, ()))) for s in steps)
    return steps, _merge_same_day(visits)


def _review_keys(assessment: Assessment, *extra: str | None) -> tuple[str, ...]:
    keys = list(REVIEW_KEYS)
    keys += [REVIEW_EXTRAS[k] for k in assessment.monitoring if k in REVIEW_EXTRAS]
    keys += [k for k in extra if k]
    return tuple(dict.fromkeys(keys))


def _followups(
    assessment: Assessment,
    rules: RuleBook,
    start_date: date,
    end_date: date,
    first_review: date,
    target_date: date | None,
    response_date: date | None,
    first_extra: tuple[str, ...] = (),
    *,
    review_change: bool = True,
) -> tuple[FollowUp, ...]:
    """The visits of a plan. `response_date` None: the response was judged before (a maintained
    dose), so periodic reviews follow from the start; `review_change` False: no review of the change
    either (the dose simply continues)."""
    repeat_ecg = risk.REPEAT_ECG if risk.REPEAT_ECG in assessment.monitoring else None
    visits: list[FollowUp] = []
    if assessment.baseline_checks:
        visits.append(FollowUp(start_date, FollowUpKind.BASELINE, (*assessment.baseline_checks, BASELINE_OUTCOME)))
    at_target_in_first = target_date is not None and target_date <= first_review
    if review_change:
        visits.append(
            FollowUp(
                first_review,
                FollowUpKind.FIRST_REVIEW,
                _review_keys(assessment, *first_extra, repeat_ecg if at_target_in_first else None),
            )
        )
    if target_date is not None and not at_target_in_first:
        visits.append(FollowUp(target_date, FollowUpKind.AT_TARGET, _review_keys(assessment, repeat_ecg)))
    if response_date is not None:
        visits.append(FollowUp(response_date, FollowUpKind.RESPONSE, _review_keys(assessment)))
    interval = rules.int_param("periodic_review_first_year_months")
    due = add_months(response_date or start_date, interval)
    while due <= end_date:
        visits.append(FollowUp(due, FollowUpKind.PERIODIC, (PERIODIC_REVIEW, OUTCOME, SIDE_EFFECTS)))
        due = add_months(due, interval)
    return _merge_same_day(visits)


# Two visits due the same day become one, named for the one that matters most: judging the
# response outranks a review at target, which outranks a first review.
MERGE_PRECEDENCE = (
    FollowUpKind.BASELINE,
    FollowUpKind.RESPONSE,
    FollowUpKind.AT_TARGET,
    FollowUpKind.FIRST_REVIEW,
    FollowUpKind.RECHECK,
    FollowUpKind.CHECK,
    FollowUpKind.RISE_REVIEW,
    FollowUpKind.TAPER_REVIEW,
    FollowUpKind.PERIODIC,
)


def _merge_same_day(visits: Iterable[FollowUp]) -> tuple[FollowUp, ...]:
    merged: dict[date, FollowUp] = {}
    for visit in sorted(visits, key=lambda v: v.due):
        if visit.due in merged:
            earlier = merged[visit.due]
            kind = min(earlier.kind, visit.kind, key=MERGE_PRECEDENCE.index)
            merged[visit.due] = FollowUp(visit.due, kind, tuple(dict.fromkeys(earlier.assess + visit.assess)))
        else:
            merged[visit.due] = visit
    return tuple(merged.values())


# --- taper ----------------------------------------------------------------------------------


def one_step_below(current_mg: Decimal, step: Decimal, last: Decimal | None) -> Decimal:
    """The next taper dose: the step grid below, then the last (liquid) step, then zero."""
    below = ((current_mg / step).to_integral_value(rounding=ROUND_CEILING) - 1) * step
    if below <= 0:
        below = last if last is not None and current_mg > last else Decimal(0)
    return below


def build_taper(
    current_mg: Decimal,
    weeks_on_drug: int,
    start_date: date,
    rules: RuleBook,
    strengths: tuple[StrengthFacts, ...],
    tablet_strength_mg: Decimal | None = None,
) -> PlanDraft:
    """Reduce to zero by the taper step from one step below the current dose, faster after a short
    course (reference A.1, S45, S52)."""
    check_date("start_date", start_date)
    if current_mg <= 0:
        raise EngineInputError("current_mg", "must be above zero to taper")
    if weeks_on_drug < 0:
        raise EngineInputError("weeks_on_drug", "must not be negative")
    step = rules.param("taper_step_mg")
    has_liquid = any(s.form is Form.ORAL_SOLUTION for s in strengths)
    last = rules.param("taper_last_step_mg") if has_liquid else None
    short_course = weeks_on_drug < rules.int_param("taper_short_course_weeks")
    days = rules.int_param("taper_short_interval_days" if short_course else "taper_interval_days")
    doses = [one_step_below(current_mg, step, last)]
    while doses[-1] > 0:
        doses.append(one_step_below(doses[-1], step, last))
    steps: list[Step] = []
    for number, dose in enumerate(doses[:-1], start=1):
        first = start_date + timedelta(days=days * (number - 1))
        steps.append(
            Step(
                number,
                first,
                first + timedelta(days=days - 1),
                dose,
                dispense(dose, strengths, tablet_strength_mg, liquid_below(rules)),
                StepKind.TAPER,
            )
        )
    stop_date = steps[-1].end + timedelta(days=1) if steps else start_date
    steps.append(Step(len(steps) + 1, stop_date, stop_date, Decimal(0), Dispense(), StepKind.STOP))
    reason = "treated for less than" if short_course else "treated for at least"
    adjustments = (
        Adjustment(
            "taper",
            f"Reduce from {mg(current_mg)} by {mg(step)} every {days} days, starting one step lower "
            f"({reason} {rules.int_param('taper_short_course_weeks')} weeks); slow down if withdrawal symptoms appear.",
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


def build_stop_now(
    current_mg: Decimal, on: date, *, reason: str, followups: tuple[FollowUp, ...] = (), cards: Iterable[Card] = ()
) -> PlanDraft:
    """End the course on `on` without a taper (reference A.3: critical visit findings)."""
    check_date("start_date", on)
    end = max([on, *(f.due for f in followups)])
    return PlanDraft(
        start_date=on,
        end_date=end,
        start_mg=current_mg,
        target_mg=Decimal(0),
        ceiling_mg=current_mg,
        days_per_step=1,
        target_date=on,
        response_date=on,
        supply_limit_days=None,
        steps=(Step(1, on, on, Decimal(0), Dispense(), StepKind.STOP),),
        followups=tuple(sorted(followups, key=lambda f: f.due)),
        adjustments=(Adjustment("stop-now", f"Stopped at once from {mg(current_mg)} without a taper: {reason}"),),
        cards=tuple(cards),
        monitoring=(),
    )


# --- re-planning from a visit -----------------------------------------------------------------

SAFER_DECISIONS = frozenset({Decision.HOLD, Decision.STEP_DOWN, Decision.STOP, Decision.STOP_NOW})


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
    response_judged: bool = False,
    course_start: date | None = None,
) -> PlanDraft:
    """Re-plan from a visit on `on`. A safer decision (hold, step down, stop) is built whatever
    the cards say (reference A.3); continuing or rising is refused while a critical card stands.

    `response_judged`: a visit of this course has already judged the response (the response or a
    periodic review). Continuing or holding the same dose then books no new response judgement:
    continuing goes on to periodic reviews, holding keeps one review of the hold first.
    `course_start`: the course's first night, from which the response judgement is counted, so
    continuing at a review does not push the judgement further out."""
    check_date("start_date", on)
    if decision is Decision.STOP:
        return build_taper(current_mg, weeks_on_drug, on, rules, options.strengths, options.tablet_strength_mg)
    if decision is Decision.STOP_NOW:
        return build_stop_now(current_mg, on, reason="decided at the visit.", cards=assessment.cards)
    step = protocol.step_mg
    if decision in (Decision.STEP_UP, Decision.CONTINUE) and assessment.blocked:
        raise PlanBlocked(assessment.critical_cards)
    if decision is Decision.STEP_UP:
        if current_mg >= protocol.ceiling_mg:
            raise EngineInputError("decision", f"already at the ceiling of {mg(protocol.ceiling_mg)}")
        if assessment.hold_at_start:
            raise EngineInputError("decision", "no rise while a finding holds the dose; review it first")
        _check_earliest_start(assessment, on)
        start = min(protocol.ceiling_mg, (current_mg // step) * step + step)
        return _build(
            protocol,
            assessment,
            on,
            replace(options, from_mg=start, target_mg=max(target_mg, start)),
            rules,
            course_start=course_start,
        )
    if decision is Decision.CONTINUE:
        target = max(target_mg, current_mg)
        _check_earliest_start(assessment, on)
        return _build(
            protocol,
            assessment,
            on,
            replace(options, from_mg=current_mg, target_mg=target),
            rules,
            response_judged=response_judged,
            course_start=course_start,
        )
    if decision is Decision.HOLD:
        return _build(
            protocol,
            assessment,
            on,
            replace(options, from_mg=current_mg, target_mg=current_mg, hold=True),
            rules,
            response_judged=response_judged,
            course_start=course_start,
        )
    # Step down: the step grid below, or the frail start as the last rung before stopping.
    below = one_step_below(current_mg, step, protocol.frail_start_mg)
    if below <= 0:
        raise EngineInputError("decision", f"{mg(current_mg)} is already the lowest dose; choose stop instead")
    return _build(
        protocol,
        assessment,
        on,
        replace(options, from_mg=below, target_mg=below, hold=True),
        rules,
        course_start=course_start,
    )
