"""Writes to patient records. Each service is one transaction."""

from django.db import transaction
from django.db.models import Max

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.catalog.models import InteractingDrug
from trialplanner.engine.types import normalise_name
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


def _drug_lookup():
    index = {}
    for drug in InteractingDrug.objects.all():
        for name in (drug.name, drug.slug, *drug.alias_list):
            index.setdefault(normalise_name(name), drug)
    return index


@transaction.atomic
def risk_profile_create(*, patient, user, fields, conditions, medications) -> RiskProfile:
    """Save a new risk-profile version; earlier versions are kept unchanged."""
    # Lock the patient row so two saves at once cannot take the same version number.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    latest = patient.risk_profiles.aggregate(v=Max("version"))["v"] or 0
    profile = RiskProfile.objects.create(patient=patient, version=latest + 1, created_by=user, **fields)
    profile.conditions.set(conditions)
    lookup = _drug_lookup()
    MedicationEntry.objects.bulk_create(
        MedicationEntry(
            profile=profile,
            name=entry["name"],
            drug=lookup.get(normalise_name(entry["name"])),
            started_on=entry.get("started_on"),
            stopped_on=entry.get("stopped_on"),
        )
        for entry in medications
    )
    audit_log(AuditEvent.Action.CREATE, profile, user=user, detail=f"version {profile.version}")
    return profile
