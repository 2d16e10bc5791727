"""The follow-up worklist: what is overdue, due today, this week and later, per clinic time zone.

Every query here reads the denormalised `FollowUp.clinic` and `FollowUp.worklist_date`
(NULL when a follow-up is not on the worklist) through one partial index: pages are keyset
pages (an ordered index range from a cursor) and counts stop at COUNT_CAP, so a page costs
the same at 10 patients as at 100,000, and a deep page the same as the first.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Case, DateField, OuterRef, Q, Subquery, Value, When
from django.urls import reverse

from trialplanner.catalog.models import Indication
from trialplanner.patients import access as patient_access
from trialplanner.plans.models import FollowUp, Step

WEEK_DAYS = 7  # today and the six days after it
LATER_DAYS = 30  # how far past this week the "later" group looks
PAGE_SIZE = 25  # rows per worklist page, most urgent first (as many as a patient-list page)
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
    if isinstance(clinician, str):
        rows = rows.filter(plan__clinician__username=clinician) if clinician else rows
    elif clinician is not None:
        rows = rows.filter(plan__clinician=clinician)
    if indication:
        rows = rows.filter(plan__indication__slug=indication)
    if kind:
        rows = rows.filter(kind=kind)
    return rows


KIND_LABELS = dict(FollowUp.Kind.choices)


@dataclass(frozen=True)
class Row:
    """One worklist line: plain values, cheap to build and to render."""

    uuid: str
    effective: date
    group: str
    days_overdue: int
    snoozed: bool
    status_note: str
    kind: str
    patient_name: str
    mrn: str
    phone: str
    dose_mg: object  # Decimal, or None before the plan's first night
    patient_url: str
    plan_url: str
    plan_label: str
    clinician_name: str
    visit_url: str
    book_url: str
    time: object  # the booked appointment's clinic time, or None (all day, or not booked)
    booked: bool

    @property
    def kind_label(self):
        return KIND_LABELS.get(self.kind, self.kind)


def _url_maker(name):
    """reverse() once with a placeholder, then format: reverse() per row costs more than a page row."""
    placeholder = UUID(int=0)
    prefix, suffix = reverse(name, args=[placeholder]).split(str(placeholder))
    return lambda value: f"{prefix}{value}{suffix}"


ROW_COLUMNS = [
    "uuid", "clinic_id", "worklist_date", "kind", "status", "status_note", "plan__uuid", "plan__kind",
    "plan__patient__uuid", "plan__patient__display_name", "plan__patient__mrn", "plan__patient__phone",
    "dose_today", "plan__indication__name",
    "plan__clinician__username", "plan__clinician__first_name", "plan__clinician__last_name",
    "appointment_date", "appointment_time",
]  # fmt: skip


def _with_dose_today(rows, days):
    """Each row's dose tonight: the plan's step covering its clinic's today (a subquery, same query)."""
    today = Case(*[When(clinic_id=clinic, then=Value(day)) for clinic, day in days.items()], output_field=DateField())
    tonight = Step.objects.filter(
        plan_id=OuterRef("plan_id"), start_date__lte=OuterRef("row_today"), end_date__gte=OuterRef("row_today")
    ).order_by("number")
    return rows.annotate(row_today=today).annotate(dose_today=Subquery(tonight.values("dose_mg")[:1]))


def _rows(rows, days, limit, *, backwards=False):
    """The page's rows as Row values, from one query of just the columns shown."""
    patient_url = _url_maker("patients:patient_detail")
    plan_url = _url_maker("plans:plan_detail")
    visit_url = _url_maker("plans:followup_visit")
    book_url = _url_maker("plans:followup_book")
    result = []
    # (date, id) is the order of followup_worklist_order_idx: a page reads 26 index entries from its
    # cursor. Within a day, follow-ups come in the order they were planned, not by patient name,
    # because sorting a day by name meant reading the whole day (1,500 rows at 100,000 patients).
    order = ["worklist_date", "id"]
    query = _with_dose_today(rows, days).order_by(*(f"-{name}" for name in order) if backwards else order)
    found = list(query.values_list(*ROW_COLUMNS)[:limit])
    for (uuid, clinic_id, day, kind, status, note, plan_uuid, plan_kind, patient_uuid, name, mrn, phone, dose,
         indication, username, first_name, last_name,
         booked_day, booked_time) in reversed(found) if backwards else found:  # fmt: skip
        today = days[clinic_id]
        result.append(
            Row(
                uuid=str(uuid),
                effective=day,
                group=group_of(day, today),
                days_overdue=(today - day).days,
                snoozed=status == FollowUp.Status.SNOOZED,
                status_note=note,
                kind=kind,
                patient_name=name,
                mrn=mrn,
                phone=phone,
                dose_mg=dose,
                patient_url=patient_url(patient_uuid),
                plan_url=plan_url(plan_uuid),
                plan_label=f"Taper: {indication}" if plan_kind == "taper" else indication,
                clinician_name=f"{first_name} {last_name}".strip() or username,
                visit_url=visit_url(uuid),
                book_url=f"{book_url(uuid)}?from=worklist",
                time=booked_time,
                booked=booked_day is not None,
            )
        )
    return result


COUNT_CAP = 99  # counts stop here: the navigation and group headers show "99+"


def capped(value, cap=COUNT_CAP) -> str:
    """A count from capped_counts() as text: "99+" once it passed the cap."""
    return f"{cap:,}+" if value > cap else f"{value:,}"


def capped_counts(querysets: dict, cap=COUNT_CAP) -> dict:
    """{name: rows, counting at most cap + 1} for each queryset, in one query.

    Each count reads at most cap + 1 index entries (an index-only scan with a LIMIT), so it
    costs the same at 100 open follow-ups as at 100,000.
    """
    if not querysets:
        return {}
    parts, params = [], []
    for rows in querysets.values():
        sql, values = rows.order_by().values_list("clinic_id")[: cap + 1].query.sql_with_params()
        # The ORM wrote `sql`; every value stays a parameter.
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped)")  # noqa: S608
        params.extend(values)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        return dict(zip(querysets, cursor.fetchone(), strict=True))


def _group_condition(days, key):
    """Rows of one group in each clinic's own calendar."""
    condition = Q()
    for clinic_id, today in days.items():
        bounds = {
            "overdue": {"worklist_date__lt": today},
            "today": {"worklist_date": today},
            "week": {"worklist_date__gt": today, "worklist_date__lt": today + timedelta(days=WEEK_DAYS)},
            "later": {"worklist_date__gte": today + timedelta(days=WEEK_DAYS)},
        }[key]
        condition |= Q(clinic_id=clinic_id, **bounds)
    return condition


def group_counts(days, rows, keys=None) -> dict:
    """{group: n, capped at COUNT_CAP + 1} for these rows, from one query of bounded index scans."""
    keys = keys or [key for key, _ in GROUPS]
    return capped_counts({key: rows.filter(_group_condition(days, key)) for key in keys})


def all_group_counts(user, now) -> dict:
    """Unfiltered capped {group: n} for the user's clinics; counted once per request (user object)."""
    days = clinic_days(user, now)
    if not days:
        return dict.fromkeys((key for key, _ in GROUPS), 0)
    known = getattr(user, "_worklist_counts", None)
    if known is not None and known[0] == days:
        return known[1]
    counts = group_counts(days, _filtered(days))
    user._worklist_counts = (days, counts)
    return counts


@dataclass
class Page:
    """One page of the worklist: its rows grouped, each whole group's (capped) count, and cursors.

    Pages are keyset pages: `after` / `before` name the last row of the page before or the first
    row of the page after (its date and follow-up UUID), so any page reads what the first reads.
    """

    groups: list = field(default_factory=list)  # (key, label, rows here, rows in all, 'earlier'/'later'/'')
    counts: dict = field(default_factory=dict)
    has_previous: bool = False
    has_next: bool = False
    previous_cursor: str = ""
    next_cursor: str = ""
    shown: int = 0

    @property
    def total(self):
        return sum(self.counts.values())

    @property
    def capped(self):
        return any(n > COUNT_CAP for n in self.counts.values())


def cursor_of(row) -> str:
    return f"{row.effective.isoformat()}.{row.uuid}"


def parse_cursor(raw):
    """(date, UUID) from "YYYY-MM-DD.<uuid>", or None for anything else."""
    day, _, uuid = (raw or "").partition(".")
    try:
        return date.fromisoformat(day), UUID(uuid)
    except ValueError:
        return None


def _after(rows, cursor, *, backwards=False):
    """Rows after (or before) the cursor row in (date, id) order: the order of the worklist index.

    The date bound is a plain range on the index; the id comes from the cursor row by UUID inside
    the same query, so a cursor carries no sequential id and costs no extra query.
    """
    day, uuid = cursor
    pk = Subquery(FollowUp.objects.filter(uuid=uuid).order_by().values("id")[:1])
    if backwards:
        return rows.filter(Q(worklist_date__lte=day), Q(worklist_date__lt=day) | Q(id__lt=pk))
    return rows.filter(Q(worklist_date__gte=day), Q(worklist_date__gt=day) | Q(id__gt=pk))


def page(user, now, *, clinician=None, indication=None, kind=None, after=None, before=None, size=PAGE_SIZE) -> Page:
    """A page of open follow-ups of active plans, most urgent first, with capped group counts.

    Filters: `clinician` a User or username, `indication` a slug, `kind` a FollowUp.Kind value.
    `after` / `before`: a cursor (see cursor_of) from the page before / after; else the first page.
    """
    days = clinic_days(user, now)
    if not days:
        return Page(groups=[(key, label, [], 0, "") for key, label in GROUPS])
    return _page(user, now, days, clinician, indication, kind, parse_cursor(after), parse_cursor(before), size)


def _page(user, now, days, clinician, indication, kind, after, before, size):
    rows = _filtered(days, clinician, indication, kind)
    filtered = clinician or indication or kind
    counts = group_counts(days, rows) if filtered else all_group_counts(user, now)
    if before:
        shown = _rows(_after(rows, before, backwards=True), days, size + 1, backwards=True)
        has_previous, has_next = len(shown) > size, True
        shown = shown[-size:]
    else:
        shown = _rows(_after(rows, after) if after else rows, days, size + 1)
        has_previous, has_next = after is not None, len(shown) > size
        shown = shown[:size]
    if (after or before) and not shown:
        return _page(user, now, days, clinician, indication, kind, None, None, size)  # a stale cursor: start again
    grouped = {key: [] for key, _ in GROUPS}
    for row in shown:
        grouped[row.group].append(row)
    order = [key for key, _ in GROUPS]
    first = order.index(shown[0].group) if shown else len(order)

    def elsewhere(index, key):
        """Where a group's rows are when this page shows none (or only some) of them."""
        if len(grouped[key]) == counts[key]:
            return ""
        return "earlier" if index < first or (index == first and has_previous) else "later"

    return Page(
        groups=[(key, label, grouped[key], counts[key], elsewhere(i, key)) for i, (key, label) in enumerate(GROUPS)],
        counts=counts,
        has_previous=has_previous,
        has_next=has_next,
        previous_cursor=cursor_of(shown[0]) if shown and has_previous else "",
        next_cursor=cursor_of(shown[-1]) if shown and has_next else "",
        shown=len(shown),
    )


def worklist(user, now, *, clinician=None, indication=None, kind=None, horizon_days=HORIZON_DAYS):
    """Every open follow-up of active plans up to today + horizon_days, grouped: {group: [Row]}.

    The page's own query and rows (`_filtered`, `_rows`), unpaged and uncached: the reminder
    digest reads it, so the email and the page can never disagree about what is due.
    """
    days = clinic_days(user, now)
    groups = {key: [] for key, _ in GROUPS}
    if not days:
        return groups
    for row in _rows(_filtered(days, clinician, indication, kind, horizon_days), days, None):
        groups[row.group].append(row)
    return groups


def counts(user, now):
    """{"overdue": n, "today": n} across the user's clinics (the navigation badges)."""
    counts = all_group_counts(user, now)
    return {"overdue": counts["overdue"], "today": counts["today"]}


def filter_choices(user):
    """(clinicians, indications) for the worklist filters: [(username, name)], [(slug, name)]."""
    clinic_ids = [m.clinic_id for m in patient_access.memberships_for(user)]
    clinicians = (
        get_user_model()
        .objects.filter(memberships__clinic__in=clinic_ids)
        .distinct()
        .order_by("last_name", "first_name", "username")
        .values_list("username", "first_name", "last_name")
    )
    indications = Indication.objects.order_by("display_order", "name").values_list("slug", "name")
    return [(u, f"{first} {last}".strip() or u) for u, first, last in clinicians], list(indications)


def feed_rows(user):
    """The clinician's own open follow-ups on active plans, in date order (for calendar feeds)."""
    clinics = [m.clinic_id for m in patient_access.memberships_for(user)]
    return (
        FollowUp.objects.filter(clinic_id__in=clinics, worklist_date__isnull=False, plan__clinician=user)
        .select_related("plan__patient", "clinic")
        .order_by("worklist_date", "id")
    )
