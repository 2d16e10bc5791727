"""The follow-up worklist: what is overdue, due today, this week and later, per clinic time zone.

Every query here reads the denormalised `FollowUp.clinic` and `FollowUp.worklist_date`
(NULL when a follow-up is not on the worklist) through one partial index, so the page costs
the same at 10 patients as at 10,000.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Q

from trialplanner.patients import access as patient_access
from trialplanner.patients.versioned import cached_per_clinics
from trialplanner.plans.models import FollowUp

WEEK_DAYS = 7  # today and the six days after it
LATER_DAYS = 30  # how far past this week the "later" group looks
PAGE_SIZE = 50  # rows per worklist page, most urgent first
GROUPS = [
    ("overdue", "Overdue"),
    ("today", "Due today"),
    ("week", "This week"),
    ("later", f"Later (next {LATER_DAYS} days)"),
]


def clinic_days(user, now):
    """Today's date in each of the user's clinics: {clinic_id: date}."""
    memberships = patient_access.memberships_for(user)
    return {m.clinic_id: now.astimezone(ZoneInfo(m.clinic.time_zone)).date() for m in memberships}


def on_worklist(days):
    """Follow-ups on the worklist of these clinics ({clinic_id: today}), without a date bound."""
    return FollowUp.objects.filter(clinic_id__in=list(days), worklist_date__isnull=False)


def group_of(effective, today):
    if effective < today:
        return "overdue"
    if effective == today:
        return "today"
    if effective < today + timedelta(days=WEEK_DAYS):
        return "week"
    return "later"


def _until(days, last_day_offset):
    """Rows up to `today + offset` in each clinic's own calendar."""
    condition = Q()
    for clinic_id, today in days.items():
        condition |= Q(clinic_id=clinic_id, worklist_date__lte=today + timedelta(days=last_day_offset))
    return condition


HORIZON_DAYS = WEEK_DAYS + LATER_DAYS - 1  # the last day listed, counted from today


def _filtered(days, clinician=None, indication=None, kind=None, horizon_days=HORIZON_DAYS):
    rows = on_worklist(days).filter(_until(days, horizon_days))
    if clinician:
        rows = rows.filter(plan__clinician=clinician)
    if indication:
        rows = rows.filter(plan__indication=indication)
    if kind:
        rows = rows.filter(kind=kind)
    return rows


def _annotate(rows, days):
    for row in rows:
        today = days[row.clinic_id]
        row.effective = row.worklist_date
        row.group = group_of(row.worklist_date, today)
        row.days_overdue = (today - row.worklist_date).days
    return rows


ROW_FIELDS = [
    "uuid", "clinic_id", "worklist_date", "due_date", "kind", "status", "status_note", "snoozed_until",
    "plan__uuid", "plan__kind", "plan__patient__uuid", "plan__patient__display_name", "plan__patient__mrn",
    "plan__indication__name", "plan__clinician__username", "plan__clinician__first_name",
    "plan__clinician__last_name",
]  # fmt: skip


def _ordered(rows):
    """Rows with just the columns the worklist shows (plans carry large JSON snapshots)."""
    return (
        rows.select_related("plan__patient", "plan__indication", "plan__clinician")
        .only(*ROW_FIELDS)
        .order_by("worklist_date", "plan__patient__display_name", "id")
    )


@dataclass
class Page:
    """One page of the worklist: its rows grouped, and how many rows each whole group has."""

    groups: list = field(default_factory=list)  # (key, label, rows here, rows in all, 'earlier'/'later'/'')
    counts: dict = field(default_factory=dict)
    number: int = 1
    pages: int = 1
    total: int = 0
    first: int = 0  # 1-based index of the first row shown
    last: int = 0

    @property
    def has_previous(self):
        return self.number > 1

    @property
    def has_next(self):
        return self.number < self.pages


def group_counts(days, rows) -> dict:
    """{group: n} for these rows, from one index-only scan grouped by clinic and day."""
    counts = dict.fromkeys((key for key, _ in GROUPS), 0)
    per_day = rows.order_by().values_list("clinic_id", "worklist_date").annotate(n=Count("*"))
    for clinic_id, day, n in per_day:
        counts[group_of(day, days[clinic_id])] += n
    return counts


def all_group_counts(user, now) -> dict:
    """Unfiltered {group: n} for the user's clinics; cached until a follow-up changes or a day turns."""
    days = clinic_days(user, now)
    if not days:
        return dict.fromkeys((key for key, _ in GROUPS), 0)
    extra = ",".join(f"{clinic}={day.isoformat()}" for clinic, day in sorted(days.items()))
    return cached_per_clinics(user, "worklist-counts", lambda: group_counts(days, _filtered(days)), extra=extra)


def page(user, now, *, clinician=None, indication=None, kind=None, number=1, size=PAGE_SIZE) -> Page:
    """The `number`th page of open follow-ups of active plans, most urgent first, with group counts."""
    days = clinic_days(user, now)
    result = Page(groups=[(key, label, [], 0, "") for key, label in GROUPS])
    if not days:
        return result
    rows = _filtered(days, clinician, indication, kind)
    filtered = clinician or indication or kind
    counts = group_counts(days, rows) if filtered else all_group_counts(user, now)
    total = sum(counts.values())
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    offset = (number - 1) * size
    shown = _annotate(list(_ordered(rows)[offset : offset + size]), days)
    grouped = {key: [] for key, _ in GROUPS}
    for row in shown:
        grouped[row.group].append(row)
    order = [key for key, _ in GROUPS]
    first = order.index(shown[0].group) if shown else 0

    def elsewhere(index, key):
        """Where a group's rows are when this page shows none (or only some) of them."""
        if len(grouped[key]) == counts[key]:
            return ""
        return "earlier" if index < first or (index == first and offset > 0) else "later"

    return Page(
        groups=[(key, label, grouped[key], counts[key], elsewhere(i, key)) for i, (key, label) in enumerate(GROUPS)],
        counts=counts,
        number=number,
        pages=pages,
        total=total,
        first=offset + 1 if shown else 0,
        last=offset + len(shown),
    )


def worklist(user, now, *, clinician=None, indication=None, kind=None, horizon_days=HORIZON_DAYS):
    """Every open follow-up of active plans up to today + horizon_days, grouped: {group: [rows]}."""
    days = clinic_days(user, now)
    groups = {key: [] for key, _ in GROUPS}
    if not days:
        return groups
    rows = _ordered(_filtered(days, clinician, indication, kind, horizon_days))
    for row in _annotate(list(rows), days):
        groups[row.group].append(row)
    return groups


def counts(user, now):
    """{"overdue": n, "today": n} across the user's clinics (the navigation badges)."""
    counts = all_group_counts(user, now)
    return {"overdue": counts["overdue"], "today": counts["today"]}


def feed_rows(user):
    """The clinician's own open follow-ups on active plans, in date order (for calendar feeds)."""
    clinics = [m.clinic_id for m in patient_access.memberships_for(user)]
    return (
        FollowUp.objects.filter(clinic_id__in=clinics, worklist_date__isnull=False, plan__clinician=user)
        .select_related("plan__patient")
        .order_by("worklist_date", "id")
    )
