"""Scoping: a clinician and a colleague see their clinic's patients; an outsider gets 404."""

from datetime import date
from decimal import Decimal

import pytest
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


def test_it_shows_only_the_users_clinics_in_the_list(client, outsider, other_clinic, patient):
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


def test_it_searches_the_list_by_name_and_mrn(client, clinician, patient, clinic):
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


# session, user, two-factor devices (TOTP, recovery codes), memberships, rows with their clinics and their
# plan columns (subqueries of the same query), capped count, audit insert, navigation counts
PATIENT_LIST_QUERIES = 9


def make_patients(clinic, user, first, n, indication=None):
    """Patients "Patient 0000".. in bulk; with `indication`, each on an active plan with two steps and
    two open follow-ups (so the plan columns have something to read)."""
    from trialplanner.plans.models import FollowUp, Plan, Step

    made = Patient.objects.bulk_create(
        Patient(
            clinic=clinic,
            display_name=f"Patient {i:04d}",
            date_of_birth=date(1970, 1, 1),
            sex="female",
            created_by=user,
        )
        for i in range(first, first + n)
    )
    if indication is None:
        return made
    plans = Plan.objects.bulk_create(
        Plan(
            patient=p,
            indication=indication,
            status=Plan.Status.ACTIVE,
            start_date=date(2026, 11, 1),
            end_date=date(2027, 3, 1),
            start_mg=Decimal(10),
            target_mg=Decimal(20),
            ceiling_mg=Decimal(75),
            days_per_step=14,
            target_date=date(2026, 11, 15),
            response_date=date(2027, 1, 1),
            protocol_snapshot={},
            engine_input={},
            clinician=user,
            created_by=user,
        )
        for p in made
    )
    Step.objects.bulk_create(
        Step(plan=plan, number=number, kind="titration", start_date=start, end_date=end, dose_mg=Decimal(dose))
        for plan in plans
        for number, start, end, dose in (
            (1, date(2026, 11, 1), date(2026, 11, 14), 10),
            (2, date(2026, 11, 15), date(2027, 3, 1), 20),
        )
    )
    followups = [FollowUp(plan=plan, due_date=day, kind=FollowUp.Kind.FIRST_REVIEW)
                 for plan in plans for day in (date(2026, 12, 10), date(2027, 1, 5))]  # fmt: skip
    for f in followups:
        f.fill_worklist_fields()
    FollowUp.objects.bulk_create(followups)
    return made


def test_it_pages_the_list_by_cursor_with_a_fixed_number_of_queries(client, clinician, clinic, indication,
                                                                     django_assert_num_queries):  # fmt: skip
    client.force_login(clinician)
    make_patients(clinic, clinician, 0, 3)
    client.get(reverse("patients:patient_list"))  # the first request of a session writes it; later ones do not
    with django_assert_num_queries(PATIENT_LIST_QUERIES):
        client.get(reverse("patients:patient_list"))
    make_patients(clinic, clinician, 3, 60, indication)
    make_patients(clinic, clinician, 63, 1040)
    with django_assert_num_queries(PATIENT_LIST_QUERIES):
        first = client.get(reverse("patients:patient_list")).context["page"]
    with django_assert_num_queries(PATIENT_LIST_QUERIES):
        response = client.get(reverse("patients:patient_list"), {"after": first.next_cursor})
    second = response.context["page"]
    assert [p.display_name for p in second.rows] == [f"Patient {i:04d}" for i in range(25, 50)]
    assert all(p.course_indication == indication.name for p in second.rows)  # the plan columns were read
    assert "1,000+ patients" in response.content.decode()
    back = client.get(reverse("patients:patient_list"), {"before": second.previous_cursor}).context["page"]
    assert [p.uuid for p in back.rows] == [p.uuid for p in first.rows] and not back.has_previous


def test_it_shows_age_active_plan_dose_tonight_and_next_visit_in_the_list(client, clinician, clinic, indication):
    import time_machine

    from trialplanner.plans.models import FollowUp, Plan

    on_plan, stopped, none = make_patients(clinic, clinician, 0, 3, indication)
    Plan.objects.filter(patient=stopped).update(status=Plan.Status.STOPPED)
    FollowUp.objects.filter(plan__patient=stopped).refresh_worklist()
    Plan.objects.filter(patient=none).delete()
    client.force_login(clinician)
    # 20:00 on 1 Dec 2026 in London: step 2 (20 mg) is tonight; the 10 Dec review is next.
    with time_machine.travel("2026-12-01T20:00:00Z", tick=False):
        client.force_login(clinician)
        html = client.get(reverse("patients:patient_list")).content.decode()
    rows = {name: html[html.index(name) : html.index("</tr>", html.index(name))] for name in
            ("Patient 0000", "Patient 0001", "Patient 0002")}  # fmt: skip
    assert 'data-label="Age"><span class="text-nowrap">56</span>' in rows["Patient 0000"]
    assert indication.name in rows["Patient 0000"] and "20 mg" in rows["Patient 0000"]
    assert "Thu 10 Dec 2026" in rows["Patient 0000"] and "overdue" not in rows["Patient 0000"]
    for name in ("Patient 0001", "Patient 0002"):  # a stopped plan is not an active one
        assert indication.name not in rows[name] and "mg" not in rows[name] and "Dec 2026" not in rows[name]
    with time_machine.travel("2026-12-11T12:00:00Z", tick=False):
        client.force_login(clinician)
        html = client.get(reverse("patients:patient_list")).content.decode()
    row = html[html.index("Patient 0000") : html.index("</tr>", html.index("Patient 0000"))]
    assert "Thu 10 Dec 2026" in row and "overdue" in row


def test_it_walks_every_patient_in_the_list_once_in_name_order(client, clinician, clinic):
    names = [f"Same Name {i % 3}" for i in range(60)]  # ties broken by id
    Patient.objects.bulk_create(
        Patient(clinic=clinic, display_name=name, date_of_birth=date(1970, 1, 1), sex="male", created_by=clinician)
        for name in names
    )
    client.force_login(clinician)
    seen, params = [], {}
    while True:
        page = client.get(reverse("patients:patient_list"), params).context["page"]
        seen += [p.pk for p in page.rows]
        if not page.has_next:
            break
        params = {"after": page.next_cursor}
    expected = list(Patient.objects.filter(clinic=clinic).order_by("display_name", "id").values_list("pk", flat=True))
    assert seen == expected


def test_it_shows_the_first_page_for_a_cursor_from_another_clinic(client, clinician, outsider, other_clinic, patient):
    elsewhere = Patient.objects.create(
        clinic=other_clinic, display_name="Aaron Away", date_of_birth=date(1970, 1, 1), sex="male", created_by=outsider
    )
    client.force_login(clinician)
    for cursor in [str(elsewhere.uuid), "not-a-uuid"]:
        response = client.get(reverse("patients:patient_list"), {"after": cursor})
        assert response.status_code == 200
        assert [p.uuid for p in response.context["page"].rows] == [patient.uuid]


def test_it_scopes_the_clinic_page(client, clinician, colleague, outsider, clinic):
    for user, status in [(clinician, 200), (colleague, 200), (outsider, 404)]:
        client.force_login(user)
        assert client.get(clinic.get_absolute_url()).status_code == status, user.username


def test_it_scopes_querysets_in_the_access_helpers(clinician, outsider, patient):
    assert list(access.patients_for(clinician)) == [patient]
    assert list(access.patients_for(outsider)) == []
    assert access.is_clinic_lead(clinician, patient.clinic) is False


def test_it_recognises_a_lead(lead, clinic):
    assert access.is_clinic_lead(lead, clinic) is True
