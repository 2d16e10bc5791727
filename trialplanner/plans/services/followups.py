"""Follow-up statuses set from the worklist: call later, did not attend. Each is one transaction."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.outcomes import services as outcomes
from trialplanner.plans.models import FollowUp, Plan
from trialplanner.plans.services.errors import PlanError
from trialplanner.plans.services.records import OPEN_FOLLOWUP, _lock_patient

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


def followup_is_open(followup) -> bool:
    """Whether a visit or status can still be recorded: the follow-up is open and its plan active."""
    return followup.status in OPEN_FOLLOWUP and followup.plan.status == Plan.Status.ACTIVE


def _require_open(followup):
    if not followup_is_open(followup):
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
    outcomes.refresh_trials([followup.plan.series])  # the outcome review counts missed follow-ups
    return followup
