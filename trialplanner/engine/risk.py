"""Risk assessment: reference section A.2 as rules over a patient profile.

Every threshold, washout and drug property is read from the RuleBook (the catalog);
this module decides only when each catalog rule fires and what it does to the plan.
"""

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from trialplanner.engine.daterange import check_date
from trialplanner.engine.errors import EngineInputError
from trialplanner.engine.medicines import (
    ActiveIngredient,
    MedicineReading,
    ReviewState,
    active_ingredients,
    read_medicine,
    window_days,
)
from trialplanner.engine.types import (
    PHENOTYPES_BY_GENE,
    Alcohol,
    Assessment,
    Card,
    DatedCheck,
    DoseLimit,
    DrugFacts,
    Effects,
    IndicationFacts,
    Indicator,
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
ECG_BEFORE_HIGHER_DOSE = "ecg-before-higher-dose"
SODIUM_AFTER_START = "sodium-after-start"
SODIUM_AT_TARGET = "sodium-at-target"
SODIUM_RECHECK = "sodium-recheck"
GLUCOSE = "blood-glucose"
MOOD = "mood-and-suicidality"
BASELINE_KEYS = (BASELINE_ECG, ELECTROLYTES, SODIUM, LYING_STANDING_BP)

CARDIAC_GROUP = "cardiac"
NO_EFFECTS = Effects()


class _Context:
    """One assessment in progress: the inputs plus the cards found so far."""

    def __init__(
        self, profile: PatientProfile, indication: IndicationFacts, protocol: ProtocolFacts, rules: RuleBook, on: date
    ) -> None:
        self.profile = profile
        self.indication = indication
        self.protocol = protocol
        self.rules = rules
        self.on = on
        self.cards: list[Card] = []
        self.readings: list[MedicineReading] = []  # every entered line, matched or not
        self.active: list[ActiveIngredient] = []  # catalogued ingredients still acting on the planned start date
        self.over_dose_limit: set[str] = set()  # slugs of medicines read above a dose limit (A.4)

    def add(
        self,
        code: str,
        effects: Effects | None = None,
        subjects: Iterable[str] = (),
        detail: str | None = None,
        indicator: Indicator | None = None,
        identity: Iterable[str] = (),
    ) -> None:
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
                concern=rule.concern,
                stacked=rule.stacked,
                needs_specialist_advice=rule.needs_specialist_advice,
                identity=tuple(identity),
            )
        )

    def cautious_days(self) -> int:
        return self.rules.int_param("cautious_min_days_per_step")

    def is_older(self) -> bool:
        return self.profile.age >= self.rules.int_param("older_age_years")

    def drugs_where(self, predicate: Callable[[DrugFacts], object]) -> list[tuple[str, DrugFacts]]:
        """(subject, DrugFacts) for each active ingredient the predicate accepts."""
        return [(_subject(a), a.drug) for a in self.active if predicate(a.drug)]

    def has_condition_for(self, rule_code: str) -> bool:
        return any(self.rules.conditions[slug].rule_code == rule_code for slug in self.profile.conditions)


def _subject(active: ActiveIngredient) -> str:
    if active.current or active.stopped_on is None:
        return active.label
    return f"{active.label} (last dose {active.stopped_on.isoformat()})"


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
    _read_medications(ctx)
    for check in CHECKS:
        check(ctx)
    return _summarise(ctx)


def _validate(profile: PatientProfile, rules: RuleBook) -> None:
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
    for gene in ("cyp2d6", "cyp2c19"):
        value = getattr(profile, gene)
        allowed = PHENOTYPES_BY_GENE[gene]
        if value is not None and value not in allowed:
            raise EngineInputError(gene, f"must be one of {', '.join(p.value for p in allowed)} (or not known)")
    for name in ("potassium", "magnesium"):
        value = getattr(profile, name)
        if value is not None and not 0 < value < 20:
            raise EngineInputError(name, "must be a measured level in mmol/L")
    if profile.sodium is not None and not 100 <= profile.sodium <= 200:
        raise EngineInputError("sodium", "must be a measured level from 100 to 200 mmol/L")


def _read_medications(ctx: _Context) -> None:
    """Read every entered line; the persistence window runs from the last dose, past or planned."""
    ctx.readings = [read_medicine(ctx.rules, med) for med in ctx.profile.medications if med.name.strip()]
    ctx.active = active_ingredients(ctx.readings, ctx.on)


# --- contraindications (critical) -------------------------------------------------


def check_age(ctx: _Context) -> None:
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
            identity=[f"age {ctx.rules.int_param('older_age_years')} or over"],
        )


def check_conditions(ctx: _Context) -> None:
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


def _frail_shaping(ctx: _Context) -> Effects:
    """Frailty-falls; for frailty or dementia also a lower default target and a review before each rise (A.4)."""
    effects = _cautious_start(StartDose.FRAIL)(ctx)
    shaped = ctx.profile.frail or any(ctx.rules.conditions[slug].frail_shaping for slug in ctx.profile.conditions)
    if not shaped:
        return effects
    return replace(effects, target_cap_mg=ctx.rules.param("frail_default_target_mg"), review_each_rise=True)


# Rules whose conditions are joined with other triggers in their own check.
JOINED_ELSEWHERE = {"electrolytes", "low-potassium-magnesium", "baseline-ecg"}


def _no_effects(ctx: _Context) -> Effects:
    return NO_EFFECTS


def _cautious_start(start: StartDose) -> Callable[[_Context], Effects]:
    def effects(ctx: _Context) -> Effects:
        return Effects(start=start, min_days_per_step=ctx.cautious_days(), early_first_review=True)

    return effects


CONDITION_EFFECTS: dict[str, Callable[[_Context], Effects]] = {
    "other-cardiac": lambda ctx: Effects(
        start=StartDose.OLDER,
        min_days_per_step=ctx.cautious_days(),
        early_first_review=True,
        monitoring=(BASELINE_ECG,),
    ),
    "frailty-falls": _frail_shaping,
    "liver-impairment": _cautious_start(StartDose.OLDER),
    "bipolar": lambda ctx: Effects(monitoring=(MOOD,)),
    "diabetes": lambda ctx: Effects(monitoring=(GLUCOSE,)),
}


def check_qtc(ctx: _Context) -> None:
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


def _qtc_warning_threshold(ctx: _Context) -> int:
    key = "qtc_warning_female_ms" if ctx.profile.sex == Sex.FEMALE else "qtc_warning_male_ms"
    return ctx.rules.int_param(key)


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def check_blocking_drugs(ctx: _Context) -> None:
    """An MAOI, linezolid, IV methylene blue or cisapride blocks while taken or within its window.

    One card per medicine, however many lines name it; a stopped one shows the earliest safe start.
    """
    for active in ctx.active:
        drug = active.drug
        if not (drug.is_maoi or drug.contraindicated):
            continue
        code = "maoi-washout" if drug.is_maoi else "contraindicated-drug"
        rule_detail = ctx.rules.rule(code).detail
        days = window_days(drug)
        note = f"{drug.note} " if drug.note and not drug.is_maoi else ""
        if active.stopped_on is None or active.clear_from is None:  # still taken (`active.current`)
            detail = (
                f"{drug.name} is being taken. Amitriptyline may start {_days(days)} after its last dose. "
                f"{note}{rule_detail}"
            )
            ctx.add(code, subjects=[active.label], detail=detail.strip())
            continue
        detail = (
            f"{drug.name}: last dose {active.stopped_on.isoformat()}; its effect lasts {_days(days)} after the "
            f"last dose. The earliest safe start is {active.clear_from.isoformat()}. {note}{rule_detail}"
        )
        ctx.add(code, Effects(earliest_start=active.clear_from), subjects=[_subject(active)], detail=detail.strip())


def check_amitriptyline_on_list(ctx: _Context) -> None:
    for subject, _ in ctx.drugs_where(lambda d: d.is_amitriptyline):
        ctx.add("amitriptyline-on-list", subjects=[subject])


def check_duplicate_tricyclic(ctx: _Context) -> None:
    tricyclics = ctx.drugs_where(lambda d: d.is_tricyclic and not d.is_amitriptyline)
    if tricyclics:
        ctx.add("duplicate-tricyclic", subjects=_names(tricyclics))


def check_not_checked(ctx: _Context) -> None:
    """Every entered line nothing could match stays visible and needs a decision."""
    unchecked = [r for r in ctx.readings if r.state is ReviewState.NOT_RECOGNISED]
    if unchecked:
        listed = "; ".join(r.not_checked_label() for r in unchecked)
        detail = f"Not checked: {listed}. {ctx.rules.rule('medicine-not-checked').detail}"
        ctx.add("medicine-not-checked", subjects=[r.not_checked_label() for r in unchecked], detail=detail)


def check_not_reviewed(ctx: _Context) -> None:
    """Real medicines whose facts nobody here has reviewed: named, never called safe (A.4)."""
    unreviewed = [r for r in ctx.readings if r.state is ReviewState.RECOGNISED]
    if unreviewed:
        ctx.add("medicine-not-reviewed", subjects=[r.not_reviewed_label() for r in unreviewed])


# --- doses of other medicines (reference A.4) ------------------------------------------

DOSE_EFFECTS = {
    "methadone-high-dose": Effects(monitoring=(BASELINE_ECG, REPEAT_ECG)),
    "ssri-qt-dose": Effects(monitoring=(BASELINE_ECG, ELECTROLYTES, REPEAT_ECG)),
}


def _mg(value: Decimal) -> str:
    return f"{value.normalize():,f} mg"


def _applicable_limit(ctx: _Context, limit: DoseLimit) -> tuple[Decimal, str, bool]:
    """The lowest limit that applies to this patient, with why, and whether the limit itself is too much."""
    options = [(limit.max_mg_a_day, "", limit.inclusive)]
    if limit.older_age is not None and limit.older_max_mg_a_day is not None and ctx.profile.age >= limit.older_age:
        options.append((limit.older_max_mg_a_day, f" at age {limit.older_age} or over", False))
    if limit.liver_max_mg_a_day is not None and ctx.has_condition_for("liver-impairment"):
        options.append((limit.liver_max_mg_a_day, " with liver impairment", False))
    return min(options, key=lambda o: o[0])


def check_dose_limits(ctx: _Context) -> None:
    """A medicine's daily dose read from its line above the limit A.4 sets; an unreadable dose says so.

    One card per rule, naming every medicine over its limit (citalopram and escitalopram share one).
    """
    not_read: list[str] = []
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)  # rule code -> (subject, detail)
    for reading in ctx.readings:
        if reading.stopped_on is not None:
            continue
        for drug in reading.ingredients:
            for limit in ctx.rules.dose_limits_for(drug.slug):
                ceiling, why, inclusive = _applicable_limit(ctx, limit)
                daily = reading.daily_mg_of(drug)
                at_least = reading.daily_mg_of(drug, at_least=True)
                if at_least is None:
                    if reading.entered not in not_read:
                        not_read.append(reading.entered)
                    continue
                over = at_least >= ceiling if inclusive else at_least > ceiling
                if not over:
                    continue
                ctx.over_dose_limit.add(drug.slug)
                dose = (
                    f"{_mg(at_least)} a day" if daily is not None else f"{_mg(at_least)} a dose (at least that a day)"
                )
                words = f"{_mg(ceiling)} a day or more" if inclusive else f"above {_mg(ceiling)} a day"
                found[limit.rule_code].append(
                    (
                        f"{drug.name} {dose}",
                        f"{drug.name}: read as {dose} from “{reading.entered}”; a warning at {words}{why}.",
                    )
                )
    for code, hits in found.items():
        detail = " ".join(text for _, text in hits) + f" {ctx.rules.rule(code).detail}"
        ctx.add(code, DOSE_EFFECTS.get(code), subjects=[subject for subject, _ in hits], detail=detail)
    if not_read:
        ctx.add("dose-not-read", subjects=not_read)


# --- interactions -------------------------------------------------------------------


def _names(pairs: Sequence[tuple[str, DrugFacts]]) -> list[str]:
    return [name for name, _ in pairs]


def _detail_with_notes(ctx: _Context, code: str, pairs: Sequence[tuple[str, DrugFacts]]) -> str:
    notes = " ".join(f"{drug.name}: {drug.note}" for _, drug in pairs if drug.note)
    base = ctx.rules.rule(code).detail
    return f"{base} {notes}".strip()


def check_qt_drugs(ctx: _Context) -> None:
    known = ctx.drugs_where(lambda d: d.qt_risk == "known")
    if known:
        ctx.add(
            "qt-drug",
            Effects(monitoring=(BASELINE_ECG, ELECTROLYTES, REPEAT_ECG)),
            subjects=_names(known),
            detail=_detail_with_notes(ctx, "qt-drug", known),
        )
    other = ctx.drugs_where(lambda d: d.qt_risk in ("possible", "conditional"))
    if other:
        ctx.add("qt-possible", subjects=[f"{name} ({drug.qt_risk} risk)" for name, drug in other])


def check_seizure_threshold(ctx: _Context) -> None:
    """Warning with epilepsy or a seizure history, information otherwise (A.2)."""
    lowering = ctx.drugs_where(lambda d: d.lowers_seizure_threshold)
    if lowering:
        indicator = None if ctx.has_condition_for("epilepsy") else Indicator.INFO
        ctx.add("seizure-threshold", subjects=_names(lowering), indicator=indicator)


def check_serotonergic(ctx: _Context) -> None:
    strong = ctx.drugs_where(lambda d: d.serotonergic == "yes")
    if strong:
        ctx.add(
            "serotonergic-drug", subjects=_names(strong), detail=_detail_with_notes(ctx, "serotonergic-drug", strong)
        )
    low = ctx.drugs_where(lambda d: d.serotonergic == "low")
    if low:
        ctx.add("serotonergic-low", subjects=_names(low))


def check_cyp2d6(ctx: _Context) -> None:
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
    other: list[str] = []
    if ctx.profile.cyp2d6 == Phenotype.ULTRARAPID:
        other.append("CYP2D6 ultrarapid metaboliser")
    if ctx.profile.cyp2c19 in (Phenotype.ULTRARAPID, Phenotype.RAPID, Phenotype.POOR):
        other.append(f"CYP2C19 {ctx.profile.cyp2c19.value} metaboliser")
    if other:
        ctx.add("cyp-ultrarapid-poor-2c19", subjects=other)
    moderate = ctx.drugs_where(lambda d: d.cyp2d6_inhibition == "moderate")
    if moderate:
        ctx.add("cyp2d6-moderate", subjects=_names(moderate))


def check_inducers(ctx: _Context) -> None:
    inducers = ctx.drugs_where(lambda d: d.cyp_inducer)
    if inducers:
        ctx.add("cyp-inducer", subjects=_names(inducers))


def check_thyroid_hormone(ctx: _Context) -> None:
    thyroid = ctx.drugs_where(lambda d: d.thyroid_hormone)
    if thyroid:
        ctx.add("thyroid-hormone", subjects=_names(thyroid))


def check_cns(ctx: _Context) -> None:
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


def anticholinergic_items(ctx: _Context) -> list[tuple[str, int]]:
    """Amitriptyline's ACB score plus every other active medicine's score (1, 2 or 3)."""
    items = [("amitriptyline", ctx.rules.amitriptyline_acb)]
    items += [
        (name, drug.anticholinergic_score)
        for name, drug in ctx.drugs_where(lambda d: d.anticholinergic_score and not d.is_amitriptyline)
    ]
    return items


def check_anticholinergic(ctx: _Context) -> None:
    items = anticholinergic_items(ctx)
    total = sum(score for _, score in items)
    if total > ctx.rules.int_param("acb_warning_total"):
        listed = ", ".join(f"{name} {score}" for name, score in items)
        detail = f"Total anticholinergic burden {total} ({listed}). {ctx.rules.rule('anticholinergic-burden').detail}"
        ctx.add("anticholinergic-burden", subjects=[name for name, _ in items[1:]], detail=detail)


def check_raised_levels(ctx: _Context) -> None:
    avoid = ctx.drugs_where(lambda d: d.raises_levels == "warning")
    if avoid:
        ctx.add(
            "raised-levels-avoid", subjects=_names(avoid), detail=_detail_with_notes(ctx, "raised-levels-avoid", avoid)
        )
    monitor = ctx.drugs_where(lambda d: d.raises_levels == "info")
    if monitor:
        ctx.add("raised-levels", subjects=_names(monitor))


def low_electrolytes(ctx: _Context) -> list[str]:
    """Low potassium or magnesium: ticked as a condition or measured below the catalog's levels."""
    found = [
        ctx.rules.conditions[slug].name
        for slug in sorted(ctx.profile.conditions)
        if ctx.rules.conditions[slug].rule_code == "low-potassium-magnesium"
    ]
    potassium, magnesium = ctx.profile.potassium, ctx.profile.magnesium
    if potassium is not None and potassium < ctx.rules.param("potassium_low_mmol_l"):
        found.append(f"potassium {potassium} mmol/L")
    if magnesium is not None and magnesium < ctx.rules.param("magnesium_low_mmol_l"):
        found.append(f"magnesium {magnesium} mmol/L")
    return found


def check_electrolytes(ctx: _Context) -> None:
    diuretics = _names(ctx.drugs_where(lambda d: d.lowers_electrolytes))
    if diuretics:
        ctx.add("electrolytes", Effects(monitoring=(ELECTROLYTES,)), subjects=diuretics)
    low = low_electrolytes(ctx)
    if low:
        ctx.add(
            "low-potassium-magnesium",
            Effects(hold_at_start=True, monitoring=(BASELINE_ECG, ELECTROLYTES, REPEAT_ECG)),
            subjects=low,
        )


def check_blood_pressure_and_sympathomimetics(ctx: _Context) -> None:
    pressors = ctx.drugs_where(lambda d: d.sympathomimetic)
    if pressors:
        ctx.add("sympathomimetic", subjects=_names(pressors))
    lowering = ctx.drugs_where(lambda d: d.lowers_blood_pressure)
    if lowering:
        ctx.add("blood-pressure-drugs", Effects(monitoring=(LYING_STANDING_BP,)), subjects=_names(lowering))


# --- the person -----------------------------------------------------------------------


def check_pregnancy_and_breastfeeding(ctx: _Context) -> None:
    if ctx.profile.pregnant:
        ctx.add("pregnancy", subjects=["pregnant"])
    if ctx.profile.breastfeeding:
        ctx.add("breastfeeding", subjects=["breastfeeding"])


def check_self_harm(ctx: _Context) -> None:
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


def _supply_limit_mg(ctx: _Context) -> Decimal:
    """The lower of the catalog's total and, with a recorded weight, mg per kg x weight (AAPCC)."""
    limit = ctx.rules.param("supply_limit_mg")
    if ctx.profile.weight_kg:
        limit = min(limit, ctx.rules.param("supply_limit_mg_per_kg") * ctx.profile.weight_kg)
    return limit


def check_indication(ctx: _Context) -> None:
    if ctx.indication.caution:
        detail = f"{ctx.indication.name}: {ctx.indication.caution}"
        ctx.add("indication-caution", subjects=[ctx.indication.name], detail=detail)


def check_baseline_ecg(ctx: _Context) -> None:
    """Baseline ECG on the explicit triggers of A.2 (reference 8.1).

    Age over the ECG age, any cardiac condition, a known-risk QT drug, a QTc above the sex
    threshold, low potassium or magnesium, or a diuretic. A possible- or conditional-risk QT
    drug counts only together with another torsades risk factor (female sex, another such drug);
    female sex alone does not.
    """
    reasons: list[str] = []
    if ctx.profile.age > ctx.rules.int_param("ecg_age_over_years"):
        reasons.append(f"age {ctx.profile.age}")
    reasons += [
        ctx.rules.conditions[slug].name
        for slug in sorted(ctx.profile.conditions)
        if ctx.rules.conditions[slug].group == CARDIAC_GROUP or ctx.rules.conditions[slug].rule_code == "other-cardiac"
    ]
    if ctx.profile.qtc_ms is not None and ctx.profile.qtc_ms > _qtc_warning_threshold(ctx):
        reasons.append(f"QTc {ctx.profile.qtc_ms} ms")
    reasons += low_electrolytes(ctx)
    reasons += _names(ctx.drugs_where(lambda d: d.qt_risk == "known"))
    reasons += _names(ctx.drugs_where(lambda d: d.lowers_electrolytes))
    other_qt = _names(ctx.drugs_where(lambda d: d.qt_risk in ("possible", "conditional")))
    if other_qt and (reasons or ctx.profile.sex == Sex.FEMALE or len(other_qt) > 1):
        if not reasons and ctx.profile.sex == Sex.FEMALE:
            reasons.append("female sex")
        reasons += other_qt
    if reasons:
        ctx.add("baseline-ecg", Effects(monitoring=(BASELINE_ECG, REPEAT_ECG)), subjects=reasons)


# --- stacked risks (reference A.4) ---------------------------------------------------


def _recent(on: date, measured: date | None, valid_days: int) -> bool:
    return measured is not None and abs((on - measured).days) <= valid_days


def _tally_points(ctx: _Context, item: str) -> int:
    return ctx.rules.int_param(f"qt_tally_points_{item}")


def _qt_drugs_counted(ctx: _Context) -> tuple[list[str], list[str], list[str]]:
    """(QT drugs besides amitriptyline that count, conditional ones that do not, known-risk ones)."""
    conditions_recorded = bool(low_electrolytes(ctx)) or any(
        ctx.rules.conditions[slug].qt_risk_condition for slug in ctx.profile.conditions
    )
    qtc = ctx.profile.qtc_ms
    conditions_recorded = conditions_recorded or (qtc is not None and qtc > _qtc_warning_threshold(ctx))
    counted: list[str] = []
    not_counted: list[str] = []
    for name, drug in ctx.drugs_where(lambda d: bool(d.qt_risk) and not d.is_amitriptyline):
        if drug.qt_risk != "conditional" or conditions_recorded or drug.slug in ctx.over_dose_limit:
            counted.append(name)
        else:
            not_counted.append(name)
    known = _names(ctx.drugs_where(lambda d: d.qt_risk == "known" and not d.is_amitriptyline))
    return counted, not_counted, known


def qt_tally(ctx: _Context) -> tuple[int, list[str], list[str], list[str], list[str]]:
    """The QT tally on the Tisdale items an outpatient record holds: (score, items that scored, items
    not known, notes). An item with no recent result is "not known", never 0; a result that scores
    counts whatever its date (the cautious reading)."""
    profile, rules = ctx.profile, ctx.rules
    scored: list[tuple[str, int]] = []
    unknown: list[str] = []
    if profile.age >= rules.int_param("qt_tally_age_years"):
        scored.append((f"age {profile.age}", _tally_points(ctx, "age")))
    if profile.sex == Sex.FEMALE:
        scored.append(("female", _tally_points(ctx, "female")))
    loops = _names(ctx.drugs_where(lambda d: d.loop_diuretic))
    if loops:
        scored.append((f"loop diuretic ({', '.join(loops)})", _tally_points(ctx, "loop_diuretic")))
    potassium_days = rules.int_param("qt_tally_potassium_valid_days")
    ticked_low = [
        ctx.rules.conditions[slug].name
        for slug in sorted(profile.conditions)
        if ctx.rules.conditions[slug].rule_code == "low-potassium-magnesium"
    ]
    if profile.potassium is not None and profile.potassium <= rules.param("qt_tally_potassium_max_mmol_l"):
        scored.append((f"potassium {profile.potassium} mmol/L", _tally_points(ctx, "potassium")))
    elif ticked_low:
        scored.append((f"{ticked_low[0].lower()} (ticked)", _tally_points(ctx, "potassium")))
    elif profile.potassium is None or not _recent(ctx.on, profile.bloods_on, potassium_days):
        unknown.append(f"potassium (no dated result in the last {potassium_days} days)")
    ecg_days = rules.int_param("qt_tally_ecg_valid_days")
    if profile.qtc_ms is not None and profile.qtc_ms >= rules.int_param("qt_tally_qtc_ms"):
        scored.append((f"QTc {profile.qtc_ms} ms", _tally_points(ctx, "qtc")))
    elif profile.qtc_ms is None or not _recent(ctx.on, profile.ecg_on, ecg_days):
        unknown.append(f"QTc (no dated ECG in the last {ecg_days} days)")
    for slug in sorted(profile.conditions):
        condition = rules.conditions[slug]
        if condition.qt_tally_points:
            scored.append((condition.name.lower(), condition.qt_tally_points))
    scored.append(("amitriptyline, a QT-prolonging drug", _tally_points(ctx, "one_qt_drug")))
    counted, not_counted, _ = _qt_drugs_counted(ctx)
    if counted:
        scored.append((f"a second QT-prolonging drug ({', '.join(counted)})", _tally_points(ctx, "two_qt_drugs")))
    notes = [f"{name}: conditional QT risk, not counted (none of its conditions is recorded)" for name in not_counted]
    score = sum(points for _, points in scored)
    # The identity names each item without its value (an age, a level): a birthday is not a new finding.
    kinds = [re.sub(r"^(age|potassium|QTc) [0-9.]+.*$", r"\1", label) for label, _ in scored]
    return score, [f"{label} +{points}" for label, points in scored], unknown, notes, kinds


def _short_courses(ctx: _Context) -> list[str]:
    """QT drugs taken as a short course (14 days or less, from a known first to a planned last dose)
    that ends after the planned start: suggest starting after it (A.4)."""
    limit = ctx.rules.int_param("qt_short_course_days")
    found = []
    for reading in ctx.readings:
        started, stopped = reading.started_on, reading.stopped_on
        if started is None or stopped is None or stopped < ctx.on or (stopped - started).days + 1 > limit:
            continue
        for drug in reading.ingredients:
            if drug.qt_risk and not drug.is_amitriptyline:
                clear = stopped + timedelta(days=window_days(drug))
                found.append(
                    f"{drug.name} is a short course ending on {stopped.isoformat()}: consider starting amitriptyline "
                    f"after it ends, from {clear.isoformat()}."
                )
    return found


def check_qt_tally(ctx: _Context) -> None:
    """Stacked QT risk (A.4): 7-10 raised, 11 or more (or two known-risk QT drugs besides amitriptyline) high."""
    score, scored, unknown, notes, kinds = qt_tally(ctx)
    _, _, known = _qt_drugs_counted(ctx)
    high = score >= ctx.rules.int_param("qt_tally_high_min") or len(known) >= ctx.rules.int_param(
        "qt_tally_high_known_drugs"
    )
    if not high and score < ctx.rules.int_param("qt_tally_raised_min"):
        return
    code = "qt-tally-high" if high else "qt-tally-raised"
    parts = [f"QT tally {score}: {'; '.join(scored)}."]
    if unknown:
        parts.append(f"Not known (not counted as 0; the score may be higher): {'; '.join(unknown)}.")
    if len(known) >= ctx.rules.int_param("qt_tally_high_known_drugs"):
        parts.append(f"Two or more known-risk QT drugs besides amitriptyline: {', '.join(known)}.")
    parts += notes
    parts += _short_courses(ctx)
    parts.append(ctx.rules.rule(code).detail)
    effects = Effects(
        min_days_per_step=ctx.cautious_days(),
        early_first_review=True,
        monitoring=(BASELINE_ECG, ELECTROLYTES, REPEAT_ECG),
        checks=(
            DatedCheck(REPEAT_ECG, at_target=True),
            DatedCheck(ECG_BEFORE_HIGHER_DOSE, before_dose_above_mg=ctx.rules.param("qt_tally_ecg_above_mg")),
        ),
    )
    subjects = [f"score {score}", *scored, *(f"{item}: not known" for item in unknown)]
    ctx.add(code, effects, subjects=subjects, detail=" ".join(parts), identity=[*kinds, *unknown])


def check_sodium(ctx: _Context) -> None:
    """A low sodium on file (A.3's levels before the start), and stacked sodium risk at 65 or over (A.4)."""
    sodium = ctx.profile.sodium
    if sodium is not None:
        if sodium < ctx.rules.int_param("sodium_critical_mmol"):
            ctx.add("baseline-sodium-critical", subjects=[f"sodium {sodium} mmol/L"])
        elif sodium < ctx.rules.int_param("sodium_low_mmol"):
            recheck = DatedCheck(SODIUM_RECHECK, within_days=ctx.rules.int_param("sodium_recheck_days"))
            ctx.add(
                "baseline-sodium-low",
                Effects(hold_at_start=True, early_first_review=True, checks=(recheck,)),
                subjects=[f"sodium {sodium} mmol/L"],
            )
    if not ctx.is_older():
        return
    lowering = _names(ctx.drugs_where(lambda d: d.lowers_sodium and not d.is_amitriptyline))
    if lowering:
        checks = (
            DatedCheck(
                SODIUM_AFTER_START,
                after_days=ctx.rules.int_param("sodium_check_after_start_min_days"),
                within_days=ctx.rules.int_param("sodium_check_after_start_max_days"),
            ),
            DatedCheck(SODIUM_AT_TARGET, at_target=True),
        )
        ctx.add(
            "sodium-stacked",
            Effects(monitoring=(SODIUM,), checks=checks),
            subjects=[f"age {ctx.profile.age}", *lowering],
        )


def fold(cards: Sequence[Card]) -> list[Card]:
    """Cards about one concern fold under that concern's stacked card: one card, one reason (A.4).

    Only cards no more severe than the stacked card fold: critical cards never do (each blocks on its
    own), nor a warning under an information card."""
    stacked = {card.concern: card for card in cards if card.stacked and card.concern}
    folded: dict[str, list[Card]] = defaultdict(list)
    kept: list[Card] = []
    for card in cards:
        host = stacked.get(card.concern)
        # A card folds only under a host at least as severe: a warning never hides under information.
        if host is not None and card is not host and not card.stacked and card.indicator.rank >= host.indicator.rank:
            folded[card.concern].append(card)
        else:
            kept.append(card)
    return [
        replace(card, folded=tuple(sorted(folded[card.concern], key=lambda c: c.sort_key)))
        if card in stacked.values()
        else card
        for card in kept
    ]


CHECKS = (
    check_age,
    check_conditions,
    check_qtc,
    check_blocking_drugs,
    check_amitriptyline_on_list,
    check_duplicate_tricyclic,
    check_not_checked,
    check_not_reviewed,
    check_dose_limits,
    check_qt_drugs,
    check_seizure_threshold,
    check_serotonergic,
    check_cyp2d6,
    check_inducers,
    check_thyroid_hormone,
    check_cns,
    check_anticholinergic,
    check_raised_levels,
    check_electrolytes,
    check_blood_pressure_and_sympathomimetics,
    check_pregnancy_and_breastfeeding,
    check_self_harm,
    check_indication,
    check_baseline_ecg,
    check_sodium,
    check_qt_tally,  # last: it reads the dose limits and every QT factor found above
)


def _summarise(ctx: _Context) -> Assessment:
    cards = tuple(sorted(fold(ctx.cards), key=lambda c: c.sort_key))
    effects = [c.effects for card in cards for c in card.with_folded()]
    starts = [e.start for e in effects]
    days = [e.min_days_per_step for e in effects if e.min_days_per_step]
    limits = [e.supply_limit_days for e in effects if e.supply_limit_days]
    mg_limits = [e.supply_limit_mg for e in effects if e.supply_limit_mg]
    earliest = [e.earliest_start for e in effects if e.earliest_start]
    if any(c.indicator is Indicator.CRITICAL and c.effects.earliest_start is None for c in cards):
        earliest = []  # a block with no end date: no start date is safe yet
    monitoring: list[str] = []
    checks: list[DatedCheck] = []
    for e in effects:
        for key in e.monitoring:
            if key not in monitoring:
                monitoring.append(key)
        checks += [check for check in e.checks if check not in checks]
    caps = [e.target_cap_mg for e in effects if e.target_cap_mg is not None]
    items = anticholinergic_items(ctx)
    return Assessment(
        cards=cards,
        unrecognised_medications=tuple(r.entered for r in ctx.readings if r.state is ReviewState.NOT_RECOGNISED),
        unreviewed_medications=tuple(r.entered for r in ctx.readings if r.state is ReviewState.RECOGNISED),
        recognised_medications=tuple(
            (r.entered, ", ".join(d.name for d in r.ingredients)) for r in ctx.readings if r.ingredients
        ),
        medicines=tuple(ctx.readings),
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
        checks=tuple(checks),
        target_cap_mg=min(caps) if caps else None,
        review_each_rise=any(e.review_each_rise for e in effects),
    )
