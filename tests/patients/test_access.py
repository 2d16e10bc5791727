"""Scoping: a clinician and a colleague see their clinic's patients; an outsider gets 404."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from trialplanner.patients import access
from trialplanner.patients.models import Patient

pytestmark = pytest.mark.django_db


def test_it_shows_the_patient_to_the_clinician(client, clinician, patient):
    client.force_login(clinician)
    response = client.get(patient.get_absolute_url())
    assert response.status_code == 200
    assert "Pat Example" in response.content.decode()


def test_it_shows_the_patient_to_a_colleague(client, colleague, patient):
    client.force_login(colleague)
    assert client.get(patient.get_absolute_url()).status_code == 200


def test_it_hides_the_patient_from_an_outsider(client, outsider, patient):
    client.force_login(outsider)
    response = client.get(patient.get_absolute_url())
    assert response.status_code == 404
    assert "Pat Example" not in response.content.decode()


def test_it_sends_anonymous_visitors_to_login(client, patient):
    response = client.get(patient.get_absolute_url())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_list_shows_only_the_users_clinics(client, outsider, other_clinic, patient):
    Patient.objects.create(
        clinic=other_clinic,
        display_name="Quinn Other",
        date_of_birth=date(1970, 1, 1),
        sex="male",
        created_by=outsider,
    )
    client.force_login(outsider)
    body = client.get(reverse("patients:patient_list")).content.decode()
    assert "Quinn Other" in body
    assert "Pat Example" not in body


def test_the_list_searches_by_name_and_mrn(client, clinician, patient, clinic):
    Patient.objects.create(
        clinic=clinic,
        display_name="Robin Else",
        mrn="X-77",
        date_of_birth=date(1980, 2, 2),
        sex="male",
        created_by=clinician,
    )
    client.force_login(clinician)
    by_name = client.get(reverse("patients:patient_list"), {"q": "pat ex"}).content.decode()
    assert "Pat Example" in by_name and "Robin Else" not in by_name
    by_mrn = client.get(reverse("patients:patient_list"), {"q": "x-77"}).content.decode()
    assert "Robin Else" in by_mrn and "Pat Example" not in by_mrn


def test_the_list_paginates_with_a_fixed_number_of_queries(client, clinician, clinic, django_assert_num_queries):
    def make(n):
        Patient.objects.bulk_create(
            Patient(
                clinic=clinic,
                display_name=f"Patient {i:04d}",
                date_of_birth=date(1970, 1, 1),
                sex="female",
                created_by=clinician,
            )
            for i in range(n)
        )

    client.force_login(clinician)
    make(3)
    client.get(reverse("patients:patient_list"))  # the first request of a session writes it; later ones do not
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("patients:patient_list"))
    make(100)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(reverse("patients:patient_list"), {"page": 2})
    assert "Page 2 of 5" in response.content.decode()


def test_the_clinic_page_is_scoped(client, clinician, colleague, outsider, clinic):
    for user, status in [(clinician, 200), (colleague, 200), (outsider, 404)]:
        client.force_login(user)
        assert client.get(clinic.get_absolute_url()).status_code == status, user.username


def test_the_access_helpers_scope_querysets(clinician, outsider, patient):
    assert list(access.patients_for(clinician)) == [patient]
    assert list(access.patients_for(outsider)) == []
    assert access.is_clinic_lead(clinician, patient.clinic) is False


def test_a_lead_is_recognised(lead, clinic):
    assert access.is_clinic_lead(lead, clinic) is True
