"""The odd inputs of the security probe: each once gave a 500 or let hidden characters in."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from trialplanner import inputs
from trialplanner.patients.forms import PatientForm
from trialplanner.patients.models import Patient
from trialplanner.plans.preview import MAX_DEPTH, MAX_REQUEST_CHARS

pytestmark = pytest.mark.django_db


def patient_data(**overrides):
    data = {"display_name": "Pat Example", "mrn": "MRN-1", "date_of_birth": "1960-05-17", "sex": "female",
            "preferred_language": "en"}  # fmt: skip
    return {**data, **overrides}


@pytest.mark.parametrize("raw", ["²", "١", "１", "0²", "9" * 40])
def test_it_refuses_unicode_digits_in_lock_version_not_a_500(client, clinician, world, raw):
    client.force_login(clinician)
    plan = world["plan"]
    data = {"lock_version": raw, "stop_reason": "other", "reason": "x", "stop_date": "2026-12-20"}
    response = client.post(reverse("plans:plan_stop", args=[plan.uuid]), data, follow=True)
    assert response.status_code in {400, 409}  # shown again with its error, or an edit conflict
    plan.refresh_from_db()
    assert plan.status == "active"


ODD_NUMBERS = ["²", "١", "１２", "-1", "9" * 40]


@pytest.mark.parametrize("raw", ODD_NUMBERS)
def test_it_shows_the_first_page_for_unicode_digits_in_page(client, world, raw):
    client.force_login(world["users"]["lead"])
    response = client.get(reverse("audit:audit_list"), {"page": raw})
    assert response.status_code == 200
    assert response.context["page"].number == 1


@pytest.mark.parametrize("name", ["plans:worklist", "patients:patient_list"])
@pytest.mark.parametrize("param", ["after", "before"])
@pytest.mark.parametrize("raw", [*ODD_NUMBERS, "２０２６-01-01.x", "9999-99-99.1", "\x00", "a" * 5000])
def test_it_shows_the_first_page_for_odd_cursors(client, world, name, param, raw):
    client.force_login(world["users"]["lead"])
    response = client.get(reverse(name), {param: raw})
    assert response.status_code == 200
    assert not response.context["page"].previous_cursor


@pytest.mark.parametrize(
    "field, value, code",
    [
        ("display_name", "Pat\r\nExample", "control"),
        ("display_name", "Pat\u202eelpmaxE", "bidi"),
        ("display_name", "Pat\u2066x\u2069", "bidi"),
        ("mrn", "MRN\t1", "control"),
        ("mrn", "MR\x1fN", "control"),
    ],
)
def test_it_refuses_control_and_bidi_characters_in_names_and_mrns(client, clinician, patient, field, value, code):
    client.force_login(clinician)
    response = client.post(reverse("patients:patient_edit", args=[patient.uuid]), patient_data(**{field: value}))
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [inputs.MESSAGES[code]]
    patient.refresh_from_db()
    assert patient.display_name == "Pat Example" and patient.mrn == "MRN-1"


@pytest.mark.parametrize(
    "born, error",
    [
        ("1899-12-31", "early_birth"),
        ("1900-01-01", "too_old"),
        ("0001-01-01", "early_birth"),
        ("2999-01-01", "future_birth"),
    ],
)
def test_it_takes_dates_of_birth_from_1900_to_today(client, clinician, patient, born, error):
    client.force_login(clinician)
    response = client.post(reverse("patients:patient_edit", args=[patient.uuid]), patient_data(date_of_birth=born))
    assert response.context["form"].errors["date_of_birth"] == [PatientForm.error_messages[error]]


def test_it_keeps_line_breaks_in_notes_but_not_other_controls(client, clinician, patient, with_profile):
    with_profile(patient)
    client.force_login(clinician)
    url = reverse("patients:risk_profile_edit", args=[patient.uuid])
    base = {"alcohol": "none", "meds-TOTAL_FORMS": "0", "meds-INITIAL_FORMS": "0", "cyp2d6": "", "cyp2c19": ""}
    bad = client.post(url, {**base, "notes": "first\x1b[2Jsecond"})
    assert bad.status_code == 200 and bad.context["form"].errors["notes"] == [inputs.MESSAGES["note_control"]]
    good = client.post(url, {**base, "notes": "first line\r\nsecond\tline"})
    assert good.status_code == 302, good.context["form"].errors if good.context else ""
    assert patient.risk_profiles.order_by("-version").first().notes.splitlines() == ["first line", "second\tline"]


def test_it_keeps_a_stop_reason_to_one_line(client, clinician, world):
    client.force_login(clinician)
    plan = world["plan"]
    response = client.post(
        reverse("plans:plan_stop", args=[plan.uuid]),
        {
            "lock_version": plan.lock_version,
            "stop_reason": "other",
            "reason": "first\nsecond",
            "stop_date": "2026-12-20",
        },
        follow=True,
    )
    plan.refresh_from_db()
    assert plan.status == "active" and inputs.MESSAGES["control"] in response.content.decode()


# --- preview_plan --------------------------------------------------------------------------------


def preview(tmp_path, text):
    path = tmp_path / "request.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(CommandError) as exc:
        call_command("preview_plan", "--input", str(path))
    message = str(exc.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_it_refuses_deep_nesting_in_preview_before_parsing(tmp_path):
    assert "too large" in preview(tmp_path, "[" * 100_000 + "]" * 100_000)  # the probe's file
    assert "nested too deeply" in preview(tmp_path, "[" * 40_000 + "]" * 40_000)
    assert "nested too deeply" in preview(tmp_path, json.dumps({"options": {"a": [[[[[[[[[[[1]]]]]]]]]]]}}))
    # Brackets inside strings are text, not nesting.
    assert "nested" not in preview(tmp_path, json.dumps({"indication": "[" * (MAX_DEPTH * 3)}))


def test_it_refuses_huge_requests_and_numbers_in_preview(tmp_path):
    assert "too large" in preview(tmp_path, json.dumps({"medications": ["x" * MAX_REQUEST_CHARS]}))
    assert "far too large" in preview(tmp_path, '{"qtc_ms": ' + "9" * 5000 + "}")


def test_it_refuses_preview_text_it_cannot_read_or_trust(tmp_path, catalog):
    assert "not UTF-8" in preview(tmp_path, b"\xff\xfe{}")
    body = {"indication": "migraine-prophylaxis", "start_date": "2026-12-01", "patient": {"age": 40, "sex": "male"},
            "medications": ["sertra\u202eline"]}  # fmt: skip
    assert preview(tmp_path, json.dumps(body)).startswith("medications[0]: remove the hidden text-direction")
    body["medications"] = []
    body["options"] = {"target_mg": "١٠"}
    assert preview(tmp_path, json.dumps(body)).startswith("options.target_mg: must be a number")


def test_it_turns_any_unexpected_preview_failure_into_one_line(tmp_path, monkeypatch):
    def explode(text):
        raise OverflowError("date value out of range")

    monkeypatch.setattr("trialplanner.plans.management.commands.preview_plan.preview", explode)
    assert preview(tmp_path, "{}") == "request: could not be previewed (OverflowError); check its values"
    assert not Patient.objects.exists()
