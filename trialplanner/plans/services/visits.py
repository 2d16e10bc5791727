"""Recording a visit: its findings (reference A.3), the new risk-profile version and the re-plan."""

from dataclasses import replace

from django.db import transaction

from trialplanner import engine
from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.catalog import selectors as catalog
from trialplanner.catalog.models import Condition
from trialplanner.outcomes import services as outcomes
from trialplanner.patients import selectors as patient_selectors
from trialplanner.patients.services import medication_row, risk_profile_create
from trialplanner.plans import selectors
from trialplanner.plans.models import Acknowledgement, FollowUp, Plan, Visit
from trialplanner.plans.selectors import baseline_score, dose_on
from trialplanner.plans.services.engine_io import card_json, measure_facts, plan_options
from trialplanner.plans.services.errors import DecisionRefused
from trialplanner.plans.services.followups import _require_open, _set_followup_status
from trialplanner.plans.services.records import _close_followups, _end, _lock, _lock_patient, _save

# Visit fields copied into the new risk-profile version when recorded.
PROFILE_VALUES = (
    "heart_rate",
    "bp_lying_systolic",
    "bp_lying_diastolic",
    "bp_standing_systolic",
    "bp_standing_diastolic",
    "potassium",
    "magnesium",
    "sodium",
    "weight_kg",
)


FINDING_FLAGS = (
    "fall",
    "confusion",
    "urinary_retention",
    "cardiac_symptoms",
    "hyponatraemia_symptoms",
    "serotonin_symptoms",
    "self_harm_thoughts",
)


BP_FIELDS = PROFILE_VALUES[1:5]


URINARY_RETENTION_CONDITION = "urinary-retention"


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
    return risk_profile_create(
        patient=patient, user=user, fields=fields, conditions=conditions, medications=medications
    )


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
                          self_harm_thoughts=None, mood="", stop_reason="", stop_details=""):  # fmt: skip
    """Record a visit, its findings (reference A.3) and its decision, and re-plan from its date.

    Returns (visit, new plan or None). A safer decision (hold, step down, stop, stop now) takes
    effect at once; a rise with new warnings waits as a draft; a decision the findings do not
    allow raises DecisionRefused naming the fields. A stop records `stop_reason` (Plan.StopReason,
    with `stop_details` for Other) on the version it stops; a stop now records a finding.
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
    stopping = decision is engine.Decision.STOP and plan.kind == Plan.Kind.TITRATION
    if stopping and stop_reason and stop_reason not in Plan.StopReason.values:
        raise DecisionRefused("Choose why the trial is stopped.", ("stop_reason",))
    if stopping and stop_reason == Plan.StopReason.OTHER and not stop_details.strip():
        raise DecisionRefused("Describe why the trial is stopped.", ("stop_details",))
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
            _end(
                plan,
                user,
                Plan.Status.COMPLETED,
                "Taper completed." if plan.kind == Plan.Kind.TAPER else "Review after stopping done.",
            )
            _close_followups(plan, user)
    else:
        new_plan = _replan(
            plan,
            user,
            decision,
            current_mg,
            visit_date,
            findings,
            answered=followup,
            stop_reason=stop_reason if stopping else "",
            stop_details=stop_details.strip(),
        )

    visit = Visit.objects.create(
        followup=followup,
        plan=plan,
        new_plan=new_plan,
        visit_date=visit_date,
        dose_mg=current_mg,
        outcome_score=outcome_score,
        response_text=judgement.text if judgement else "",
        side_effects=list(side_effects),
        side_effects_other=side_effects_other.strip(),
        adherence=adherence,
        decision=decision.value,
        notes=notes.strip(),
        recorded_by=user,
        glucose_mmol=glucose_mmol,
        mood=mood,
        findings=[card_json(f.card) for f in findings],
        **{k: v for k, v in values.items() if k not in FINDING_FLAGS},
        **{k: bool(values[k]) for k in FINDING_FLAGS if k != "self_harm_thoughts"},
        self_harm_thoughts=self_harm_thoughts,
    )
    audit_log(AuditEvent.Action.CREATE, visit, patient=patient, user=user, detail=f"decision {decision.value}")
    _set_followup_status(followup, user, FollowUp.Status.DONE)
    outcomes.refresh_trials([plan.series])  # scores, side effects, a judgement, a stop, a follow-up seen
    return visit, new_plan


def _stop_now(plan, user, current_mg, visit_date, findings, profile):
    """End the course on the visit date without a taper (reference A.3 critical findings)."""
    titles = "; ".join(f"{', '.join(f.card.subjects)} ({f.card.title})" for f in findings if f.critical)
    reason = f"Stopped now at the visit on {visit_date.isoformat()}, no taper: {titles}."
    draft = engine.build_stop_now(current_mg, visit_date, reason=titles + ".")
    draft = engine.findings.book(draft, findings, visit_date)
    _end(plan, user, Plan.Status.STOPPED, reason, Plan.StopReason.FINDING)
    _close_followups(plan, user)
    options = plan_options(tablet_strength_mg=plan.tablet_strength_mg)
    return _save(
        patient=plan.patient,
        indication=plan.indication,
        user=user,
        draft=draft,
        assessment=None,
        profile=profile,
        options=options,
        kind=Plan.Kind.STOP_NOW,
        series=plan.series,
        previous=plan,
        status=Plan.Status.ACTIVE,
        start_date=visit_date,
        built_from=plan,
    )


JUDGING_VISITS = (FollowUp.Kind.RESPONSE, FollowUp.Kind.PERIODIC)


def _replan(plan, user, decision, current_mg, visit_date, findings=(), answered=None, stop_reason="",
            stop_details=""):  # fmt: skip
    # The response is judged at the response visit (or a later periodic review) of this course.
    judged = (answered is not None and answered.kind in JUDGING_VISITS) or Visit.objects.filter(
        plan__series=plan.series, followup__kind__in=JUDGING_VISITS
    ).exists()
    profile = patient_selectors.current_profile(plan.patient)
    assessment = selectors.assess_course(plan.patient, profile, plan.indication, visit_date, series=plan.series)
    options = plan_options(tablet_strength_mg=plan.tablet_strength_mg)
    first_start = Plan.objects.filter(series=plan.series).order_by("version").values_list("start_date", flat=True)[0]
    draft = engine.replan(
        decision,
        current_mg=current_mg,
        target_mg=plan.target_mg,
        protocol=catalog.protocol_facts(plan.indication.protocol),
        assessment=assessment,
        on=visit_date,
        options=options,
        rules=catalog.rulebook(),
        weeks_on_drug=(visit_date - first_start).days // 7,
        response_judged=judged,
        course_start=first_start,
    )
    kind = Plan.Kind.TAPER if decision is engine.Decision.STOP else Plan.Kind.TITRATION
    if kind == Plan.Kind.TAPER:
        # The supply limits of the course still apply while it tapers.
        draft = replace(
            draft, supply_limit_days=assessment.supply_limit_days, supply_limit_mg=assessment.supply_limit_mg
        )
    draft = engine.findings.book(draft, findings, visit_date)
    # A reason given before carries over only to the same finding (same card code and same
    # subjects): a new medicine under an old code needs its own reason. A rise with a new
    # warning waits as a draft and the current version stays active; a safer decision (hold,
    # step down, stop) takes effect at once whatever warnings stand (reference A.3).
    acknowledged = _latest_acknowledgements(plan.series)
    unacknowledged = [c for c in assessment.warning_cards if c.key not in acknowledged]
    rises = any(step.dose_mg > current_mg for step in draft.steps)
    activate_now = decision in engine.titration.SAFER_DECISIONS or not rises or not unacknowledged
    if activate_now:
        reason = f"Re-planned at the visit on {visit_date.isoformat()}: {decision.value.replace('_', ' ')}."
        if kind == Plan.Kind.TAPER and stop_details:
            reason += f" {stop_details}"
        _end(
            plan,
            user,
            Plan.Status.STOPPED if kind == Plan.Kind.TAPER else Plan.Status.REVISED,
            reason,
            stop_reason if kind == Plan.Kind.TAPER else "",
        )
        _close_followups(plan, user)
    new_plan = _save(
        patient=plan.patient,
        indication=plan.indication,
        user=user,
        draft=draft,
        assessment=None if kind == Plan.Kind.TAPER else assessment,
        profile=profile,
        options=options,
        kind=kind,
        series=plan.series,
        previous=plan,
        status=Plan.Status.ACTIVE if activate_now else Plan.Status.DRAFT,
        start_date=visit_date,
        built_from=plan,
    )
    if activate_now and kind == Plan.Kind.TITRATION:
        Acknowledgement.objects.bulk_create(
            Acknowledgement(
                plan=new_plan,
                card_code=c.code,
                card_key=c.key,
                card_summary=c.summary,
                subjects=list(c.subjects),  # the finding as it reads now (a new age, a new level)
                reason=a.reason,
                advice_by=a.advice_by,
                advice_on=a.advice_on,
                acknowledged_by=a.acknowledged_by,
            )
            for c, a in ((c, acknowledged.get(c.key)) for c in assessment.warning_cards)
            if a is not None
        )
    return new_plan


def _latest_acknowledgements(series) -> dict:
    """The latest reason per finding (the card's key) given anywhere in the series."""
    latest = {}
    for ack in Acknowledgement.objects.filter(plan__series=series).order_by("acknowledged_at", "id"):
        latest[ack.finding] = ack
    return latest
