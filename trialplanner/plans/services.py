"""Writes to plans: the only bridge from plan records to the engine. Each is one transaction."""

from dataclasses import asdict, replace
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from trialplanner import engine
from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.catalog import selectors as catalog
from trialplanner.catalog.models import Condition, InteractingDrug, Strength
from trialplanner.engine.types import DRUG_FACT_CHOICES, DRUG_FACT_FLAGS, DRUG_FACT_NUMBERS
from trialplanner.patients import selectors as patient_selectors
from trialplanner.patients.models import Patient
from trialplanner.patients.services import medication_row, risk_profile_create
from trialplanner.plans import selectors
from trialplanner.plans.models import Acknowledgement, FollowUp, Plan, Step, Visit, finding_key

OPEN_FOLLOWUP = FollowUp.OPEN


class PlanError(Exception):
    """A plan action cannot be done; the message says why, for the clinician."""


class PlanConflict(PlanError):
    pass


class StaleDraft(PlanError):
    """The draft was built from a version that is no longer current; `current` is the one to open."""

    def __init__(self, stale: selectors.StaleDraft):
        self.current = stale.current
        super().__init__(stale.message)


class AcknowledgementRequired(PlanError):
    def __init__(self, cards):
        self.cards = tuple(cards)
        super().__init__("Record a reason for each warning before activating: " + ", ".join(c.title for c in cards))


# --- engine inputs ---------------------------------------------------------------------------


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


# --- serialisation of engine results -------------------------------------------------------------


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
    return {
        "code": card.code,
        "indicator": card.indicator.value,
        "title": card.title,
        "summary": card.summary,
        "detail": card.detail,
        "action": card.action.value,
        "subjects": list(card.subjects),
        "source": {"label": card.source.label, "identifier": card.source.identifier} if card.source else None,
        "sources": [{"key": s.key, "label": s.label, "identifier": s.identifier} for s in card.sources],
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
        "checked": reading.checked,
        "product": reading.drug.name if reading.drug is not None and reading.drug.is_combination else None,
        "matches": [
            {
                "slug": d.slug,
                "name": d.name,
                "interaction": INTERACTION_LABELS.get(d.action, d.action),
                "facts": drug_facts_json(d),
            }
            for d in reading.ingredients
        ],
        "not_recognised": list(reading.unmatched_parts),
        "suggestions": list(reading.suggestions),
        "stopped_on": reading.stopped_on.isoformat() if reading.stopped_on else None,
        "this_course": reading.this_course,
    }


def _protocol_snapshot(protocol):
    fields = [
        "start_mg", "older_start_mg", "frail_start_mg", "step_mg", "min_days_per_step", "default_target_mg",
        "ceiling_mg", "first_review_days", "response_judgement_days",
    ]  # fmt: skip
    return {name: _json(getattr(protocol, name)) for name in fields}


def _save(*, patient, indication, user, draft, assessment, profile, options, kind, series=None, previous=None,
          status=Plan.Status.DRAFT, start_date, built_from=None, baseline_score=None) -> Plan:  # fmt: skip
    version = 1
    if series is not None:
        version = (Plan.objects.filter(series=series).aggregate(v=Max("version"))["v"] or 0) + 1
    engine_profile = patient_selectors.engine_profile(patient, profile, start_date)
    plan = Plan(
        patient=patient,
        indication=indication,
        risk_profile=profile,
        kind=kind,
        status=status,
        version=version,
        previous=previous,
        built_from=built_from,
        start_date=draft.start_date,
        end_date=draft.end_date,
        start_mg=draft.start_mg,
        target_mg=draft.target_mg,
        ceiling_mg=draft.ceiling_mg,
        days_per_step=draft.days_per_step,
        tablet_strength_mg=options.tablet_strength_mg,
        supply_limit_days=draft.supply_limit_days,
        supply_limit_mg=draft.supply_limit_mg,
        target_date=draft.target_date,
        response_date=draft.response_date,
        protocol_snapshot=_protocol_snapshot(indication.protocol),
        engine_input={
            "start_date": start_date.isoformat(),
            "risk_profile_version": profile.version if profile else None,
            "profile": _json(asdict(engine_profile)),
            "options": {
                "target_mg": _json(options.target_mg),
                "tablet_strength_mg": _json(options.tablet_strength_mg),
                "days_per_step": options.days_per_step,
            },
        },
        cards=[card_json(c) for c in (draft.cards or (assessment.cards if assessment else ()))],
        adjustments=[adjustment_json(a) for a in draft.adjustments],
        monitoring=list(draft.monitoring),
        clinician=previous.clinician if previous is not None else user,
        created_by=user,
        baseline_score=previous.baseline_score if previous is not None else baseline_score,
    )
    if series is not None:
        plan.series = series
    if status == Plan.Status.ACTIVE:
        plan.activated_by, plan.activated_at = user, timezone.now()
    plan.save()
    Step.objects.bulk_create(
        Step(
            plan=plan,
            number=s.number,
            kind=s.kind.value,
            start_date=s.start,
            end_date=s.end,
            dose_mg=s.dose_mg,
            tablets=[{"strength_mg": _json(t.strength_mg), "count": t.count} for t in s.tablets],
            liquid_ml=s.liquid_ml,
            liquid_label=s.dispense.liquid_strength.label if s.dispense.liquid_strength else "",
        )
        for s in draft.steps
    )
    followups = [FollowUp(plan=plan, due_date=f.due, kind=f.kind.value, assess=list(f.assess)) for f in draft.followups]
    for followup in followups:
        followup.fill_worklist_fields(plan)
    FollowUp.objects.bulk_create(followups)
    audit_log(AuditEvent.Action.CREATE, plan, user=user, detail=f"{plan.kind} plan version {plan.version} ({status})")
    return plan


def _lock_patient(patient_id):
    """Queue lifecycle actions on one patient's plans (a row lock, held to the end of the transaction),
    so that of two racing actions the second sees what the first did. Always taken first."""
    list(Patient.objects.select_for_update().filter(pk=patient_id).values_list("pk", flat=True))


def _lock(plan, lock_version):
    """Optimistic lock: fail if someone changed the plan since the form was shown."""
    updated = Plan.objects.filter(pk=plan.pk, lock_version=lock_version).update(lock_version=F("lock_version") + 1)
    if not updated:
        raise PlanConflict(
            "Someone else changed this plan while you were looking at it. Nothing was saved: "
            "review the current version below and try again."
        )
    plan.refresh_from_db()


def _close_followups(plan, user, after=None):
    followups = plan.followups.filter(status__in=OPEN_FOLLOWUP)
    if after is not None:
        followups = followups.filter(due_date__gt=after)
    followups.update(
        status=FollowUp.Status.CANCELLED, status_changed_by=user, status_changed_at=timezone.now(), worklist_date=None
    )


def _end(plan, user, status, reason="", stop_reason=""):
    plan.status = status
    plan.ended_by, plan.ended_at, plan.end_reason, plan.stop_reason = user, timezone.now(), reason, stop_reason
    plan.lock_version = F("lock_version") + 1  # a form shown before this is stale
    plan.save(update_fields=["status", "ended_by", "ended_at", "end_reason", "stop_reason", "lock_version"])
    plan.refresh_from_db(fields=["lock_version"])
    plan.followups.refresh_worklist()
    audit_log(AuditEvent.Action.UPDATE, plan, user=user, detail=f"version {plan.version} now {status}")


# --- the services ------------------------------------------------------------------------------


@transaction.atomic
def plan_create(*, patient, indication, user, start_date, target_mg=None, tablet_strength_mg=None,
                days_per_step=None, baseline_score=None) -> Plan:  # fmt: skip
    """Build a draft plan through the engine; raises engine errors instead of saving a bad plan."""
    _lock_patient(patient.pk)
    options = plan_options(target_mg=target_mg, tablet_strength_mg=tablet_strength_mg, days_per_step=days_per_step)
    profile = patient_selectors.current_profile(patient)
    assessment = selectors.assess_course(patient, profile, indication, start_date)
    draft = engine.build_plan(
        catalog.protocol_facts(indication.protocol), assessment, start_date, options, catalog.rulebook()
    )
    return _save(
        patient=patient, indication=indication, user=user, draft=draft, assessment=assessment, profile=profile,
        options=options, kind=Plan.Kind.TITRATION, start_date=start_date, baseline_score=baseline_score,
    )  # fmt: skip


@transaction.atomic
def plan_activate(*, plan, user, lock_version, reasons) -> Plan:
    """Activate a draft: refused while a critical card stands, a warning lacks a reason, or the version
    it was built from is no longer the current one."""
    _lock_patient(plan.patient_id)
    _lock(plan, lock_version)
    if plan.status != Plan.Status.DRAFT:
        raise PlanError(f"Only a draft can be activated; this version is {plan.get_status_display().lower()}.")
    _require_fresh(plan)
    profile = patient_selectors.current_profile(plan.patient)
    if (profile.pk if profile else None) != plan.risk_profile_id:
        raise PlanError("The risk profile changed after this draft was built. Revise the draft to rebuild it.")
    assessment = selectors.assess_course(plan.patient, profile, plan.indication, plan.start_date, series=plan.series)
    if assessment.blocked:
        raise engine.PlanBlocked(assessment.critical_cards)
    missing = [c for c in assessment.warning_cards if not (reasons.get(c.code) or "").strip()]
    if missing:
        raise AcknowledgementRequired(missing)
    Acknowledgement.objects.bulk_create(
        Acknowledgement(
            plan=plan,
            card_code=c.code,
            card_summary=c.summary,
            subjects=list(c.subjects),
            reason=reasons[c.code].strip(),
            acknowledged_by=user,
        )
        for c in assessment.warning_cards
    )
    for current in Plan.objects.filter(series=plan.series, status=Plan.Status.ACTIVE).exclude(pk=plan.pk):
        _end(current, user, Plan.Status.REVISED, f"Replaced by version {plan.version}.")
        _close_followups(current, user)
    plan.status = Plan.Status.ACTIVE
    plan.activated_by, plan.activated_at = user, timezone.now()
    plan.save(update_fields=["status", "activated_by", "activated_at"])
    plan.followups.refresh_worklist()
    audit_log(AuditEvent.Action.UPDATE, plan, user=user, detail=f"activated version {plan.version}")
    return plan


@transaction.atomic
def plan_revise(*, plan, user, lock_version, start_date, target_mg=None, tablet_strength_mg=None,
                days_per_step=None) -> Plan:  # fmt: skip
    """Make a new draft version from new choices; the revised version is kept as it was."""
    _lock_patient(plan.patient_id)
    _lock(plan, lock_version)
    if not plan.is_open or plan.kind != Plan.Kind.TITRATION:
        raise PlanError("Only a draft or active titration plan can be revised.")
    _require_fresh(plan)
    options = plan_options(target_mg=target_mg, tablet_strength_mg=tablet_strength_mg, days_per_step=days_per_step)
    profile = patient_selectors.current_profile(plan.patient)
    assessment = selectors.assess_course(plan.patient, profile, plan.indication, start_date, series=plan.series)
    draft = engine.build_plan(
        catalog.protocol_facts(plan.indication.protocol), assessment, start_date, options, catalog.rulebook()
    )
    if plan.status == Plan.Status.DRAFT:
        _end(plan, user, Plan.Status.REVISED, "Replaced by a revised draft.")
        _close_followups(plan, user)
    return _save(
        patient=plan.patient, indication=plan.indication, user=user, draft=draft, assessment=assessment,
        profile=profile, options=options, kind=Plan.Kind.TITRATION, series=plan.series, previous=plan,
        start_date=start_date, built_from=plan if plan.status == Plan.Status.ACTIVE else plan.built_from,
    )  # fmt: skip


def _require_fresh(plan):
    stale = selectors.stale_draft(plan)
    if stale is not None:
        raise StaleDraft(stale)


def dose_on(plan, day: date) -> Decimal:
    step = plan.steps.filter(start_date__lte=day).order_by("-number").first()
    return step.dose_mg if step else Decimal(0)


@transaction.atomic
def plan_stop(*, plan, user, lock_version, reason, stop_date, stop_reason=Plan.StopReason.OTHER) -> Plan | None:
    """Stop an active plan and create its taper (the new active version). Returns the taper."""
    if stop_reason not in Plan.StopReason.values:
        raise PlanError("Choose why the trial is stopped.")
    if stop_reason == Plan.StopReason.OTHER and not reason.strip():
        raise PlanError("Describe why the trial is stopped.")
    _lock_patient(plan.patient_id)
    _lock(plan, lock_version)
    if plan.status != Plan.Status.ACTIVE or plan.kind != Plan.Kind.TITRATION:
        raise PlanError("Only an active titration plan can be stopped with a taper.")
    if stop_date < plan.start_date:
        raise PlanError("The taper cannot start before the plan started.")
    current = dose_on(plan, stop_date)
    first_start = Plan.objects.filter(series=plan.series).order_by("version").values_list("start_date", flat=True)[0]
    weeks = (stop_date - first_start).days // 7
    _end(plan, user, Plan.Status.STOPPED, reason.strip(), stop_reason)
    _close_followups(plan, user)
    if current <= 0:
        return None
    options = plan_options(tablet_strength_mg=plan.tablet_strength_mg)
    draft = engine.build_taper(current, weeks, stop_date, catalog.rulebook(), options.strengths,
                               options.tablet_strength_mg)  # fmt: skip
    return _save(
        patient=plan.patient, indication=plan.indication, user=user, draft=draft, assessment=None,
        profile=plan.risk_profile, options=options, kind=Plan.Kind.TAPER, series=plan.series, previous=plan,
        status=Plan.Status.ACTIVE, start_date=stop_date, built_from=plan,
    )  # fmt: skip


@transaction.atomic
def plan_mark_entered_in_error(*, plan, user, lock_version, reason) -> Plan:
    """Mark a version as entered in error; it stays on record, its follow-ups are cancelled."""
    _lock_patient(plan.patient_id)
    _lock(plan, lock_version)
    if plan.status == Plan.Status.ENTERED_IN_ERROR:
        raise PlanError("This version is already marked as entered in error.")
    if not reason.strip():
        raise PlanError("Give a reason.")
    _end(plan, user, Plan.Status.ENTERED_IN_ERROR, reason.strip())
    _close_followups(plan, user)
    return plan


# --- follow-ups and visits ------------------------------------------------------------------------

SNOOZE_DAYS = 7  # "call later": a workflow default, not a clinical interval


def _set_followup_status(followup, user, status, note="", snoozed_until=None):
    followup.status = status
    followup.status_note = note
    followup.snoozed_until = snoozed_until
    followup.status_changed_by, followup.status_changed_at = user, timezone.now()
    followup.sequence += 1
    followup.save(
        update_fields=["status", "status_note", "snoozed_until", "status_changed_by", "status_changed_at", "sequence"]
    )
    audit_log(
        AuditEvent.Action.UPDATE, followup, patient=followup.plan.patient, user=user, detail=f"follow-up {status}"
    )


def _require_open(followup):
    if followup.status not in OPEN_FOLLOWUP or followup.plan.status != Plan.Status.ACTIVE:
        raise PlanError("This follow-up is no longer open: its plan changed or it was already recorded.")


@transaction.atomic
def followup_snooze(*, followup, user, reason, today) -> FollowUp:
    """Call later: move the follow-up 7 days on from today, with the reason."""
    _lock_patient(followup.plan.patient_id)
    followup = FollowUp.objects.select_for_update().select_related("plan").get(pk=followup.pk)
    _require_open(followup)
    _set_followup_status(followup, user, FollowUp.Status.SNOOZED, reason.strip(), today + timedelta(days=SNOOZE_DAYS))
    return followup


@transaction.atomic
def followup_mark_missed(*, followup, user, reason) -> FollowUp:
    """The patient did not attend; the follow-up leaves the worklist with who, when and why."""
    _lock_patient(followup.plan.patient_id)
    followup = FollowUp.objects.select_for_update().select_related("plan").get(pk=followup.pk)
    _require_open(followup)
    _set_followup_status(followup, user, FollowUp.Status.MISSED, reason.strip())
    return followup


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


def baseline_score(plan):
    """The series' baseline score: recorded with the plan, else the score at its baseline visit.

    A score from a later review is not a baseline: the patient is already on the drug.
    """
    if plan.baseline_score is not None:
        return plan.baseline_score
    return (
        Visit.objects.filter(
            plan__series=plan.series, followup__kind=FollowUp.Kind.BASELINE, outcome_score__isnull=False
        )  # fmt: skip
        .order_by("visit_date", "id")
        .values_list("outcome_score", flat=True)
        .first()
    )


# Visit fields copied into the new risk-profile version when recorded.
PROFILE_VALUES = ("heart_rate", "bp_lying_systolic", "bp_lying_diastolic", "bp_standing_systolic",
                  "bp_standing_diastolic", "potassium", "magnesium", "sodium", "weight_kg")  # fmt: skip
FINDING_FLAGS = ("fall", "confusion", "urinary_retention", "cardiac_symptoms", "hyponatraemia_symptoms",
                 "serotonin_symptoms", "self_harm_thoughts")  # fmt: skip
BP_FIELDS = PROFILE_VALUES[1:5]
URINARY_RETENTION_CONDITION = "urinary-retention"


class DecisionRefused(PlanError):
    """The visit's decision is not allowed with its findings; `errors` maps form fields to messages."""

    def __init__(self, message, fields):
        self.fields = tuple(fields)
        super().__init__(message)


def _profile_from_visit(patient, user, visit_date, values):
    """A new risk-profile version: the current one updated with what the visit measured or found.

    Returns the current profile unchanged when the visit recorded nothing that belongs on it.
    """
    current = patient_selectors.current_profile(patient)
    updates = {name: values[name] for name in PROFILE_VALUES if values.get(name) is not None}
    if values.get("qtc_ms") is not None:
        updates.update(qtc_ms=values["qtc_ms"], ecg_date=values.get("ecg_date") or visit_date)
    if any(values.get(name) is not None for name in ("potassium", "magnesium", "sodium")):
        updates["bloods_date"] = visit_date
    if all(values.get(name) is not None for name in BP_FIELDS):
        updates["bp_date"] = visit_date
    if values.get("fall"):
        updates["falls"] = True
    if values.get("self_harm_thoughts"):
        updates["self_harm_last_12_months"] = True
    add_condition = values.get("urinary_retention")
    fields, conditions, medications = {}, [], []
    if current is not None:
        copied = [f.name for f in current._meta.concrete_fields if f.name not in
                  {"id", "patient", "version", "created_by", "created_at"}]  # fmt: skip
        fields = {name: getattr(current, name) for name in copied}
        conditions = list(current.conditions.all())
        medications = [medication_row(m) for m in current.medications.all()]
    new_condition = add_condition and URINARY_RETENTION_CONDITION not in {c.slug for c in conditions}
    if not new_condition and all(fields.get(k) == v for k, v in updates.items()):
        return current
    if new_condition:
        conditions.append(Condition.objects.get(slug=URINARY_RETENTION_CONDITION))
    fields.update(updates)
    return risk_profile_create(patient=patient, user=user, fields=fields, conditions=conditions,
                               medications=medications)  # fmt: skip


def visit_findings(patient, profile, values) -> tuple[engine.Finding, ...]:
    """The A.3 findings of what a visit recorded, for this patient."""
    baseline_qtc = None
    if values.get("qtc_ms") is not None:
        baseline_qtc = (
            patient.risk_profiles.filter(qtc_ms__isnull=False)
            .order_by("ecg_date", "version")
            .values_list("qtc_ms", flat=True)
            .first()
        )
    findings = engine.VisitFindings(
        sex=engine.types.Sex(patient.sex),
        qtc_ms=values.get("qtc_ms"),
        baseline_qtc_ms=baseline_qtc,
        **{name: values.get(name) for name in ("sodium", "potassium", "magnesium", *BP_FIELDS)},
        **{name: bool(values.get(name)) for name in FINDING_FLAGS},
    )
    return engine.assess_findings(findings, catalog.rulebook())


def _rise_ahead(plan, current_mg) -> bool:
    return plan.kind == Plan.Kind.TITRATION and plan.target_mg > current_mg


@transaction.atomic
def followup_record_visit(*, followup, user, visit_date, decision, outcome_score=None, side_effects=(),
                          side_effects_other="", adherence="all", notes="", qtc_ms=None, ecg_date=None,
                          heart_rate=None, bp_lying_systolic=None, bp_lying_diastolic=None, bp_standing_systolic=None,
                          bp_standing_diastolic=None, sodium=None, potassium=None, magnesium=None, weight_kg=None,
                          glucose_mmol=None, fall=False, confusion=False, urinary_retention=False,
                          cardiac_symptoms=False, hyponatraemia_symptoms=False, serotonin_symptoms=False,
                          self_harm_thoughts=None, mood=""):  # fmt: skip
    """Record a visit, its findings (reference A.3) and its decision, and re-plan from its date.

    Returns (visit, new plan or None). A safer decision (hold, step down, stop, stop now) takes
    effect at once; a rise with new warnings waits as a draft; a decision the findings do not
    allow raises DecisionRefused naming the fields.
    """
    _lock_patient(followup.plan.patient_id)
    followup = (
        FollowUp.objects.select_for_update().select_related("plan__indication__outcome_measure").get(pk=followup.pk)
    )
    _require_open(followup)
    plan = followup.plan
    _lock(plan, plan.lock_version)
    patient = plan.patient
    decision = engine.Decision(decision)
    values = {
        "qtc_ms": qtc_ms, "ecg_date": ecg_date, "heart_rate": heart_rate, "bp_lying_systolic": bp_lying_systolic,
        "bp_lying_diastolic": bp_lying_diastolic, "bp_standing_systolic": bp_standing_systolic,
        "bp_standing_diastolic": bp_standing_diastolic, "sodium": sodium, "potassium": potassium,
        "magnesium": magnesium, "weight_kg": weight_kg, "fall": fall, "confusion": confusion,
        "urinary_retention": urinary_retention, "cardiac_symptoms": cardiac_symptoms,
        "hyponatraemia_symptoms": hyponatraemia_symptoms, "serotonin_symptoms": serotonin_symptoms,
        "self_harm_thoughts": self_harm_thoughts,
    }  # fmt: skip
    current_mg = dose_on(plan, visit_date)
    findings = visit_findings(patient, patient_selectors.current_profile(patient), values)
    refused = engine.findings.refusal(decision, findings, rise_ahead=_rise_ahead(plan, current_mg))
    if refused is not None:
        raise DecisionRefused(refused.message, refused.fields)
    profile = _profile_from_visit(patient, user, visit_date, values)
    baseline = baseline_score(plan)
    judgement = None
    if outcome_score is not None and baseline is not None:
        judgement = engine.judge_response(measure_facts(plan.indication.outcome_measure), baseline, outcome_score)

    new_plan = None
    if decision is engine.Decision.STOP_NOW:
        new_plan = _stop_now(plan, user, current_mg, visit_date, findings, profile)
    elif plan.kind != Plan.Kind.TITRATION:
        stop_step = plan.steps.order_by("-number").first()
        if stop_step is None or visit_date >= stop_step.start_date:
            _end(plan, user, Plan.Status.COMPLETED, "Taper completed." if plan.kind == Plan.Kind.TAPER else
                 "Review after stopping done.")  # fmt: skip
            _close_followups(plan, user)
    else:
        new_plan = _replan(plan, user, decision, current_mg, visit_date, findings)

    visit = Visit.objects.create(
        followup=followup, plan=plan, new_plan=new_plan, visit_date=visit_date, dose_mg=current_mg,
        outcome_score=outcome_score, response_text=judgement.text if judgement else "",
        side_effects=list(side_effects), side_effects_other=side_effects_other.strip(), adherence=adherence,
        decision=decision.value, notes=notes.strip(), recorded_by=user, glucose_mmol=glucose_mmol, mood=mood,
        findings=[card_json(f.card) for f in findings],
        **{k: v for k, v in values.items() if k not in FINDING_FLAGS}, **{k: bool(values[k]) for k in FINDING_FLAGS
                                                                            if k != "self_harm_thoughts"},
        self_harm_thoughts=self_harm_thoughts,
    )  # fmt: skip
    audit_log(AuditEvent.Action.CREATE, visit, patient=patient, user=user, detail=f"decision {decision.value}")
    _set_followup_status(followup, user, FollowUp.Status.DONE)
    return visit, new_plan


def _stop_now(plan, user, current_mg, visit_date, findings, profile):
    """End the course on the visit date without a taper (reference A.3 critical findings)."""
    titles = "; ".join(f"{', '.join(f.card.subjects)} ({f.card.title})" for f in findings if f.critical)
    reason = f"Stopped now at the visit on {visit_date.isoformat()}, no taper: {titles}."
    draft = engine.build_stop_now(current_mg, visit_date, reason=titles + ".")
    draft = engine.findings.book(draft, findings, visit_date)
    _end(plan, user, Plan.Status.STOPPED, reason)
    _close_followups(plan, user)
    options = plan_options(tablet_strength_mg=plan.tablet_strength_mg)
    return _save(
        patient=plan.patient, indication=plan.indication, user=user, draft=draft, assessment=None, profile=profile,
        options=options, kind=Plan.Kind.STOP_NOW, series=plan.series, previous=plan, status=Plan.Status.ACTIVE,
        start_date=visit_date, built_from=plan,
    )  # fmt: skip


def _replan(plan, user, decision, current_mg, visit_date, findings=()):
    profile = patient_selectors.current_profile(plan.patient)
    assessment = selectors.assess_course(plan.patient, profile, plan.indication, visit_date, series=plan.series)
    options = plan_options(tablet_strength_mg=plan.tablet_strength_mg)
    first_start = Plan.objects.filter(series=plan.series).order_by("version").values_list("start_date", flat=True)[0]
    draft = engine.replan(
        decision, current_mg=current_mg, target_mg=plan.target_mg,
        protocol=catalog.protocol_facts(plan.indication.protocol), assessment=assessment, on=visit_date,
        options=options, rules=catalog.rulebook(), weeks_on_drug=(visit_date - first_start).days // 7,
    )  # fmt: skip
    kind = Plan.Kind.TAPER if decision is engine.Decision.STOP else Plan.Kind.TITRATION
    if kind == Plan.Kind.TAPER:
        # The supply limits of the course still apply while it tapers.
        draft = replace(draft, supply_limit_days=assessment.supply_limit_days,
                        supply_limit_mg=assessment.supply_limit_mg)  # fmt: skip
    draft = engine.findings.book(draft, findings, visit_date)
    # A reason given before carries over only to the same finding (same card code and same
    # subjects): a new medicine under an old code needs its own reason. A rise with a new
    # warning waits as a draft and the current version stays active; a safer decision (hold,
    # step down, stop) takes effect at once whatever warnings stand (reference A.3).
    acknowledged = _latest_acknowledgements(plan.series)
    unacknowledged = [c for c in assessment.warning_cards if finding_key(c.code, c.subjects) not in acknowledged]
    rises = any(step.dose_mg > current_mg for step in draft.steps)
    activate_now = decision in engine.titration.SAFER_DECISIONS or not rises or not unacknowledged
    if activate_now:
        _end(plan, user, Plan.Status.STOPPED if kind == Plan.Kind.TAPER else Plan.Status.REVISED,
             f"Re-planned at the visit on {visit_date.isoformat()}: {decision.value.replace('_', ' ')}.")  # fmt: skip
        _close_followups(plan, user)
    new_plan = _save(
        patient=plan.patient, indication=plan.indication, user=user, draft=draft,
        assessment=None if kind == Plan.Kind.TAPER else assessment, profile=profile, options=options, kind=kind,
        series=plan.series, previous=plan, status=Plan.Status.ACTIVE if activate_now else Plan.Status.DRAFT,
        start_date=visit_date, built_from=plan,
    )  # fmt: skip
    if activate_now and kind == Plan.Kind.TITRATION:
        Acknowledgement.objects.bulk_create(
            Acknowledgement(plan=new_plan, card_code=a.card_code, card_summary=a.card_summary, subjects=a.subjects,
                            reason=a.reason, acknowledged_by=a.acknowledged_by)
            for a in (acknowledged.get(finding_key(c.code, c.subjects)) for c in assessment.warning_cards)
            if a is not None
        )  # fmt: skip
    return new_plan


def _latest_acknowledgements(series) -> dict:
    """The latest reason per finding (card code and subjects) given anywhere in the series."""
    latest = {}
    for ack in Acknowledgement.objects.filter(plan__series=series).order_by("acknowledged_at", "id"):
        latest[ack.finding] = ack
    return latest
