"""Follow-ups worked from the worklist: call later, did not attend, book the appointment.

Each is one transaction.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.clinictime import clinic_now
from trialplanner.outcomes import services as outcomes
from trialplanner.plans import dates
from trialplanner.plans.models import FollowUp, Plan
from trialplanner.plans.services.errors import FieldRefused, PlanConflict, PlanError
from trialplanner.plans.services.records import OPEN_FOLLOWUP, _lock_patient

SNOOZE_DAYS = 7  # "call later": a workflow default, not a clinical interval


STATUS_FIELDS = ["status", "status_note", "snoozed_until", "status_changed_by", "status_changed_at", "sequence"]
BOOKING_FIELDS = ["appointment_date", "appointment_time"]

BOOK_PAST = "The appointment cannot be in the past: choose today or a later day."
BOOK_FAR = f"The appointment cannot be more than {dates.BOOK_AHEAD_DAYS} days ahead."
BOOK_TIME_PASSED = "That time has already passed today: choose a later time, or leave it empty for all day."
BOOK_CONFLICT = (
    "Someone else changed this follow-up while you were looking at it. Nothing was saved: "
    "check the follow-up below and book again."
)


def _set_followup_status(followup, user, status, note="", snoozed_until=None, also=()):
    followup.status = status
    followup.status_note = note
    followup.snoozed_until = snoozed_until
    followup.status_changed_by, followup.status_changed_at = user, timezone.now()
    followup.sequence += 1
    followup.save(update_fields=[*STATUS_FIELDS, *also])
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
    """Call later: move the follow-up 7 days on, with the reason; a booked appointment is off.

    The 7 days count from today for a follow-up already due, and from its date for one still ahead,
    so calling later never brings a visit forward.
    """
    _lock_patient(followup.plan.patient_id)
    followup = FollowUp.objects.select_for_update().select_related("plan").get(pk=followup.pk)
    _require_open(followup)
    today = max(today, followup.effective_date)
    # "Call later" means the patient has no appointment yet: a time left behind would put a
    # timed event on the snooze day in every calendar.
    followup.appointment_date = followup.appointment_time = None
    until = today + timedelta(days=SNOOZE_DAYS)
    _set_followup_status(followup, user, FollowUp.Status.SNOOZED, reason.strip(), until, also=BOOKING_FIELDS)
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


@transaction.atomic
def followup_book(*, followup, user, day, time=None, sequence=None) -> FollowUp:
    """Book the appointment on `day` (clinic today up to BOOK_AHEAD_DAYS ahead), at `time` or all day.

    `sequence`: the follow-up's sequence when the form was shown; a change since is a conflict.
    """
    _lock_patient(followup.plan.patient_id)
    followup = FollowUp.objects.select_for_update().select_related("plan__patient__clinic").get(pk=followup.pk)
    _require_open(followup)
    if sequence is not None and sequence != followup.sequence:
        raise PlanConflict(BOOK_CONFLICT)
    now = clinic_now(followup.plan.patient.clinic)
    today = now.date()
    if day < today:
        raise FieldRefused("day", BOOK_PAST)
    if day > dates.days_from(today, dates.BOOK_AHEAD_DAYS):
        raise FieldRefused("day", BOOK_FAR)
    if time is not None and day == today and time < now.time().replace(second=0, microsecond=0, tzinfo=None):
        raise FieldRefused("time", BOOK_TIME_PASSED)
    was = followup.effective_date
    followup.appointment_date, followup.appointment_time = day, time
    fields = [*BOOKING_FIELDS, "sequence"]
    if followup.status == FollowUp.Status.SNOOZED:
        # The call was made and the appointment booked: it is no longer "call later".
        followup.status, followup.snoozed_until, followup.status_note = FollowUp.Status.DUE, None, ""
        followup.status_changed_by, followup.status_changed_at = user, timezone.now()
        fields = [*BOOKING_FIELDS, *STATUS_FIELDS]
    followup.sequence += 1
    followup.save(update_fields=fields)
    at = time.strftime("%H:%M") if time is not None else "all day"
    audit_log(
        AuditEvent.Action.UPDATE,
        followup,
        patient=followup.plan.patient,
        user=user,
        detail=f"follow-up booked for {day.isoformat()} {at} (was {was.isoformat()})",
    )
    return followup
