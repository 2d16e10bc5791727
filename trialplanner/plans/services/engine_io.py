"""The bridge to the engine: catalog and plan rows in as engine inputs, engine results out as JSON."""

from datetime import date
from decimal import Decimal

from trialplanner import engine
from trialplanner.catalog import selectors as catalog
from trialplanner.catalog.models import InteractingDrug, Strength
from trialplanner.engine.medicines import interaction_label
from trialplanner.engine.types import DRUG_FACT_CHOICES, DRUG_FACT_FLAGS, DRUG_FACT_NUMBERS
from trialplanner.patients import selectors as patient_selectors
from trialplanner.plans import selectors


def strengths() -> tuple[engine.StrengthFacts, ...]:
    return tuple(
        engine.StrengthFacts(engine.Form(s.form), s.amount_mg, s.per_volume_ml)
        for s in Strength.objects.filter(is_active=True, drug__slug="amitriptyline")
    )


def plan_options(*, target_mg=None, tablet_strength_mg=None, days_per_step=None) -> engine.PlanOptions:
    return engine.PlanOptions(
        strengths=strengths(),
        target_mg=None if target_mg is None else Decimal(target_mg),
        tablet_strength_mg=None if tablet_strength_mg is None else Decimal(tablet_strength_mg),
        days_per_step=days_per_step,
    )


def plan_assess(*, patient, indication, start_date: date):
    """The findings for this patient and indication on the start date, without building a plan."""
    return patient_selectors.assess(patient, patient_selectors.current_profile(patient), indication, start_date)


def plan_preview(*, patient, indication, start_date: date, **options):
    """Assess and build without writing: (assessment, draft); draft is None when blocked."""
    profile = patient_selectors.current_profile(patient)
    assessment = selectors.assess_course(patient, profile, indication, start_date)
    if assessment.blocked:
        return assessment, None
    draft = engine.build_plan(
        catalog.protocol_facts(indication.protocol),
        assessment,
        start_date,
        plan_options(**options),
        catalog.rulebook(),
    )
    return assessment, draft


def measure_facts(measure) -> engine.MeasureFacts:
    return engine.MeasureFacts(
        slug=measure.slug,
        short_name=measure.short_name,
        response_rule=measure.response_rule,
        response_threshold=measure.response_threshold,
        higher_is_worse=measure.higher_is_worse,
        scale_min=measure.scale_min,
        scale_max=measure.scale_max,
    )


def _json(value):
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [_json(v) for v in (sorted(value) if isinstance(value, frozenset | set) else value)]
    return value


def card_json(card: engine.Card) -> dict:
    """A card as saved on a plan and returned by the API; `key` is its stable identity (docs/plan-request.md)."""
    return {
        "key": card.key,
        "code": card.code,
        "indicator": card.indicator.value,
        "title": card.title,
        "summary": card.summary,
        "detail": card.detail,
        "action": card.action.value,
        "subjects": list(card.subjects),
        "source": {"label": card.source.label, "identifier": card.source.identifier} if card.source else None,
        "sources": [{"key": s.key, "label": s.label, "identifier": s.identifier} for s in card.sources],
        "concern": card.concern,
        "stacked": card.stacked,
        "needs_specialist_advice": card.needs_specialist_advice,
        "folded": [card_json(c) for c in card.folded],
    }


def adjustment_json(adjustment: engine.Adjustment) -> dict:
    return {"code": adjustment.code, "text": adjustment.text, "because": list(adjustment.because)}


def step_json(step: engine.Step) -> dict:
    return {
        "start": step.start.isoformat(),
        "end": step.end.isoformat(),
        "dose_mg": _json(step.dose_mg),
        "tablets": [{"strength_mg": _json(t.strength_mg), "count": t.count} for t in step.tablets],
        "liquid_ml": None if step.liquid_ml is None else _json(step.liquid_ml),
        "awaits": list(step.awaits),
    }


def followup_json(followup: engine.FollowUp) -> dict:
    return {"due": followup.due.isoformat(), "kind": followup.kind.value, "assess": list(followup.assess)}


INTERACTION_LABELS = dict(InteractingDrug.Action.choices)


def draft_json(assessment: engine.Assessment | None, draft: engine.PlanDraft | None) -> dict:
    """The plan (or the reason there is none) as the JSON documented in docs/plan-request.md."""
    return {
        "blocked": bool(assessment and assessment.blocked),
        "earliest_start": assessment.earliest_start.isoformat() if assessment and assessment.earliest_start else None,
        "cards": [card_json(c) for c in assessment.cards] if assessment else [],
        "adjustments": [adjustment_json(a) for a in draft.adjustments] if draft else [],
        "steps": [step_json(s) for s in draft.steps] if draft else [],
        "followups": [followup_json(f) for f in draft.followups] if draft else [],
        "monitoring": list(assessment.monitoring) if assessment else [],
        "baseline_checks": list(assessment.baseline_checks) if assessment else [],
        "supply_limit_days": draft.supply_limit_days if draft else None,
        "supply_limit_mg": _json(draft.supply_limit_mg) if draft else None,
        "anticholinergic_total": assessment.anticholinergic_total if assessment else None,
        "unrecognised_medications": list(assessment.unrecognised_medications) if assessment else [],
        "unreviewed_medications": list(assessment.unreviewed_medications) if assessment else [],
        "medications": [medicine_json(r) for r in assessment.medicines] if assessment else [],
    }


def drug_facts_json(drug: engine.DrugFacts) -> dict:
    """The facts the rules read, only those that are set."""
    facts = {name: getattr(drug, name) for name in (*DRUG_FACT_FLAGS, *DRUG_FACT_CHOICES, *DRUG_FACT_NUMBERS)}
    return {name: value for name, value in facts.items() if value}


def medicine_json(reading) -> dict:
    """One entered line: how it was read, what it matched (or the suggestion), and the facts checked."""
    return {
        "entered": reading.entered,
        "name": reading.name,
        "dose_text": reading.dose_text,
        "status": reading.status.value,
        "state": reading.state.value,
        "checked": reading.checked,
        "product": reading.drug.name if reading.drug is not None and reading.drug.is_combination else None,
        "matches": [
            {
                "slug": d.slug,
                "name": d.name,
                "interaction": interaction_label(d, INTERACTION_LABELS),
                "facts": drug_facts_json(d),
            }
            for d in reading.ingredients
        ],
        "not_recognised": list(reading.unmatched_parts),
        "not_reviewed": list(reading.unreviewed),
        "dose": dose_json(reading),
        "suggestions": list(reading.suggestions),
        "stopped_on": reading.stopped_on.isoformat() if reading.stopped_on else None,
        "this_course": reading.this_course,
    }


def dose_json(reading) -> dict:
    """The dose as read from the line: what a rule reads, and the words shown beside the line."""
    dose = reading.dose
    daily = dose.daily_mg if dose is not None else None
    return {
        "read_as": reading.dose_read(),
        "daily_mg": None if daily is None else _json(daily),
        "as_needed": bool(dose and dose.as_needed),
        "corrected": bool(dose and dose.corrected),
    }


def _protocol_snapshot(protocol):
    fields = [
        "start_mg", "older_start_mg", "frail_start_mg", "step_mg", "min_days_per_step", "default_target_mg",
        "ceiling_mg", "first_review_days", "response_judgement_days",
    ]  # fmt: skip
    return {name: _json(getattr(protocol, name)) for name in fields}
