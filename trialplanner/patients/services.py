"""Writes to patient records. Each service is one transaction."""

from django.db import transaction
from django.db.models import Max

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.catalog import selectors as catalog
from trialplanner.catalog.models import InteractingDrug
from trialplanner.engine import Medication
from trialplanner.engine.medicines import read_medicine
from trialplanner.patients.models import MedicationEntry, Patient, RiskProfile


@transaction.atomic
def patient_create(
    *, user, clinic, display_name, mrn, date_of_birth, sex, preferred_language, phone: str = ""
) -> Patient:
    """Create a patient in one of the user's clinics."""
    patient = Patient.objects.create(
        clinic=clinic,
        display_name=display_name,
        mrn=mrn,
        date_of_birth=date_of_birth,
        sex=sex,
        preferred_language=preferred_language,
        phone=phone,
        created_by=user,
    )
    audit_log(AuditEvent.Action.CREATE, patient, user=user)
    return patient


@transaction.atomic
def patient_update(*, patient, user, **fields) -> Patient:
    """Change a patient's details; the clinic never changes here."""
    # Compare with the stored row: a bound ModelForm has already copied the new values onto `patient`.
    stored = Patient.objects.select_for_update().get(pk=patient.pk)
    changed = sorted(name for name, value in fields.items() if getattr(stored, name) != value)
    for name, value in fields.items():
        setattr(patient, name, value)
    patient.save()
    audit_log(AuditEvent.Action.UPDATE, patient, user=user, detail="changed: " + ", ".join(changed))
    return patient


def _matched_drug(rules, slugs, entry):
    """The catalog row a line reads as (its own row for a combination), or None when not checked."""
    reading = read_medicine(
        rules, Medication(entry["name"], confirmed_as=entry.get("confirmed_as", ""))
    )  # no dose needed
    return slugs.get(reading.drug.slug) if reading.drug is not None and reading.checked else None


def medication_row(entry):
    """A saved medicine line as form or service input: every field carried to the next version."""
    return {
        "name": entry.name,
        "confirmed_as": entry.confirmed_as,
        "this_course": entry.this_course,
        "started_on": entry.started_on,
        "stopped_on": entry.stopped_on,
        "daily_mg": entry.daily_mg,
    }


@transaction.atomic
def risk_profile_create(*, patient, user, fields, conditions, medications) -> RiskProfile:
    """Save a new risk-profile version; earlier versions are kept unchanged."""
    # Lock the patient row so two saves at once cannot take the same version number.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    latest = patient.risk_profiles.aggregate(v=Max("version"))["v"] or 0
    profile = RiskProfile.objects.create(patient=patient, version=latest + 1, created_by=user, **fields)
    profile.conditions.set(conditions)
    rules = catalog.rulebook()
    slugs = {d.slug: d for d in InteractingDrug.objects.all()}
    MedicationEntry.objects.bulk_create(
        MedicationEntry(
            profile=profile,
            name=entry["name"],
            drug=_matched_drug(rules, slugs, entry),
            confirmed_as=entry.get("confirmed_as", ""),
            this_course=bool(entry.get("this_course", False)),
            started_on=entry.get("started_on"),
            stopped_on=entry.get("stopped_on"),
            daily_mg=entry.get("daily_mg"),
        )
        for entry in medications
    )
    audit_log(AuditEvent.Action.CREATE, profile, user=user, detail=f"version {profile.version}")
    return profile
