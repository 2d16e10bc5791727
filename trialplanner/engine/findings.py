"""Findings recorded at a visit: reference section A.3 as rules over what was measured.

Every threshold and recheck interval is a RuleBook parameter and every card's wording a
catalog rule row; this module decides when each fires, which decisions it allows and which
follow-up it books. A safer decision (hold, step down, stop) is always allowed; a rise never
is while a finding stands; a critical finding offers "stop now".
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from trialplanner.engine.plan_types import Decision, FollowUp, FollowUpKind, PlanDraft
from trialplanner.engine.types import Card, Effects, Indicator, RuleBook, Sex

SAFER = (Decision.HOLD, Decision.STEP_DOWN, Decision.STOP)
# Monitoring slugs (catalog rows) booked by findings.
REPEAT_ECG_BEFORE_RISE = "repeat-ecg-before-rise"
ECG_AFTER_STOP = "ecg-after-stop"
POTASSIUM_MAGNESIUM = "potassium-magnesium"
LYING_STANDING_BP = "lying-standing-bp-review"
SAME_DAY_SODIUM = "same-day-sodium-assessment"
SODIUM_RECHECK = "sodium-recheck"
SAME_DAY_ECG = "same-day-ecg-assessment"
URGENT_SEROTONIN = "urgent-serotonin-assessment"
MENTAL_HEALTH = "mental-health-assessment"
ANTICHOLINERGIC_REVIEW = "anticholinergic-review"


@dataclass(frozen=True)
class VisitFindings:
    """What was measured and asked at one visit; None or False when not recorded."""

    sex: Sex
    qtc_ms: int | None = None
    baseline_qtc_ms: int | None = None
    bp_lying_systolic: int | None = None
    bp_lying_diastolic: int | None = None
    bp_standing_systolic: int | None = None
    bp_standing_diastolic: int | None = None
    sodium: int | None = None
    potassium: Decimal | None = None
    magnesium: Decimal | None = None
    fall: bool = False
    confusion: bool = False
    urinary_retention: bool = False
    cardiac_symptoms: bool = False
    hyponatraemia_symptoms: bool = False
    serotonin_symptoms: bool = False
    self_harm_thoughts: bool = False


@dataclass(frozen=True)
class Booking:
    """A follow-up a finding books: `days` after the visit, or at the next review when None."""

    assess: tuple[str, ...]
    days: int | None = None


@dataclass(frozen=True)
class Finding:
    card: Card
    fields: tuple[str, ...]  # the visit-form fields that recorded it
    booking: Booking
    offered: tuple[Decision, ...]  # what A.3 suggests; hold, step down and stop are always allowed

    @property
    def critical(self) -> bool:
        return self.card.indicator is Indicator.CRITICAL

    def allows(self, decision: Decision) -> bool:
        return decision in SAFER or decision in self.offered


@dataclass(frozen=True)
class Refusal:
    decision: Decision
    message: str
    fields: tuple[str, ...]


def _card(rules: RuleBook, code: str, subjects: Iterable[str]) -> Card:
    rule = rules.rule(code)
    return Card(
        code=rule.code,
        indicator=rule.indicator,
        action=rule.action,
        title=rule.title,
        summary=rule.summary,
        detail=rule.detail,
        sources=rule.sources,
        effects=Effects(),
        subjects=tuple(subjects),
        order=rule.order,
    )


def _finding(
    rules: RuleBook,
    code: str,
    subjects: Iterable[str],
    fields: Iterable[str],
    booking: Booking,
    offered: Iterable[Decision],
) -> Finding:
    return Finding(_card(rules, code, subjects), tuple(fields), booking, tuple(offered))


def _num(value: Decimal | int) -> str:
    return f"{Decimal(value).normalize():f}"


STOP_NOW = (Decision.STOP_NOW, Decision.STOP)
HOLD_OR_DOWN = (Decision.HOLD, Decision.STEP_DOWN)


def _qtc(f: VisitFindings, rules: RuleBook) -> list[Finding]:
    if f.qtc_ms is None:
        return []
    critical = rules.int_param("qtc_critical_ms")
    rise = rules.int_param("qtc_rise_critical_ms")
    warning = rules.int_param("qtc_warning_female_ms" if f.sex == Sex.FEMALE else "qtc_warning_male_ms")
    subjects: list[str] = []
    if f.qtc_ms > critical:
        subjects.append(f"QTc {f.qtc_ms} ms")
    if f.baseline_qtc_ms is not None and f.qtc_ms - f.baseline_qtc_ms > rise:
        subjects.append(f"QTc rose {f.qtc_ms - f.baseline_qtc_ms} ms from the baseline of {f.baseline_qtc_ms} ms")
    if subjects:
        booking = Booking((ECG_AFTER_STOP, POTASSIUM_MAGNESIUM), rules.int_param("stop_now_review_days"))
        return [_finding(rules, "visit-qtc-critical", subjects, ["qtc_ms"], booking, STOP_NOW)]
    if f.qtc_ms > warning:
        subject = f"QTc {f.qtc_ms} ms, above {warning} ms for {'women' if f.sex == Sex.FEMALE else 'men'}"
        booking = Booking((REPEAT_ECG_BEFORE_RISE, POTASSIUM_MAGNESIUM))
        return [_finding(rules, "visit-qtc-prolonged", [subject], ["qtc_ms"], booking, HOLD_OR_DOWN)]
    return []


def _orthostatic(f: VisitFindings, rules: RuleBook) -> list[Finding]:
    lying_s, lying_d = f.bp_lying_systolic, f.bp_lying_diastolic
    standing_s, standing_d = f.bp_standing_systolic, f.bp_standing_diastolic
    if lying_s is None or lying_d is None or standing_s is None or standing_d is None:
        return []
    systolic_fall = lying_s - standing_s
    diastolic_fall = lying_d - standing_d
    subjects: list[str] = []
    fields: list[str] = []
    if systolic_fall >= rules.int_param("orthostatic_systolic_fall_mmhg"):
        subjects.append(f"systolic fell {systolic_fall} mmHg on standing")
        fields.append("bp_standing_systolic")
    if diastolic_fall >= rules.int_param("orthostatic_diastolic_fall_mmhg"):
        subjects.append(f"diastolic fell {diastolic_fall} mmHg on standing")
        fields.append("bp_standing_diastolic")
    if not subjects:
        return []
    return [_finding(rules, "visit-orthostatic-hypotension", subjects, fields, Booking((LYING_STANDING_BP,)),
                     HOLD_OR_DOWN)]  # fmt: skip


def _sodium(f: VisitFindings, rules: RuleBook) -> list[Finding]:
    if f.sodium is None:
        return []
    critical = rules.int_param("sodium_critical_mmol")
    low = rules.int_param("sodium_low_mmol")
    symptoms = [name for name, present in (("confusion", f.confusion), ("a fall", f.fall),
                                           ("nausea or headache", f.hyponatraemia_symptoms)) if present]  # fmt: skip
    if f.sodium < critical or (f.sodium < low and symptoms):
        subject = f"sodium {f.sodium} mmol/L" + (f" with {', '.join(symptoms)}" if f.sodium >= critical else "")
        booking = Booking((SAME_DAY_SODIUM,), 0)
        return [_finding(rules, "visit-sodium-critical", [subject], ["sodium"], booking, STOP_NOW)]
    if f.sodium < low:
        booking = Booking((SODIUM_RECHECK,), rules.int_param("sodium_recheck_days"))
        return [_finding(rules, "visit-sodium-low", [f"sodium {f.sodium} mmol/L"], ["sodium"], booking,
                         (Decision.HOLD, Decision.STOP))]  # fmt: skip
    return []


def _symptoms(f: VisitFindings, rules: RuleBook) -> list[Finding]:
    found: list[Finding] = []
    if f.cardiac_symptoms:
        found.append(
            _finding(
                rules,
                "visit-cardiac-symptoms",
                ["new palpitations, fainting or chest pain"],
                ["cardiac_symptoms"],
                Booking((SAME_DAY_ECG,), 0),
                (Decision.HOLD,),
            )
        )
    if f.serotonin_symptoms:
        found.append(
            _finding(
                rules,
                "visit-serotonin-toxicity",
                ["serotonin toxicity symptoms"],
                ["serotonin_symptoms"],
                Booking((URGENT_SEROTONIN,), 0),
                STOP_NOW,
            )
        )
    harms = [(name, field) for name, field, present in (
        ("urinary retention", "urinary_retention", f.urinary_retention), ("confusion", "confusion", f.confusion),
        ("a fall since the last visit", "fall", f.fall)) if present]  # fmt: skip
    if harms:
        found.append(
            _finding(
                rules,
                "visit-anticholinergic-harm",
                [n for n, _ in harms],
                [x for _, x in harms],
                Booking((ANTICHOLINERGIC_REVIEW,)),
                (Decision.STEP_DOWN, Decision.STOP),
            )
        )
    if f.self_harm_thoughts:
        found.append(
            _finding(
                rules,
                "visit-self-harm-thoughts",
                ["thoughts of self-harm or suicide"],
                ["self_harm_thoughts"],
                Booking((MENTAL_HEALTH,), 0),
                (Decision.HOLD, Decision.STOP),
            )
        )
    return found


def _electrolytes(f: VisitFindings, rules: RuleBook) -> list[Finding]:
    subjects: list[str] = []
    fields: list[str] = []
    potassium_low = rules.param("visit_potassium_low_mmol")
    magnesium_low = rules.param("visit_magnesium_low_mmol")
    if f.potassium is not None and f.potassium < potassium_low:
        subjects.append(f"potassium {_num(f.potassium)} mmol/L")
        fields.append("potassium")
    if f.magnesium is not None and f.magnesium < magnesium_low:
        subjects.append(f"magnesium {_num(f.magnesium)} mmol/L")
        fields.append("magnesium")
    if not subjects:
        return []
    booking = Booking((POTASSIUM_MAGNESIUM, REPEAT_ECG_BEFORE_RISE))
    return [_finding(rules, "visit-low-potassium-magnesium", subjects, fields, booking, HOLD_OR_DOWN)]


CHECKS = (_qtc, _orthostatic, _sodium, _symptoms, _electrolytes)


def assess_findings(findings: VisitFindings, rules: RuleBook) -> tuple[Finding, ...]:
    """Apply reference section A.3 to what was recorded at a visit: one finding per rule that fires."""
    found = [finding for check in CHECKS for finding in check(findings, rules)]
    return tuple(sorted(found, key=lambda f: f.card.sort_key))


def refusal(decision: Decision, findings: tuple[Finding, ...], *, rise_ahead: bool) -> Refusal | None:
    """Why a decision is not allowed with these findings, or None (reference A.3)."""
    critical = [f for f in findings if f.critical]
    if decision is Decision.STOP_NOW:
        if critical:
            return None
        return Refusal(decision, "Stop now (no taper) is for a critical finding; choose stop to taper off.", ())
    rises = decision is Decision.STEP_UP or (decision is Decision.CONTINUE and rise_ahead)
    blocking = critical if decision is Decision.CONTINUE and not rises else findings
    if decision in SAFER or not blocking:
        return None
    names = "; ".join(f"{', '.join(f.card.subjects)} ({f.card.title})" for f in blocking)
    if critical and decision is Decision.CONTINUE and not rises:
        verb = "Continuing unchanged is not allowed with a critical finding"
    else:
        verb = "No rise while a visit finding stands"
    suggestion = "stop now, stop (taper), step down or hold" if critical else "hold, step down or stop"
    fields = tuple(dict.fromkeys(field for f in blocking for field in f.fields))
    return Refusal(decision, f"{verb}: {names}. Choose {suggestion}.", fields)


def book(draft: PlanDraft, findings: tuple[Finding, ...], on: date) -> PlanDraft:
    """Add the follow-ups the findings book to a re-planned draft, and show their cards on it."""
    if not findings:
        return draft
    followups = list(draft.followups)
    for finding in findings:
        booking = finding.booking
        if booking.days is not None:
            followups.append(FollowUp(on + timedelta(days=booking.days), FollowUpKind.RECHECK, booking.assess))
            continue
        later = [i for i, f in enumerate(followups) if f.due > on] or list(range(len(followups)))
        if later:
            i = min(later, key=lambda j: followups[j].due)
            followups[i] = replace(followups[i], assess=tuple(dict.fromkeys(followups[i].assess + booking.assess)))
        else:
            followups.append(FollowUp(on, FollowUpKind.RECHECK, booking.assess))
    merged: dict[date, FollowUp] = {}
    for followup in sorted(followups, key=lambda f: f.due):
        if followup.due in merged:
            earlier = merged[followup.due]
            merged[followup.due] = replace(earlier, assess=tuple(dict.fromkeys(earlier.assess + followup.assess)))
        else:
            merged[followup.due] = followup
    dues = list(merged)
    codes = {f.card.code for f in findings}
    cards = tuple(f.card for f in findings) + tuple(c for c in draft.cards if c.code not in codes)
    return replace(draft, followups=tuple(merged.values()), end_date=max([draft.end_date, *dues]), cards=cards)
