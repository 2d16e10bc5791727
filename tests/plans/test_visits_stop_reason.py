"""A stop decided at a visit records a structured reason: asked on the visit form for a stop (taper),
a finding for a stop now; the outcomes review counts them instead of "Not recorded"."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from tests.plans.test_visits import VISIT_DAY, visit_data
from trialplanner.outcomes import review as rv
from trialplanner.plans import services
from trialplanner.plans.forms import VisitForm
from trialplanner.plans.models import Plan, Visit

pytestmark = pytest.mark.django_db


def post_visit(client, clinician, plan, **overrides):
    followup = plan.followups.filter(status="due").order_by("due_date").first()
    with time_machine.travel(date(2026, 12, 20)):
        client.force_login(clinician)
        return client.post(reverse("plans:followup_visit", args=[followup.uuid]), visit_data(**overrides))


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({}, "stop_reason", "stop_reason_missing"),
        ({"stop_reason": "other", "stop_details": " "}, "stop_details", "stop_other_missing"),
    ],
)
def test_it_asks_why_when_a_visit_stops_the_trial(client, clinician, active, overrides, field, code):
    response = post_visit(client, clinician, active, decision="stop", **overrides)
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [VisitForm.error_messages[code]]
    assert not Visit.objects.exists() and Plan.objects.count() == 1


def test_it_does_not_ask_why_for_other_decisions(client, clinician, active):
    assert post_visit(client, clinician, active, decision="hold").status_code == 302


def test_it_stores_the_reason_on_the_stopped_version(client, clinician, active):
    response = post_visit(client, clinician, active, decision="stop", stop_reason="other", stop_details="Moving abroad")
    assert response.status_code == 302
    active.refresh_from_db()
    assert (active.status, active.stop_reason) == ("stopped", "other")
    assert active.end_reason.endswith("Moving abroad")
    assert Plan.objects.get(kind="taper").status == "active"


def test_it_records_a_finding_as_the_reason_for_a_stop_now(active, clinician):
    followup = active.followups.filter(status="due").order_by("due_date").first()
    services.followup_record_visit(
        followup=followup,
        user=clinician,
        visit_date=VISIT_DAY,
        decision="stop_now",
        qtc_ms=520,
        mood="usual",
        self_harm_thoughts=False,
    )
    active.refresh_from_db()
    assert (active.status, active.stop_reason) == ("stopped", "finding")


def test_it_counts_stops_decided_at_visits_in_the_review(client, clinician, active, young_patient):
    post_visit(client, clinician, active, decision="stop", stop_reason="side_effect")
    review = rv.clinic_review(
        clinic=young_patient.clinic,
        indication=None,
        start=date(2026, 11, 1),
        end=date(2026, 12, 31),
        today=date(2026, 12, 20),
    )
    stops = {f.key: (f.label, f.count) for f in review.stops}
    assert stops == {"stop_side_effect": ("Side effects", 1)}
