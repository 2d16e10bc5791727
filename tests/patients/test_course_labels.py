"""A stopped or stopping course is labelled by what it is, not "Active", on the list, patient and plan pages."""

import re
from datetime import date

import pytest
import time_machine
from django.urls import reverse

from trialplanner.plans import services

pytestmark = pytest.mark.django_db
VISIT_DAY = date(2026, 12, 8)


def text(response):
    assert response.status_code == 200
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def pages(client, plan):
    """The patient list, the patient page and the plan page, as seen on the visit day."""
    with time_machine.travel(VISIT_DAY, tick=False):
        client.force_login(plan.clinician)
        return [text(client.get(url)) for url in (reverse("patients:patient_list"), plan.patient.get_absolute_url(),
                                                  plan.get_absolute_url())]  # fmt: skip


@pytest.fixture
def stopped_now(active, clinician):
    followup = active.followups.filter(status="due").order_by("due_date").first()
    _, new = services.followup_record_visit(
        followup=followup,
        user=clinician,
        visit_date=VISIT_DAY,
        decision="stop_now",
        qtc_ms=520,
        mood="usual",
        self_harm_thoughts=False,
    )
    return new


def test_it_labels_a_course_stopped_at_once_as_stopped(client, stopped_now):
    listing, patient, plan = pages(client, stopped_now)
    review = stopped_now.followups.filter(status="due").order_by("due_date").first()
    assert "Stopped on 8 Dec 2026: " + stopped_now.indication.name in listing
    assert "none (stopped)" in listing and "0 mg" not in listing
    assert "Stopped at once: " in patient and "Stopped on 8 Dec 2026 (no taper)" in patient
    assert "Stopped on 8 Dec 2026 (no taper)" in plan
    due = f"{review.get_kind_display().lower()} due {review.due_date:%-d %b %Y}"
    assert f"Stopped on 8 Dec 2026, no taper — {due}" in plan
    for page in (patient, plan):
        assert " Active " not in page


def test_it_labels_a_taper_as_tapering_to_stop(client, active, clinician):
    taper = services.plan_stop(
        plan=active,
        user=clinician,
        lock_version=active.lock_version,
        reason="x",
        stop_date=VISIT_DAY,
        stop_reason="side_effect",
    )
    listing, patient, plan = pages(client, taper)
    assert "Tapering to stop: " in listing
    assert "Tapering to stop" in patient and "Tapering to stop from 8 Dec 2026" in plan
    for page in (patient, plan):
        assert " Active " not in page


def test_it_still_labels_an_active_trial_active(client, active):
    listing, patient, plan = pages(client, active)
    assert " Active " in plan and "Tapering" not in listing and "Stopped on" not in listing
