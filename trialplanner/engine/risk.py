"""Risk assessment: reference section A.2 as rules over a patient profile.

Every threshold, washout and drug property is read from the RuleBook (the catalog);
this module decides only when each catalog rule fires and what it does to the plan.
"""

from collections import defaultdict
from datetime import date, timedelta

from trialplanner.engine.daterange import check_date
from trialplanner.engine.errors import EngineInputError
from trialplanner.engine.types import (
    Alcohol,
    Assessment,
    Card,
    Effects,
    IndicationFacts,
    PatientProfile,
    Phenotype,
    ProtocolFacts,
    RuleBook,
    Sex,
    StartDose,
)

# Monitoring keys are the slugs of the catalog's monitoring items.
BASELINE_ECG = "baseline-ecg"
REPEAT_ECG = "repeat-ecg-at-target"
ELECTROLYTES = "potassium-magnesium"
SODIUM = "sodium"
LYING_STANDING_BP = "lying-standing-bp"
GLUCOSE = "blood-glucose"
MOOD = "mood-and-suicidality"
BASELINE_KEYS = (BASELINE_ECG, ELECTROLYTES, SODIUM, LYING_STANDING_BP)

CARDIAC_GROUP = "cardiac"
NO_EFFECTS = Effects()


class _Context:
    """One assessment in progress: the inputs plus the cards found so far."""

    def __init__(self, profile, indication, protocol, rules, on):
        self.profile = profile
        self.indication = indication
        self.protocol = protocol
        self.rules = rules
        self.on = on
        self.cards = []
        self.current_drugs = []  # (entered name, DrugFacts, stopped_on) still taken on the planned start date
        self.unrecognised = []
        self.recognised = []

    def add(self, code, effects=None, subjects=(), detail=None, indicator=None):
        rule = self.rules.rule(code)
        effects = effects or NO_EFFECTS
        body = rule.detail if detail is None else detail
        self.cards.append(
            Card(
                code=rule.code,
                indicator=indicator or rule.indicator,
                action=rule.action,
                title=rule.title,
                summary=rule.summary,
                detail=body,
                sources=rule.sources,
                effects=effects,
                subjects=tuple(subjects),
                order=rule.order,
            )
        )

    def cautious_days(self):
        return self.rules.int_param("cautious_min_days_per_step")

    def is_older(self):
        return self.profile.age >= self.rules.int_param("older_age_years")

    def drugs_where(self, predicate):
        return [(name, drug) for name, drug, _ in self.current_drugs if predicate(drug)]


def assess_risk(
    profile: PatientProfile,
    indication: IndicationFacts,
    protocol: ProtocolFacts,
    rules: RuleBook,
    on: date,
) -> Assessment:
    """Apply reference section A.2 to a profile for a plan starting on `on`."""
    _validate(profile, rules)
    check_date("start_date", on)
    for med in profile.medications:
        check_date("medications", med.stopped_on)
    ctx = _Context(profile, indication, protocol, rules, on)
    _sort_medications(ctx)
    for check in CHECKS:
        check(ctx)
    return _summarise(ctx)


def _validate(profile, rules):
    if profile.age < 0 or profile.age > 130:
        raise EngineInputError("age", "must be between 0 and 130")
    if profile.sex not in (Sex.FEMALE, Sex.MALE):
        raise EngineInputError("sex", "must be female or male")
    if profile.qtc_ms is not None and not 200 <= profile.qtc_ms <= 800:
        raise EngineInputError("qtc_ms", "must be between 200 and 800 ms")
    if profile.previous_qtc_ms is not None and not 200 <= profile.previous_qtc_ms <= 800:
        raise EngineInputError("previous_qtc_ms", "must be between 200 and 800 ms")
    unknown = sorted(c for c in profile.conditions if c not in rules.conditions)
    if unknown:
        raise EngineInputError("conditions", f"unknown condition {', '.join(unknown)}")


def _sort_medications(ctx):
    seen = set()
    for med in ctx.profile.medications:
        name = med.name.strip()
        if not name:
            continue
        drug = ctx.rules.find_drug(name)
        if drug is None:
            if name not in ctx.unrecognised:
                ctx.unrecognised.append(name)
            continue
        ctx.recognised.append((name, drug.name))
        if drug.is_maoi and med.stopped_on is not None:
            # The washout runs from the last dose, whether that is past or planned.
            _maoi_stopped(ctx, drug, med.stopped_on)
        if drug.slug in seen:
            continue
        if med.stopped_on is None or med.stopped_on >= ctx.on:
            seen.add(drug.slug)
            ctx.current_drugs.append((name, drug, med.stopped_on))


# --- contraindications (critical) -------------------------------------------------


def check_age(ctx):
    age = ctx.profile.age
    if age < ctx.rules.int_param("adult_age_years"):
        ctx.add("under-18", subjects=[f"age {age}"])
    elif age <= ctx.rules.int_param("young_adult_max_age_years"):
        ctx.add("young-adult", Effects(monitoring=(MOOD,)), subjects=[f"age {age}"])
    if ctx.is_older():
        ctx.add(
            "older-age",
            Effects(
                start=StartDose.OLDER,
                min_days_per_step=ctx.cautious_days(),
                early_first_review=True,
                monitoring=(LYING_STANDING_BP, SODIUM),
            ),
            subjects=[f"age {age}"],
        )


def check_conditions(ctx):
    """Conditions fire the rule the catalog maps them to; one card per rule."""
    by_rule = defaultdict(list)
    for slug in sorted(ctx.profile.conditions):
        condition = ctx.rules.conditions[slug]
        by_rule[condition.rule_code].append(condition.name)
    if ctx.profile.frail:
        by_rule["frailty-falls"].insert(0, "frailty")
    if ctx.profile.falls:
        by_rule["frailty-falls"].append("falls history")
    for code, names in by_rule.items():
        if code in JOINED_ELSEWHERE:
            continue
        ctx.add(code, CONDITION_EFFECTS.get(code, _no_effects)(ctx), subjects=names)


# Rules whose conditions are joined with other triggers in their own check.
JOINED_ELSEWHERE = {"electrolytes", "baseline-ecg"}


def _no_effects(ctx):
    return NO_EFFECTS


def _cautious_start(start):
    def effects(ctx):
        return Effects(start=start, min_days_per_step=ctx.cautious_days(), early_first_review=True)

    return effects


CONDITION_EFFECTS = {
    "other-cardiac": lambda ctx: Effects(
        start=StartDose.OLDER,
        min_days_per_step=ctx.cautious_days(),
        early_first_review=True,
        monitoring=(BASELINE_ECG,),
    ),
    "frailty-falls": _cautious_start(StartDose.FRAIL),
    "liver-impairment": _cautious_start(StartDose.OLDER),
    "bipolar": lambda ctx: Effects(monitoring=(MOOD,)),
    "diabetes": lambda ctx: Effects(monitoring=(GLUCOSE,)),
}


def check_qtc(ctx):
    qtc = ctx.profile.qtc_ms
    if qtc is None:
        return
    critical = ctx.rules.int_param("qtc_critical_ms")
    rise_limit = ctx.rules.int_param("qtc_rise_critical_ms")
    previous = ctx.profile.previous_qtc_ms
    if qtc > critical:
        ctx.add("qtc-critical", subjects=[f"QTc {qtc} ms"])
        return
    if previous is not None and qtc - previous > rise_limit:
        ctx.add("qtc-critical", subjects=[f"QTc rose {qtc - previous} ms (from {previous} to {qtc} ms)"])
        return
    if qtc > _qtc_warning_threshold(ctx):
        ctx.add(
            "qtc-prolonged",
            Effects(hold_at_start=True, early_first_review=True, monitoring=(REPEAT_ECG, ELECTROLYTES)),
            subjects=[f"QTc {qtc} ms"],
        )


def _qtc_warning_threshold(ctx):
    key = "qtc_warning_female_ms" if ctx.profile.sex == Sex.FEMALE else "qtc_warning_male_ms"
    return ctx.rules.int_param(key)


def _maoi_stopped(ctx, drug, stopped_on):
    earliest = stopped_on + timedelta(days=drug.washout_days or 0)
    if earliest > ctx.on:
        detail = (
            f"{drug.name} was stopped on {stopped_on.isoformat()}; its washout is {drug.washout_days} "
            f"day{'s' if drug.washout_days != 1 else ''}. The earliest safe start is {earliest.isoformat()}. "
            f"{ctx.rules.rule('maoi-washout').detail}"
        )
        ctx.add("maoi-washout", Effects(earliest_start=earliest), subjects=[drug.name], detail=detail)


def check_current_maois(ctx):
    """An MAOI with no stop date blocks until it is stopped; stop dates are handled on sorting."""
    for name, drug in [(n, d) for n, d, stopped in ctx.current_drugs if d.is_maoi and stopped is None]:
        detail = (
            f"{drug.name} is being taken. Amitriptyline may start {drug.washout_days} "
            f"day{'s' if drug.washout_days != 1 else ''} after it is stopped. {ctx.rules.rule('maoi-washout').detail}"
        )
        ctx.add("maoi-washout", subjects=[name], detail=detail)


def check_contraindicated_drugs(ctx):
    for name, drug in ctx.drugs_where(lambda d: d.contraindicated):
        detail = f"{drug.name}: {drug.note} {ctx.rules.rule('contraindicated-drug').detail}".strip()
        ctx.add("contraindicated-drug", subjects=[name], detail=detail)


# --- interactions -------------------------------------------------------------------


def _names(pairs):
    return [name for name, _ in pairs]


def _detail_with_notes(ctx, code, pairs):
    notes = " ".join(f"{drug.name}: {drug.note}" for _, drug in pairs if drug.note)
    base = ctx.rules.rule(code).detail
    return f"{base} {notes}".strip()


def check_qt_drugs(ctx):
    known = ctx.drugs_where(lambda d: d.qt_risk == "known")
    if known:
        ctx.add(
            "qt-drug",
            Effects(monitoring=(BASELINE_ECG, ELECTROLYTES, REPEAT_ECG)),
            subjects=_names(known),
            detail=_detail_with_notes(ctx, "qt-drug", known),
        )


def check_serotonergic(ctx):
    strong = ctx.drugs_where(lambda d: d.serotonergic == "yes")
    if strong:
        ctx.add(
            "serotonergic-drug", subjects=_names(strong), detail=_detail_with_notes(ctx, "serotonergic-drug", strong)
        )
    low = ctx.drugs_where(lambda d: d.serotonergic == "low")
    if low:
        ctx.add("serotonergic-low", subjects=_names(low))


def check_cyp2d6(ctx):
    inhibitors = ctx.drugs_where(lambda d: d.cyp2d6_inhibition == "strong")
    subjects = _names(inhibitors)
    if ctx.profile.cyp2d6 in (Phenotype.POOR, Phenotype.INTERMEDIATE):
        subjects.append(f"CYP2D6 {ctx.profile.cyp2d6.value} metaboliser")
    if subjects:
        ctx.add(
            "cyp2d6-reduced",
            Effects(start=StartDose.OLDER, min_days_per_step=ctx.cautious_days(), early_first_review=True),
            subjects=subjects,
        )
    other = []
    if ctx.profile.cyp2d6 == Phenotype.ULTRARAPID:
        other.append("CYP2D6 ultrarapid metaboliser")
    if ctx.profile.cyp2c19 in (Phenotype.ULTRARAPID, Phenotype.RAPID, Phenotype.POOR):
        other.append(f"CYP2C19 {ctx.profile.cyp2c19.value} metaboliser")
    if other:
        ctx.add("cyp-ultrarapid-poor-2c19", subjects=other)


def check_cns(ctx):
    depressants = _names(ctx.drugs_where(lambda d: d.cns_depressant))
    if ctx.profile.alcohol == Alcohol.HEAVY:
        depressants.append("heavy alcohol use")
    if depressants:
        days = ctx.cautious_days() if ctx.is_older() else None
        ctx.add("cns-depressant", Effects(min_days_per_step=days), subjects=depressants)
    if ctx.is_older():
        active = ctx.drugs_where(lambda d: d.cns_active)
        # Amitriptyline itself counts as one CNS-active drug (Beers 2023).
        if len(active) + 1 >= ctx.rules.int_param("cns_active_older_limit"):
            ctx.add("cns-active-older", subjects=["amitriptyline", *_names(active)])


def anticholinergic_items(ctx):
    items = [("amitriptyline", ctx.rules.amitriptyline_acb)]
    items += [(name, drug.anticholinergic_score) for name, drug in ctx.drugs_where(lambda d: d.anticholinergic_score)]
    return items


def check_anticholinergic(ctx):
    items = anticholinergic_items(ctx)
    total = sum(score for _, score in items)
    if total > ctx.rules.int_param("acb_warning_total"):
        listed = ", ".join(f"{name} {score}" for name, score in items)
        detail = f"Total anticholinergic burden {total} ({listed}). {ctx.rules.rule('anticholinergic-burden').detail}"
        ctx.add("anticholinergic-burden", subjects=[name for name, _ in items[1:]], detail=detail)


def check_raised_levels(ctx):
    avoid = ctx.drugs_where(lambda d: d.raises_levels == "warning")
    if avoid:
        ctx.add(
            "raised-levels-avoid", subjects=_names(avoid), detail=_detail_with_notes(ctx, "raised-levels-avoid", avoid)
        )
    monitor = ctx.drugs_where(lambda d: d.raises_levels == "info")
    if monitor:
        ctx.add("raised-levels", subjects=_names(monitor))


def check_electrolytes(ctx):
    subjects = _names(ctx.drugs_where(lambda d: d.lowers_electrolytes))
    subjects += [
        ctx.rules.conditions[slug].name
        for slug in sorted(ctx.profile.conditions)
        if ctx.rules.conditions[slug].rule_code == "electrolytes"
    ]
    if subjects:
        ctx.add("electrolytes", Effects(monitoring=(ELECTROLYTES,)), subjects=subjects)


def check_blood_pressure_and_sympathomimetics(ctx):
    pressors = ctx.drugs_where(lambda d: d.sympathomimetic)
    if pressors:
        ctx.add("sympathomimetic", subjects=_names(pressors))
    lowering = ctx.drugs_where(lambda d: d.lowers_blood_pressure)
    if lowering:
        ctx.add("blood-pressure-drugs", Effects(monitoring=(LYING_STANDING_BP,)), subjects=_names(lowering))


# --- the person -----------------------------------------------------------------------


def check_pregnancy_and_breastfeeding(ctx):
    if ctx.profile.pregnant:
        ctx.add("pregnancy", subjects=["pregnant"])
    if ctx.profile.breastfeeding:
        ctx.add("breastfeeding", subjects=["breastfeeding"])


def check_self_harm(ctx):
    if ctx.profile.self_harm_last_12_months:
        ctx.add(
            "self-harm",
            Effects(
                supply_limit_days=ctx.rules.int_param("supply_limit_days"),
                supply_limit_mg=_supply_limit_mg(ctx),
                early_first_review=True,
                monitoring=(MOOD,),
            ),
            subjects=["self-harm or suicidal thoughts in the last 12 months"],
        )


def _supply_limit_mg(ctx):
    """The lower of the catalog's total and, with a recorded weight, mg per kg x weight (AAPCC)."""
    limit = ctx.rules.param("supply_limit_mg")
    if ctx.profile.weight_kg:
        limit = min(limit, ctx.rules.param("supply_limit_mg_per_kg") * ctx.profile.weight_kg)
    return limit


def check_indication(ctx):
    if ctx.indication.caution:
        detail = f"{ctx.indication.name}: {ctx.indication.caution}"
        ctx.add("indication-caution", subjects=[ctx.indication.name], detail=detail)


def check_baseline_ecg(ctx):
    """Baseline ECG: age over the ECG age, any cardiac history, or any QT risk found above."""
    reasons = []
    if ctx.profile.age > ctx.rules.int_param("ecg_age_over_years"):
        reasons.append(f"age {ctx.profile.age}")
    cardiac = [
        ctx.rules.conditions[slug].name
        for slug in sorted(ctx.profile.conditions)
        if ctx.rules.conditions[slug].group == CARDIAC_GROUP
    ]
    reasons += cardiac
    if ctx.profile.qtc_ms is not None and ctx.profile.qtc_ms > _qtc_warning_threshold(ctx):
        reasons.append(f"QTc {ctx.profile.qtc_ms} ms")
    reasons += _names(ctx.drugs_where(lambda d: d.qt_risk == "known"))
    if reasons:
        ctx.add("baseline-ecg", Effects(monitoring=(BASELINE_ECG, REPEAT_ECG)), subjects=reasons)


CHECKS = (
    check_age,
    check_conditions,
    check_qtc,
    check_current_maois,
    check_contraindicated_drugs,
    check_qt_drugs,
    check_serotonergic,
    check_cyp2d6,
    check_cns,
    check_anticholinergic,
    check_raised_levels,
    check_electrolytes,
    check_blood_pressure_and_sympathomimetics,
    check_pregnancy_and_breastfeeding,
    check_self_harm,
    check_indication,
    check_baseline_ecg,
)


def _summarise(ctx) -> Assessment:
    cards = tuple(sorted(ctx.cards, key=lambda c: c.sort_key))
    effects = [c.effects for c in cards]
    starts = [e.start for e in effects]
    days = [e.min_days_per_step for e in effects if e.min_days_per_step]
    limits = [e.supply_limit_days for e in effects if e.supply_limit_days]
    mg_limits = [e.supply_limit_mg for e in effects if e.supply_limit_mg]
    earliest = [e.earliest_start for e in effects if e.earliest_start]
    monitoring = []
    for e in effects:
        for key in e.monitoring:
            if key not in monitoring:
                monitoring.append(key)
    items = anticholinergic_items(ctx)
    return Assessment(
        cards=cards,
        unrecognised_medications=tuple(ctx.unrecognised),
        recognised_medications=tuple(ctx.recognised),
        anticholinergic_total=sum(score for _, score in items),
        anticholinergic_items=tuple(items),
        earliest_start=max(earliest) if earliest else None,
        start=min(starts, default=StartDose.STANDARD),
        min_days_per_step=max(days) if days else None,
        hold_at_start=any(e.hold_at_start for e in effects),
        early_first_review=any(e.early_first_review for e in effects),
        supply_limit_days=min(limits) if limits else None,
        supply_limit_mg=min(mg_limits) if mg_limits else None,
        baseline_checks=tuple(k for k in monitoring if k in BASELINE_KEYS),
        monitoring=tuple(monitoring),
    )
