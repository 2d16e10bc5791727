"""Write steps shared by the plan services: save a built plan, lock, close follow-ups, end a version."""

from dataclasses import asdict

from django.db.models import F, Max
from django.utils import timezone

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.patients import selectors as patient_selectors
from trialplanner.patients.models import Patient
from trialplanner.plans import selectors
from trialplanner.plans.models import FollowUp, Plan, Step
from trialplanner.plans.services.engine_io import _json, _protocol_snapshot, adjustment_json, card_json
from trialplanner.plans.services.errors import PlanConflict, StaleDraft

OPEN_FOLLOWUP = FollowUp.OPEN


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
            awaits=list(s.awaits),
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


def _require_fresh(plan):
    stale = selectors.stale_draft(plan)
    if stale is not None:
        raise StaleDraft(stale)
