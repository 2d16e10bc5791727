from datetime import date
from decimal import Decimal

import pytest

from trialplanner.plans import services
from trialplanner.reminders.models import CalendarFeed


@pytest.fixture
def world(clinician, colleague, lead, outsider, patient, indication, with_profile, django_user_model):
    """One clinic's patient with a risk profile, an active plan with follow-ups, and a calendar feed."""
    profile = with_profile(patient)
    plan = services.plan_create(
        patient=patient,
        indication=indication,
        user=clinician,
        start_date=date(2026, 12, 1),
        tablet_strength_mg=Decimal(10),
    )
    services.plan_activate(
        plan=plan, user=clinician, lock_version=plan.lock_version, reasons={"older-age": "ok", "baseline-ecg": "ok"}
    )
    plan.refresh_from_db()
    return {
        "users": {
            "anonymous": None,
            "clinician": clinician,
            "colleague": colleague,
            "lead": lead,
            "outsider": outsider,
        },
        "patient": patient,
        "profile": profile,
        "plan": plan,
        "followup": plan.followups.filter(status="due").first(),
        "feed": CalendarFeed.objects.create(user=clinician),
        "indication": indication,
    }
