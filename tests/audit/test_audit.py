"""The audit trail: every view and change of patient data, append-only, browsable by leads."""

import pytest
from django.db import transaction
from django.urls import reverse

from trialplanner.audit.models import AppendOnlyError, AuditEvent
from trialplanner.patients.models import Patient

pytestmark = pytest.mark.django_db


def events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("id").values_list("action", "object_type"))


def test_viewing_a_patient_is_recorded_with_who_where_and_request_id(client, clinician, patient):
    client.force_login(clinician)
    response = client.get(patient.get_absolute_url(), HTTP_X_REQUEST_ID="req-12345678", REMOTE_ADDR="10.1.2.3")
    event = AuditEvent.objects.get(action="view", patient=patient)
    assert (event.user, event.clinic, event.object_id) == (clinician, patient.clinic, str(patient.uuid))
    assert (event.ip, event.request_id) == ("10.1.2.3", "req-12345678")
    assert response["X-Request-ID"] == "req-12345678"


def test_a_bad_request_id_is_replaced(client, clinician, patient):
    client.force_login(clinician)
    response = client.get(patient.get_absolute_url(), HTTP_X_REQUEST_ID="<script>")
    assert response["X-Request-ID"] != "<script>" and len(response["X-Request-ID"]) == 32


def test_creating_and_changing_a_patient_is_recorded(client, clinician, clinic):
    client.force_login(clinician)
    client.post(reverse("patients:patient_create"), {"clinic": clinic.uuid, "display_name": "Zed", "mrn": "Z1",
                                                      "date_of_birth": "1970-01-01", "sex": "male",
                                                      "preferred_language": "en"})  # fmt: skip
    patient = Patient.objects.get(mrn="Z1")
    client.post(reverse("patients:patient_edit", args=[patient.uuid]), {"display_name": "Zed Z", "mrn": "Z1",
                "date_of_birth": "1970-01-01", "sex": "male", "preferred_language": "es"})  # fmt: skip
    assert events(patient=patient)[:2] == [("create", "patient"), ("update", "patient")]
    update = AuditEvent.objects.get(patient=patient, action="update")
    assert update.detail == "changed: display_name, preferred_language"
    assert "Zed" not in update.detail


def test_the_event_is_written_in_the_same_transaction_as_the_change(clinician, clinic):
    from trialplanner.patients.services import patient_create

    with pytest.raises(RuntimeError), transaction.atomic():
        patient_create(user=clinician, clinic=clinic, display_name="Rollback", mrn="", date_of_birth="1970-01-01",
                       sex="male", preferred_language="en")  # fmt: skip
        raise RuntimeError("the change fails after the event was written")
    assert not AuditEvent.objects.exists() and not Patient.objects.filter(display_name="Rollback").exists()


def test_events_cannot_be_changed_or_deleted(client, clinician, patient):
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


def test_a_lead_browses_and_filters_their_clinics_events(client, lead, clinician, outsider, patient, other_clinic):
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
def test_non_leads_cannot_browse_the_trail(request, client, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    assert client.get(reverse("audit:audit_list")).status_code == 404


def test_plan_handout_and_feed_events(client, clinician, young_patient, indication, with_profile):
    from datetime import date

    from trialplanner.plans import services
    from trialplanner.reminders.models import CalendarFeed

    with_profile(young_patient)
    plan = services.plan_create(patient=young_patient, indication=indication, user=clinician,
                                start_date=date(2026, 12, 1))  # fmt: skip
    services.plan_activate(plan=plan, user=clinician, lock_version=plan.lock_version, reasons={})
    client.force_login(clinician)
    client.get(plan.get_absolute_url())
    client.get(reverse("handouts:handout", args=[plan.uuid]))
    feed = CalendarFeed.objects.create(user=clinician)
    client.get(reverse("reminders:feed", args=[feed.token]))
    kinds = events()
    assert ("create", "riskprofile") in kinds and ("create", "plan") in kinds and ("update", "plan") in kinds
    assert ("view", "plan") in kinds and ("print", "plan") in kinds and ("feed", "calendar_feed") in kinds
