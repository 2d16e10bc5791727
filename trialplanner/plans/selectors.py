"""Reads for plan pages: the saved plan with its steps, follow-ups and names."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Case, DateField, OuterRef, Subquery, Value, When

from trialplanner import engine
from trialplanner.catalog import selectors as catalog
from trialplanner.catalog.models import MonitoringItem
from trialplanner.engine import dosetext
from trialplanner.patients import selectors as patient_selectors
from trialplanner.patients.models import Clinic
from trialplanner.plans.models import FollowUp, Plan, Step, Visit

DEFAULT_INTERVAL_DAYS = Clinic._meta.get_field("dispensing_interval_days").default


def monitoring_names():
    return dict(MonitoringItem.objects.values_list("slug", "name"))


def followups_with_names(plan):
    names = monitoring_names()
    rows = []
    for followup in plan.followups.all():
        followup.assess_names = [names.get(slug, slug) for slug in followup.assess]
        rows.append(followup)
    return rows


def series_versions(plan):
    return Plan.objects.filter(series=plan.series).select_related("created_by").order_by("-version")


def current_assessment(plan):
    """The risk assessment as it stands now, for activating a draft."""
    profile = patient_selectors.current_profile(plan.patient)
    return assess_course(plan.patient, profile, plan.indication, plan.start_date, series=plan.series)


def active_course(patient, *, exclude_series=None) -> Plan | None:
    """The patient's active plan (titration or taper) outside `exclude_series`: the course a new one would duplicate."""
    plans = Plan.objects.filter(patient=patient, status=Plan.Status.ACTIVE).select_related("indication")
    if exclude_series is not None:
        plans = plans.exclude(series=exclude_series)
    return plans.first()


def course_label(plan) -> str:
    kind = "taper" if plan.kind == Plan.Kind.TAPER else "plan"
    return f"{plan.indication.name} {kind}, version {plan.version}, from {plan.start_date.day} {plan.start_date:%b %Y}"


def assess_course(patient, profile, indication, on: date, *, series=None) -> engine.Assessment:
    """The risk assessment plus the duplicate-therapy card when another course (not `series`) is active."""
    assessment = patient_selectors.assess(patient, profile, indication, on)
    other = active_course(patient, exclude_series=series)
    if other is None:
        return assessment
    return engine.with_active_course(assessment, catalog.rulebook(), course_label(other))


@dataclass(frozen=True)
class StaleDraft:
    """Why a draft may no longer be activated, and the version that is current now (to link to)."""

    message: str
    current: Plan


def stale_draft(plan) -> StaleDraft | None:
    """A draft is stale once the version it was built from is no longer the series' current one."""
    if plan.status != Plan.Status.DRAFT:
        return None
    versions = Plan.objects.filter(series=plan.series).exclude(pk=plan.pk)
    current = versions.filter(status=Plan.Status.ACTIVE).first()
    if current is not None and current.pk == plan.built_from_id:
        return None
    if current is None and plan.built_from_id is None and not versions.filter(activated_at__isnull=False).exists():
        return None  # a new plan, or a revision of one never activated
    latest = current or versions.order_by("-version").first()
    built = f"version {plan.built_from.version}" if plan.built_from_id else "a plan that was never active"
    if current is not None:
        now = f"version {current.version} is the current one now"
    else:
        now = f"the plan is now {latest.get_status_display().lower()} (version {latest.version})"
    message = (
        f"This draft was built from {built}, but {now}. It cannot be activated: "
        f"open version {latest.version} and revise it, so nothing recorded since is lost."
    )
    return StaleDraft(message=message, current=latest)


def plans_for_patient(patient):
    return patient.plans.select_related("indication").order_by("-created_at", "-version")


def _row(number, kind, start, end, dose_mg, tablets, liquid_ml, liquid_label, per_supply, awaits=()):
    nights = (end - start).days + 1
    names = catalog.monitoring_names() if awaits else {}
    nights_each = dosetext.nights_per_supply(dose_mg, *per_supply)
    return {
        "number": number,
        "kind": kind,
        "start": start,
        "end": end,
        "nights": nights,
        "dose_mg": dose_mg,
        "per_night": dosetext.per_night_text(tablets, liquid_ml, liquid_label),
        "supply": dosetext.supply_per_interval_text(tablets, liquid_ml, nights, nights_each),
        "directions": dosetext.step_directions(tablets, liquid_ml, liquid_label, dose_mg, nights, stop=kind == "stop"),
        # Checks the clinic confirms before the patient takes this step (reference A.4).
        "awaits": list(dict.fromkeys(names.get(key, key) for key in awaits)),
    }


def directions(rows) -> str:
    """The whole plan as one prescription direction, from the dose-table rows."""
    return dosetext.directions(row["directions"] for row in rows)


def supply_terms(plan) -> tuple:
    """(dispensing interval, day limit, mg limit) for a saved plan's quantities."""
    return (plan.patient.clinic.dispensing_interval_days, plan.supply_limit_days, plan.supply_limit_mg)


def dose_rows_from_steps(steps, per_supply=(DEFAULT_INTERVAL_DAYS, None, None)):
    """Rows of the shared dose table from saved steps; `per_supply` from supply_terms()."""
    return [
        _row(s.number, s.kind, s.start_date, s.end_date, s.dose_mg,
             [(Decimal(t["strength_mg"]), t["count"]) for t in s.tablets], s.liquid_ml, s.liquid_label, per_supply,
             s.awaits)
        for s in steps
    ]  # fmt: skip


def dose_rows_from_draft(draft, interval_days=DEFAULT_INTERVAL_DAYS):
    """Rows of the shared dose table from an unsaved engine draft (the preview)."""
    per_supply = (interval_days, draft.supply_limit_days, draft.supply_limit_mg)
    return [
        _row(s.number, s.kind.value, s.start, s.end, s.dose_mg,
             [(t.strength_mg, t.count) for t in s.tablets], s.liquid_ml,
             s.dispense.liquid_strength.label if s.dispense.liquid_strength else "", per_supply, s.awaits)
        for s in draft.steps
    ]  # fmt: skip


def dose_on(plan, day: date) -> Decimal:
    step = plan.steps.filter(start_date__lte=day).order_by("-number").first()
    return step.dose_mg if step else Decimal(0)


def baseline_score(plan):
    """The series' baseline score: recorded with the plan, else the score at its baseline visit.

    A score from a later review is not a baseline: the patient is already on the drug.
    """
    if plan.baseline_score is not None:
        return plan.baseline_score
    return (
        Visit.objects.filter(
            plan__series=plan.series, followup__kind=FollowUp.Kind.BASELINE, outcome_score__isnull=False
        )
        .order_by("visit_date", "id")
        .values_list("outcome_score", flat=True)
        .first()
    )


def with_patient_list_columns(patients, days):
    """Each patient's active course, tonight's dose and next open follow-up, as subqueries of the
    list's one query (so a page costs the same number of queries at any size).

    `days` is {clinic_id: today} in each clinic's own calendar: "tonight" is the clinic's.
    """
    active = Plan.objects.filter(patient_id=OuterRef("pk"), status=Plan.Status.ACTIVE).order_by()
    today = Case(*[When(clinic_id=c, then=Value(d)) for c, d in days.items()], output_field=DateField())
    tonight = Step.objects.filter(
        plan__patient_id=OuterRef("pk"),
        plan__status=Plan.Status.ACTIVE,
        start_date__lte=OuterRef("list_today"),
        end_date__gte=OuterRef("list_today"),
    ).order_by("number")
    # worklist_date is set only on open follow-ups of an active plan (see FollowUp.fill_worklist_fields).
    upcoming = FollowUp.objects.filter(plan__patient_id=OuterRef("pk"), worklist_date__isnull=False)
    return patients.annotate(
        list_today=today,
        course_indication=Subquery(active.values("indication__name")[:1]),
        course_kind=Subquery(active.values("kind")[:1]),
        course_uuid=Subquery(active.values("uuid")[:1]),
        course_start=Subquery(active.values("start_date")[:1]),
        dose_tonight=Subquery(tonight.values("dose_mg")[:1]),
        next_visit=Subquery(upcoming.order_by("worklist_date", "id").values("worklist_date")[:1]),
    )
