"""The audit trail: every view and change of patient data, append-only, browsable by leads."""

import pytest
from django.db import transaction
from django.urls import reverse

from trialplanner.audit.models import AppendOnlyError, AuditEvent
from trialplanner.patients.models import Patient

pytestmark = pytest.mark.django_db


def events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("id").values_list("action", "object_type"))


def test_it_records_viewing_a_patient_with_who_where_and_request_id(client, clinician, patient):
    client.force_login(clinician)
    response = client.get(patient.get_absolute_url(), HTTP_X_REQUEST_ID="req-12345678", REMOTE_ADDR="10.1.2.3")
    event = AuditEvent.objects.get(action="view", patient=patient)
    assert (event.user, event.clinic, event.object_id) == (clinician, patient.clinic, str(patient.uuid))
    assert (event.ip, event.request_id) == ("10.1.2.3", "req-12345678")
    assert response["X-Request-ID"] == "req-12345678"


def test_it_replaces_a_bad_request_id(client, clinician, patient):
    client.force_login(clinician)
    response = client.get(patient.get_absolute_url(), HTTP_X_REQUEST_ID="<script>")
    assert response["X-Request-ID"] != "<script>" and len(response["X-Request-ID"]) == 32


def test_it_records_creating_and_changing_a_patient(client, clinician, clinic):
    client.force_login(clinician)
    client.post(
        reverse("patients:patient_create"),
        {
            "clinic": clinic.uuid,
            "display_name": "Zed",
            "mrn": "Z1",
            "date_of_birth": "1970-01-01",
            "sex": "male",
            "preferred_language": "en",
        },
    )
    patient = Patient.objects.get(mrn="Z1")
    client.post(
        reverse("patients:patient_edit", args=[patient.uuid]),
        {
            "display_name": "Zed Z",
            "mrn": "Z1",
            "date_of_birth": "1970-01-01",
            "sex": "male",
            "preferred_language": "es",
        },
    )
    assert events(patient=patient)[:2] == [("create", "patient"), ("update", "patient")]
    update = AuditEvent.objects.get(patient=patient, action="update")
    assert update.detail == "changed: display_name, preferred_language"
    assert "Zed" not in update.detail


def test_it_writes_the_event_in_the_same_transaction_as_the_change(clinician, clinic):
    from trialplanner.patients.services import patient_create

    with pytest.raises(RuntimeError), transaction.atomic():
        patient_create(
            user=clinician,
            clinic=clinic,
            display_name="Rollback",
            mrn="",
            date_of_birth="1970-01-01",
            sex="male",
            preferred_language="en",
        )
        raise RuntimeError("the change fails after the event was written")
    assert not AuditEvent.objects.exists() and not Patient.objects.filter(display_name="Rollback").exists()


def test_it_refuses_changing_or_deleting_events(client, clinician, patient):
    client.force_login(clinician)
    client.get(patient.get_absolute_url())
    event = AuditEvent.objects.get()
    with pytest.raises(AppendOnlyError):
        event.detail = "tampered"
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().update(detail="tampered")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_it_lets_a_lead_browse_and_filter_their_clinics_events(
    client, lead, clinician, outsider, patient, other_clinic
):
    client.force_login(clinician)
    client.get(patient.get_absolute_url())
    client.force_login(outsider)
    client.get(reverse("patients:patient_list"))
    client.force_login(lead)
    page = client.get(reverse("audit:audit_list"))
    assert page.status_code == 200
    rows = list(page.context["page"])
    assert [e.user for e in rows] == [clinician]  # not the outsider's clinic, and list views have no clinic
    filtered = client.get(reverse("audit:audit_list"), {"action": "create", "user": "alice"}).context["page"]
    assert list(filtered) == []
    by_patient = client.get(reverse("audit:audit_list"), {"patient": str(patient.uuid)}).context["page"]
    assert len(list(by_patient)) == 1


@pytest.mark.parametrize("user_fixture", ["clinician", "outsider"])
def test_it_does_not_let_non_leads_browse_the_trail(request, client, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    assert client.get(reverse("audit:audit_list")).status_code == 404


def test_it_records_plan_handout_and_feed_events(client, clinician, young_patient, indication, with_profile):
    from datetime import date

    from trialplanner.plans import services
    from trialplanner.reminders.models import CalendarFeed

    with_profile(young_patient)
    plan = services.plan_create(
        patient=young_patient, indication=indication, user=clinician, start_date=date(2026, 12, 1)
    )
    services.plan_activate(plan=plan, user=clinician, lock_version=plan.lock_version, reasons={})
    client.force_login(clinician)
    client.get(plan.get_absolute_url())
    client.get(reverse("handouts:handout", args=[plan.uuid]))
    feed = CalendarFeed.objects.create(user=clinician)
    client.get(reverse("reminders:feed", args=[feed.token]))
    kinds = events()
    assert ("create", "riskprofile") in kinds and ("create", "plan") in kinds and ("update", "plan") in kinds
    assert ("view", "plan") in kinds and ("print", "plan") in kinds and ("feed", "calendar_feed") in kinds


# --- search by patient and CSV export --------------------------------------------------------------


@pytest.fixture
def two_clinics(client, lead, clinician, outsider, patient, other_clinic):
    """Views of Pat Example (the lead's clinic) and of Pat Elsewhere (another clinic the lead only works in)."""
    from datetime import date

    from trialplanner.patients.models import Membership

    Membership.objects.create(user=lead, clinic=other_clinic)  # a member there, not its lead
    elsewhere = Patient.objects.create(
        clinic=other_clinic,
        display_name="Pat Elsewhere",
        mrn="MRN-9",
        date_of_birth=date(1970, 1, 1),
        sex="male",
        created_by=outsider,
    )
    formula = Patient.objects.create(
        clinic=patient.clinic,
        display_name='=HYPERLINK("http://x")',
        mrn="MRN-2",
        date_of_birth=date(1970, 1, 1),
        sex="male",
        created_by=clinician,
    )
    client.force_login(clinician)
    client.get(patient.get_absolute_url())
    client.get(formula.get_absolute_url())
    client.force_login(outsider)
    client.get(elsewhere.get_absolute_url())
    client.force_login(lead)
    return {"mine": patient, "formula": formula, "elsewhere": elsewhere}


def listed(client, **params):
    response = client.get(reverse("audit:audit_list"), params)
    assert response.status_code == 200
    return response, [e.patient for e in response.context["page"]]


def test_it_finds_events_by_patient_name_or_mrn_within_the_leads_clinics(client, two_clinics):
    mine, elsewhere = two_clinics["mine"], two_clinics["elsewhere"]
    assert listed(client, patient="pat e")[1] == [mine]
    assert listed(client, patient="mrn-1")[1] == [mine]
    assert listed(client, patient=str(mine.uuid))[1] == [mine]
    # Another clinic's patient is never found, by name, MRN or id, though the lead works there.
    for text in ("Pat Elsewhere", "MRN-9", str(elsewhere.uuid)):
        assert listed(client, patient=text)[1] == []
    assert elsewhere not in listed(client)[1]


def test_it_shows_nothing_for_a_name_that_matches_nothing(client, two_clinics):
    response, rows = listed(client, patient="Nobody Here")
    body = response.content.decode()
    assert rows == [] and "Enter a valid UUID" not in body and "No events match." in body


def test_it_shows_the_error_of_an_invalid_filter_and_no_events(client, two_clinics):
    response, rows = listed(client, since="2026-13-45")
    assert rows == [] and response.context["form"].errors["since"]
    response, rows = listed(client, since="2026-06-02", until="2026-06-01")
    assert rows == [] and "The end date is before the start date." in response.content.decode()


def test_it_exports_the_filtered_view_as_csv_neutralised_and_audited(client, lead, two_clinics):
    import csv
    import io

    response = client.get(reverse("audit:audit_csv"), {"patient": "hyperlink"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    header, *rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert header[:3] == ["When (UTC)", "User", "Action"]
    assert [(r[1], r[6], r[7]) for r in rows] == [("alice", '\'=HYPERLINK("http://x")', "MRN-2")]

    everything = client.get(reverse("audit:audit_csv")).content.decode()
    assert "Pat Example" in everything and "Pat Elsewhere" not in everything and "MRN-9" not in everything
    assert "Beta Clinic" not in everything

    export = AuditEvent.objects.filter(object_type="audit_export").order_by("id")
    assert [(e.user, e.clinic, e.action) for e in export] == [(lead, two_clinics["mine"].clinic, "print")] * 2
    assert export[0].detail == "audit CSV, 1 event, filter: patient"
    assert "HYPERLINK" not in export[0].detail


def test_it_exports_no_events_for_an_invalid_filter(client, two_clinics):
    import csv
    import io

    response = client.get(reverse("audit:audit_csv"), {"until": "not a date"})
    assert len(list(csv.reader(io.StringIO(response.content.decode())))) == 1  # the header only


@pytest.mark.parametrize("user_fixture", ["clinician", "outsider"])
def test_it_does_not_let_non_leads_export_the_trail(request, client, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    assert client.get(reverse("audit:audit_csv")).status_code == 404


def test_it_finds_a_patient_by_the_words_of_the_name_in_any_order(client, two_clinics):
    mine = two_clinics["mine"]  # Pat Example
    assert listed(client, patient="Example Pat")[1] == [mine]
    assert listed(client, patient="  exam   PAT ")[1] == [mine]
    assert listed(client, patient="Example Nobody")[1] == []  # every word has to match


# --- the trail in the navigation ----------------------------------------------------------------------


def test_it_shows_the_trail_in_the_navigation_to_a_lead(client, lead, other_clinic):
    from trialplanner.patients.models import Membership

    # A lead who is also a plain member of a clinic listed first still sees the link.
    Membership.objects.create(user=lead, clinic=other_clinic)
    client.force_login(lead)
    body = client.get(reverse("patients:patient_list")).content.decode()
    assert f'href="{reverse("audit:audit_list")}"' in body
    on_trail = client.get(reverse("audit:audit_list")).content.decode()
    assert 'aria-current="page">Audit trail</a>' in on_trail


@pytest.mark.parametrize("user_fixture", ["clinician", "outsider"])
def test_it_hides_the_trail_from_others_who_get_the_usual_not_found_page(request, client, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    body = client.get(reverse("patients:patient_list")).content.decode()
    assert reverse("audit:audit_list") not in body
    response = client.get(reverse("audit:audit_list"))
    assert response.status_code == 404
    assert "404.html" in [t.name for t in response.templates]
    assert "This page does not exist" in response.content.decode()
