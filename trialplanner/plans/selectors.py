"""Reads for plan pages: the saved plan with its steps, follow-ups and names."""

from decimal import Decimal

from trialplanner.catalog.models import MonitoringItem
from trialplanner.engine import dosetext
from trialplanner.patients import selectors as patient_selectors
from trialplanner.patients.access import memberships_for
from trialplanner.plans.models import Plan


def monitoring_names():
    return dict(MonitoringItem.objects.values_list("slug", "name"))


def followups_with_names(plan):
    names = monitoring_names()
    rows = []
    for followup in plan.followups.all():
        followup.assess_names = [names.get(slug, slug) for slug in followup.assess]
        rows.append(followup)
    return rows


def record_key(user, plan, today) -> str:
    """What a rendered plan record (page, handout) depends on: the plan's lock_version (every
    service that changes it raises it) and status, its clinic's data_version (follow-ups, patient,
    clinic) and the date."""
    versions = {m.clinic_id: m.clinic.data_version for m in memberships_for(user)}
    clinic_version = versions.get(plan.patient.clinic_id)
    return f"{plan.uuid}:{plan.lock_version}:{plan.status}:{clinic_version}:{today.isoformat()}"


def series_versions(plan):
    return Plan.objects.filter(series=plan.series).select_related("created_by").order_by("-version")


def current_assessment(plan):
    """The risk assessment as it stands now, for activating a draft."""
    profile = patient_selectors.current_profile(plan.patient)
    return patient_selectors.assess(plan.patient, profile, plan.indication, plan.start_date)


def plans_for_patient(patient):
    return patient.plans.select_related("indication").order_by("-created_at", "-version")


def _row(number, kind, start, end, dose_mg, tablets, liquid_ml, liquid_label):
    nights = (end - start).days + 1
    return {
        "number": number,
        "kind": kind,
        "start": start,
        "end": end,
        "nights": nights,
        "dose_mg": dose_mg,
        "per_night": dosetext.per_night_text(tablets, liquid_ml, liquid_label),
        "supply": dosetext.supply_text(tablets, liquid_ml, nights),
    }


def dose_rows_from_steps(steps):
    """Rows of the shared dose table from saved steps."""
    return [
        _row(s.number, s.kind, s.start_date, s.end_date, s.dose_mg,
             [(Decimal(t["strength_mg"]), t["count"]) for t in s.tablets], s.liquid_ml, s.liquid_label)
        for s in steps
    ]  # fmt: skip


def dose_rows_from_draft(draft):
    """Rows of the shared dose table from an unsaved engine draft (the preview)."""
    return [
        _row(s.number, s.kind.value, s.start, s.end, s.dose_mg,
             [(t.strength_mg, t.count) for t in s.tablets], s.liquid_ml,
             s.dispense.liquid_strength.label if s.dispense.liquid_strength else "")
        for s in draft.steps
    ]  # fmt: skip
