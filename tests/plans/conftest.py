from datetime import date

import pytest

from trialplanner.catalog.models import Condition, Indication
from trialplanner.patients.services import risk_profile_create

START = date(2026, 12, 1)


@pytest.fixture
def indication(catalog):
    return Indication.objects.select_related("protocol").get(slug="peripheral-neuropathic-pain")


@pytest.fixture
def with_profile(clinician):
    def make(patient, *conditions, medications=(), **fields):
        return risk_profile_create(
            patient=patient,
            user=clinician,
            fields=fields,
            conditions=Condition.objects.filter(slug__in=conditions),
            medications=[{"name": m} for m in medications],
        )

    return make


@pytest.fixture
def young_patient(patient):
    """A 35-year-old on the plan start date, so no age card fires."""
    patient.date_of_birth = date(1991, 3, 1)
    patient.save()
    return patient
