"""Writes of the interop app. Each service is one transaction, audited."""

from django.db import transaction

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.interop.fhir_import import ImportPreview
from trialplanner.patients.models import Patient
from trialplanner.patients.services import patient_create, risk_profile_create


@transaction.atomic
def patient_import(*, user, clinic, patient_fields: dict, preview: ImportPreview) -> Patient:
    """Create a patient and their first risk-profile version from a confirmed FHIR import."""
    patient = patient_create(user=user, clinic=clinic, **patient_fields)
    profile = risk_profile_create(
        patient=patient,
        user=user,
        fields=preview.profile_fields(),
        conditions=preview.mapped_conditions,
        medications=preview.medication_entries(),
    )
    unmapped = sum(1 for m in preview.medicines if m.drug is None)
    audit_log(
        AuditEvent.Action.CREATE,
        profile,
        user=user,
        detail=(
            f"FHIR import: {len(preview.mapped_conditions)} conditions, {len(preview.medicines)} medicines "
            f"({unmapped} not matched), {sum(o.used for o in preview.observations)} results"
        ),
    )
    return patient
