"""The error summary: one list above each form, naming the field and linking to it; focus goes there."""

from datetime import date

import pytest
from django.urls import reverse

from tests.plans.conftest import START
from trialplanner.plans.models import Plan

# The posted start dates and the patient's age are read against the clock.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_test_now")]


def summary(html):
    start = html.index("data-error-summary")
    return html[start : html.index("</div>", start)]


def test_it_lists_each_field_error_with_its_label_and_a_link(client, clinician, clinic):
    client.force_login(clinician)
    response = client.post(
        reverse("patients:patient_create"),
        {
            "clinic": str(clinic.uuid),
            "display_name": "",
            "date_of_birth": "2999-01-01",
            "sex": "female",
            "preferred_language": "en",
        },
    )
    html = response.content.decode()
    box = summary(html)
    assert '<a href="#id_display_name" data-field="id_display_name">Display name: This field is required.</a>' in box
    assert "Date of birth: The date of birth cannot be in the future." in box
    assert 'id="id_display_name"' in html  # the link has a target
    assert '<script src="/static/js/forms.js"></script>' in html


def test_it_shows_no_summary_for_a_valid_or_unbound_form(client, clinician):
    client.force_login(clinician)
    assert "data-error-summary" not in client.get(reverse("patients:patient_create")).content.decode()


def test_it_shows_form_wide_errors_once(client, clinician):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    html = response.content.decode()
    assert "data-error-summary" in html
    assert html.count("Please enter a correct username and password") == 1


def new_url(patient):
    return reverse("plans:plan_new", args=[patient.uuid]) + "?indication=peripheral-neuropathic-pain"


def test_it_keeps_the_findings_and_the_last_preview_after_a_refused_preview_option(
    client, clinician, patient, with_profile
):
    with_profile(patient, medications=["sertraline"])  # older patient on an SSRI: 14 days per step at least
    client.force_login(clinician)
    shown = {"shown-start_date": START.isoformat(), "shown-target_mg": "30", "shown-tablet_strength_mg": "10",
             "shown-days_per_step": "14"}  # fmt: skip
    response = client.post(
        new_url(patient),
        {
            "indication": "peripheral-neuropathic-pain",
            "preview": "1",
            "start_date": START.isoformat(),
            "target_mg": "50",
            "tablet_strength_mg": "10",
            "days_per_step": "3",
            **shown,
        },
    )
    html = response.content.decode()
    assert response.context["form"].errors["days_per_step"] == ["Must be at least 14 days for this patient."]
    assert "Days per step: Must be at least 14 days for this patient." in summary(html)
    assert "days_per_step:" not in html
    assert 'data-code="serotonergic-drug"' in html and 'data-code="older-age"' in html
    # The last preview (to 30 mg) stays on screen, and is what the hidden fields carry forward.
    assert [row["dose_mg"] for row in response.context["rows"]] == [10, 20, 30]
    assert 'name="shown-target_mg" value="30"' in html
    assert not Plan.objects.exists()


def test_it_posts_update_preview_so_no_csrf_token_reaches_a_url(client, clinician, patient, with_profile):
    with_profile(patient)
    client.force_login(clinician)
    html = client.get(new_url(patient)).content.decode()
    assert 'formmethod="get"' not in html and 'name="preview" value="1"' in html
    response = client.post(
        new_url(patient),
        {
            "indication": "peripheral-neuropathic-pain",
            "preview": "1",
            "start_date": START.isoformat(),
            "target_mg": "30",
            "tablet_strength_mg": "10",
            "days_per_step": "",
        },
    )
    assert response.status_code == 200 and [row["dose_mg"] for row in response.context["rows"]][-1] == 30
    assert not Plan.objects.exists()


def test_it_summarises_the_activation_form_errors(client, clinician, patient, with_profile, indication):
    from trialplanner.plans import services

    with_profile(patient)
    plan = services.plan_create(patient=patient, indication=indication, user=clinician, start_date=START)
    client.force_login(clinician)
    response = client.post(reverse("plans:plan_activate", args=[plan.uuid]), {"lock_version": plan.lock_version})
    box = summary(response.content.decode())
    assert "Reason to go ahead despite: Age 65 or over" in box and "#id_preset_older-age_0" in box
    assert patient.date_of_birth < date(1961, 12, 1)
