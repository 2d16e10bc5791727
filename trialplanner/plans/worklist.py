"""The follow-up worklist: what is overdue, due today, this week and later, per clinic time zone."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, F, Q, When

from trialplanner.patients import access as patient_access
from trialplanner.plans.models import FollowUp, Plan

OPEN = (FollowUp.Status.DUE, FollowUp.Status.SNOOZED)
WEEK_DAYS = 7  # today and the six days after it
LATER_DAYS = 30  # how far past this week the "later" group looks
MAX_ROWS = 300  # the page lists the most urgent ones; the counts and filters cover the rest
GROUPS = [
    ("overdue", "Overdue"),
    ("today", "Due today"),
    ("week", "This week"),
    ("later", f"Later (next {LATER_DAYS} days)"),
]

EFFECTIVE_DATE = Case(
    When(status=FollowUp.Status.SNOOZED, snoozed_until__isnull=False, then=F("snoozed_until")),
    default=F("due_date"),
)


def clinic_days(user, now):
    """Today's date in each of the user's clinics: {clinic_id: date}."""
    return {c.id: now.astimezone(ZoneInfo(c.time_zone)).date() for c in patient_access.clinics_for(user)}


def open_followups(user):
    return FollowUp.objects.filter(
        status__in=OPEN, plan__status=Plan.Status.ACTIVE, plan__patient__clinic__memberships__user=user
    ).annotate(effective=EFFECTIVE_DATE)


def group_of(effective, today):
    if effective < today:
        return "overdue"
    if effective == today:
        return "today"
    if effective < today + timedelta(days=WEEK_DAYS):
        return "week"
    return "later"


def worklist(user, now, *, clinician=None, indication=None, kind=None):
    """Open follow-ups of active plans grouped as overdue / today / week / later."""
    days = clinic_days(user, now)
    groups = {key: [] for key, _ in GROUPS}
    if not days:
        return groups
    horizon = max(days.values()) + timedelta(days=WEEK_DAYS + LATER_DAYS)
    rows = (
        open_followups(user)
        .filter(effective__lte=horizon)
        .select_related("plan__patient__clinic", "plan__indication", "plan__clinician")
        .order_by("effective", "plan__patient__display_name", "id")
    )
    if clinician:
        rows = rows.filter(plan__clinician=clinician)
    if indication:
        rows = rows.filter(plan__indication=indication)
    if kind:
        rows = rows.filter(kind=kind)
    for row in rows[:MAX_ROWS]:
        today = days[row.plan.patient.clinic_id]
        row.group = group_of(row.effective, today)
        row.days_overdue = (today - row.effective).days
        groups[row.group].append(row)
    return groups


def counts(user, now):
    """{"overdue": n, "today": n} across the user's clinics, in one query."""
    days = clinic_days(user, now)
    if not days:
        return {"overdue": 0, "today": 0}
    overdue = Q()
    today = Q()
    for clinic_id, day in days.items():
        overdue |= Q(plan__patient__clinic_id=clinic_id, effective__lt=day)
        today |= Q(plan__patient__clinic_id=clinic_id, effective=day)
    result = open_followups(user).aggregate(overdue=Count("id", filter=overdue), today=Count("id", filter=today))
    return result
