"""Patients and versioned risk profiles: forms, scoping, and the safety check page."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from trialplanner.catalog.models import Condition
from trialplanner.patients.forms import MedicationForm, PatientForm, RiskProfileForm
from trialplanner.patients.models import MedicationEntry, Patient, RiskProfile

# The posted ECG, blood and medicine dates must not be in the future of the clock.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_test_now")]


def patient_data(**overrides):
    data = {
        "display_name": "New Person",
        "mrn": "N-1",
        "date_of_birth": "1955-04-03",
        "sex": "male",
        "preferred_language": "es",
    }
    data.update(overrides)
    return data


def risk_data(*conditions, meds=(), **overrides):
    data = {"alcohol": "none", "meds-TOTAL_FORMS": "5", "meds-INITIAL_FORMS": "0"}
    data["conditions"] = [Condition.objects.get(slug=slug).slug for slug in conditions]
    for i, med in enumerate(meds):
        for key, value in med.items():
            data[f"meds-{i}-{key}"] = value
    data.update(overrides)
    return data


# --- patients ---------------------------------------------------------------------------


def test_it_creates_a_patient_in_the_users_clinic(client, clinician, clinic):
    client.force_login(clinician)
    response = client.post(reverse("patients:patient_create"), patient_data(clinic=clinic.uuid))
    patient = Patient.objects.get(mrn="N-1")
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:risk_profile_edit", args=[patient.uuid])
    assert (patient.clinic, patient.created_by, patient.preferred_language) == (clinic, clinician, "es")


def test_it_will_not_create_a_patient_in_another_clinic(client, clinician, other_clinic):
    client.force_login(clinician)
    response = client.post(reverse("patients:patient_create"), patient_data(clinic=other_clinic.uuid))
    assert response.status_code == 200
    assert "clinic" in response.context["form"].errors
    assert not Patient.objects.exists()


def test_it_treats_a_future_birth_date_as_a_field_error(client, clinician, clinic):
    client.force_login(clinician)
    response = client.post(
        reverse("patients:patient_create"), patient_data(clinic=clinic.uuid, date_of_birth="2999-01-01")
    )
    form = response.context["form"]
    assert form.errors["date_of_birth"] == [PatientForm.error_messages["future_birth"]]
    assert not Patient.objects.exists()


def test_it_treats_a_duplicate_mrn_as_a_field_error(client, clinician, clinic, patient):
    client.force_login(clinician)
    response = client.post(reverse("patients:patient_create"), patient_data(clinic=clinic.uuid, mrn=patient.mrn))
    assert response.context["form"].errors["mrn"] == [PatientForm.error_messages["mrn_taken"]]
    assert Patient.objects.count() == 1


def test_it_scopes_editing_details(client, clinician, colleague, outsider, patient):
    url = reverse("patients:patient_edit", args=[patient.uuid])
    data = patient_data(display_name="Renamed", mrn="MRN-1", date_of_birth="1960-05-17", sex="female")
    client.force_login(outsider)
    assert client.post(url, data).status_code == 404
    client.force_login(colleague)
    assert client.post(url, data).status_code == 302
    patient.refresh_from_db()
    assert patient.display_name == "Renamed"
    assert patient.clinic.name == "Alpha Practice"


# --- risk profiles -------------------------------------------------------------------------


def test_it_makes_version_1_on_saving_a_risk_profile(client, clinician, patient, catalog):
    client.force_login(clinician)
    url = reverse("patients:risk_profile_edit", args=[patient.uuid])
    data = risk_data("epilepsy", "diabetes", meds=[{"name": "sertraline"}, {"name": "Mystery pill"}], frail="on")
    response = client.post(url, data)
    assert response.status_code == 302
    profile = patient.risk_profiles.get()
    assert profile.version == 1 and profile.frail and profile.created_by == clinician
    assert {c.slug for c in profile.conditions.all()} == {"epilepsy", "diabetes"}
    meds = {m.name: m.drug for m in profile.medications.all()}
    assert meds["sertraline"].slug == "sertraline"
    assert meds["Mystery pill"] is None


def test_it_keeps_the_earlier_version_viewable_after_editing(client, clinician, colleague, patient, catalog):
    client.force_login(clinician)
    url = reverse("patients:risk_profile_edit", args=[patient.uuid])
    client.post(url, risk_data("epilepsy"))
    client.force_login(colleague)
    form_page = client.get(url)
    assert form_page.context["form"].initial["conditions"][0].slug == "epilepsy"
    client.post(url, risk_data("diabetes", qtc_ms="430", ecg_date="2026-01-05"))
    assert list(patient.risk_profiles.values_list("version", flat=True)) == [2, 1]
    old = client.get(reverse("patients:risk_profile_detail", args=[patient.uuid, 1]))
    assert old.status_code == 200
    body = old.content.decode()
    assert "Epilepsy" in body and "An earlier version" in body
    detail = client.get(patient.get_absolute_url()).content.decode()
    assert "Version 1" in detail and "v2" in detail


@pytest.mark.parametrize("qtc", ["-5", "5000", "abc"])
def test_it_treats_an_impossible_qtc_as_a_field_error_and_saves_nothing(client, clinician, patient, catalog, qtc):
    client.force_login(clinician)
    url = reverse("patients:risk_profile_edit", args=[patient.uuid])
    response = client.post(url, risk_data("epilepsy", qtc_ms=qtc, ecg_date="2026-01-05"))
    assert response.status_code == 200
    assert response.context["form"].errors["qtc_ms"]
    assert "Nothing has been saved yet" in response.content.decode()
    assert not RiskProfile.objects.exists()


def test_it_treats_a_stop_date_before_the_start_date_as_a_field_error(client, clinician, patient, catalog):
    client.force_login(clinician)
    url = reverse("patients:risk_profile_edit", args=[patient.uuid])
    meds = [{"name": "phenelzine", "started_on": "2026-03-01", "stopped_on": "2026-02-01"}]
    response = client.post(url, risk_data(meds=meds))
    errors = response.context["formset"].forms[0].errors
    assert errors["stopped_on"] == [MedicationForm.error_messages["stop_before_start"]]
    assert not RiskProfile.objects.exists() and not MedicationEntry.objects.exists()


def test_it_loses_nothing_already_saved_on_a_failed_edit(client, clinician, patient, catalog):
    client.force_login(clinician)
    url = reverse("patients:risk_profile_edit", args=[patient.uuid])
    client.post(url, risk_data("epilepsy"))
    client.post(url, risk_data("diabetes", qtc_ms="5000", ecg_date="2026-01-05"))
    profile = patient.risk_profiles.get()
    assert [c.slug for c in profile.conditions.all()] == ["epilepsy"]


@pytest.mark.parametrize(
    "overrides, field, code",
    [
        ({"ecg_date": "2999-01-01", "qtc_ms": "420"}, "ecg_date", "future_ecg"),
        ({"ecg_date": "2026-01-01"}, "qtc_ms", "ecg_without_qtc"),
        ({"bp_lying_systolic": "120"}, "bp_lying_diastolic", "bp_pair"),
        ({"bp_standing_systolic": "70", "bp_standing_diastolic": "90"}, "bp_standing_systolic", "bp_order"),
    ],
)
def test_it_puts_risk_form_cross_field_errors_on_their_fields(catalog, overrides, field, code):
    form = RiskProfileForm(data=risk_data(**overrides), today=date(2026, 11, 25))
    assert not form.is_valid()
    assert form.errors[field] == [RiskProfileForm.error_messages[code]]


@pytest.mark.parametrize("user_fixture, status", [("clinician", 200), ("colleague", 200), ("outsider", 404)])
def test_it_scopes_risk_pages(request, client, patient, catalog, user_fixture, status):
    client.force_login(request.getfixturevalue(user_fixture))
    RiskProfile.objects.create(patient=patient, version=1, created_by=patient.created_by)
    for url in [
        reverse("patients:risk_profile_edit", args=[patient.uuid]),
        reverse("patients:risk_profile_detail", args=[patient.uuid, 1]),
        patient.get_absolute_url() + "?indication=insomnia",
    ]:
        assert client.get(url).status_code == status, url
    if status == 404:
        assert client.post(reverse("patients:risk_profile_edit", args=[patient.uuid]), risk_data()).status_code == 404
        assert RiskProfile.objects.count() == 1


# --- the safety check on the patient page ----------------------------------------------------


def test_it_shows_sorted_cards_with_sources_on_the_patient_page(client, clinician, patient, catalog):
    client.force_login(clinician)
    client.post(
        reverse("patients:risk_profile_edit", args=[patient.uuid]),
        risk_data("recent-mi", "diabetes", meds=[{"name": "sertraline"}, {"name": "Unknownol"}]),
    )
    response = client.get(patient.get_absolute_url(), {"indication": "peripheral-neuropathic-pain"})
    assessment = response.context["assessment"]
    codes = [c.code for c in assessment.cards]
    assert codes.index("recent-mi") < codes.index("serotonergic-drug") < codes.index("diabetes")
    body = response.content.decode()
    assert "Blocked: 1 critical finding" in body
    positions = [body.index(f'data-code="{code}"') for code in ["recent-mi", "serotonergic-drug", "diabetes"]]
    assert positions == sorted(positions)
    assert 'href="/library/sources/#S3"' in body
    assert 'data-code="medicine-not-checked"' in body
    assert "Not checked: Unknownol" in body
    assert "Anticholinergic burden (ACB): 3" in body
    assert "Baseline ECG" in body  # age 66 with cardiac history


def test_it_works_on_the_patient_page_before_any_risk_profile(client, clinician, patient, catalog):
    client.force_login(clinician)
    response = client.get(patient.get_absolute_url(), {"indication": "insomnia"})
    assert response.status_code == 200
    assert "No risk factors recorded yet" in response.content.decode()
    assert "indication-caution" in [c.code for c in response.context["assessment"].cards]


def test_it_shows_no_check_for_an_unknown_indication(client, clinician, patient, catalog):
    client.force_login(clinician)
    response = client.get(patient.get_absolute_url(), {"indication": "nope"})
    assert response.status_code == 200
    assert "assessment" not in response.context


def test_it_blocks_on_a_qtc_rise_from_the_first_ecg(client, clinician, patient, catalog):
    client.force_login(clinician)
    url = reverse("patients:risk_profile_edit", args=[patient.uuid])
    client.post(url, risk_data(qtc_ms="400", ecg_date="2026-01-05"))
    client.post(url, risk_data(qtc_ms="465", ecg_date="2026-06-05"))
    response = client.get(patient.get_absolute_url(), {"indication": "fibromyalgia"})
    critical = response.context["assessment"].critical_cards
    assert [c.code for c in critical] == ["qtc-critical"]
    assert "from 400 to 465 ms" in critical[0].subjects[0]


# --- medicines as written ------------------------------------------------------------------


def test_it_lets_the_profiles_measured_potassium_reach_the_safety_check(client, clinician, patient, catalog):
    client.force_login(clinician)
    client.post(reverse("patients:risk_profile_edit", args=[patient.uuid]), risk_data(potassium="3.1"))
    response = client.get(patient.get_absolute_url(), {"indication": "peripheral-neuropathic-pain"})
    low = next(c for c in response.context["assessment"].cards if c.code == "low-potassium-magnesium")
    assert low.subjects == ("potassium 3.1 mmol/L",)


def test_it_checks_a_suggested_spelling_once_confirmed_on_the_form(client, clinician, patient, catalog):
    client.force_login(clinician)
    url = reverse("patients:risk_profile_edit", args=[patient.uuid])
    client.post(url, risk_data(meds=[{"name": "paroxetin 20mg"}]))
    page = client.get(patient.get_absolute_url(), {"indication": "peripheral-neuropathic-pain"})
    assert "did you mean Paroxetine?" in page.content.decode()
    assert "medicine-not-checked" in [c.code for c in page.context["assessment"].cards]
    client.post(url, risk_data(meds=[{"name": "paroxetin 20mg", "confirmed_as": "Paroxetine"}]))
    entry = patient.risk_profiles.order_by("-version").first().medications.get()
    assert (entry.name, entry.confirmed_as, entry.drug.slug) == ("paroxetin 20mg", "Paroxetine", "paroxetine")
    page = client.get(patient.get_absolute_url(), {"indication": "peripheral-neuropathic-pain"})
    codes = [c.code for c in page.context["assessment"].cards]
    assert "medicine-not-checked" not in codes and "cyp2d6-reduced" in codes


def test_it_shows_the_suggestion_beside_a_saved_unrecognised_line_when_the_form_reopens(
    client, clinician, patient, catalog
):
    client.force_login(clinician)
    url = reverse("patients:risk_profile_edit", args=[patient.uuid])
    client.post(url, risk_data(meds=[{"name": "sertralin 50mg od"}, {"name": "sertraline 50mg"}]))
    response = client.get(url)
    body = response.content.decode()
    misspelt, known = response.context["formset"].forms[:2]
    assert misspelt.reading.suggestions == ("Sertraline",) and known.reading.checked
    note = re.search(r'<div class="[^"]*medicine-reading" id="id_meds-0-name-reading"[^>]*>(.*?)</div>', body, re.S)
    assert note and "did you mean Sertraline? Confirm it in “Confirmed as”." in note.group(1)
    assert 'aria-describedby="id_meds-0-name-reading"' in body
    reviewed = re.search(r'id="id_meds-1-name-reading" data-state="reviewed">(.*?)</div>', body, re.S)
    assert reviewed and "Reviewed" in reviewed.group(1) and "read as 50 mg a dose" in reviewed.group(1)
    # Once confirmed, the line is reviewed: the suggestion goes, the dose reading stays.
    client.post(url, risk_data(meds=[{"name": "sertralin 50mg od", "confirmed_as": "Sertraline"}]))
    body = client.get(url).content.decode()
    assert "did you mean" not in body and 'data-state="reviewed"' in body and "read as 50 mg a day" in body


def test_it_shows_each_lines_state_and_dose_and_saves_the_clinicians_correction(client, clinician, patient, catalog):
    client.force_login(clinician)
    url = reverse("patients:risk_profile_edit", args=[patient.uuid])
    meds = [{"name": "citalopram 20mg tablets 2 od", "daily_mg": "60"}, {"name": "Zorblatrex 5mg"}]
    client.post(url, risk_data(meds=meds))
    profile = patient.risk_profiles.get()
    assert [m.daily_mg for m in profile.medications.all()] == [Decimal("60"), None]
    body = client.get(url).content.decode()
    assert "entered by the clinician as 60 mg a day" in body and 'data-state="not recognised"' in body
    bad = client.post(url, risk_data(meds=[{"name": "citalopram 20mg", "daily_mg": "-5"}]))
    assert bad.status_code == 200 and bad.context["formset"].forms[0].errors["daily_mg"]
    assert patient.risk_profiles.count() == 1  # nothing saved over the good version


@pytest.mark.parametrize(
    "med, field, code",
    [
        ({"name": "paroxetin", "confirmed_as": "Paroxetino"}, "confirmed_as", "unknown_confirmation"),
        ({"confirmed_as": "Paroxetine"}, "confirmed_as", "confirmation_without_name"),
        ({"name": "sertraline 50mg", "this_course": "on"}, "this_course", "not_amitriptyline"),
    ],
)
def test_it_reports_medicine_confirmations_as_field_errors(client, clinician, patient, catalog, med, field, code):
    client.force_login(clinician)
    response = client.post(reverse("patients:risk_profile_edit", args=[patient.uuid]), risk_data(meds=[med]))
    assert response.status_code == 200
    assert response.context["formset"].forms[0].errors[field] == [MedicationForm.error_messages[code]]
    assert not patient.risk_profiles.exists()


def test_it_offers_no_rapid_cyp2d6_phenotype_on_the_form(client, clinician, patient, catalog):
    client.force_login(clinician)
    response = client.post(reverse("patients:risk_profile_edit", args=[patient.uuid]), risk_data(cyp2d6="rapid"))
    assert "cyp2d6" in response.context["form"].errors
    assert "rapid" in dict(RiskProfileForm(today=date(2026, 12, 1)).fields["cyp2c19"].choices)


# --- "medicines reviewed: none" ----------------------------------------------------------------------


def test_it_saves_medicines_reviewed_none_and_tells_it_from_not_asked(client, clinician, patient, catalog):
    client.force_login(clinician)
    url = reverse("patients:risk_profile_edit", args=[patient.uuid])
    assert client.post(url, risk_data()).status_code == 302  # nothing listed, nothing ticked: not asked
    assert "Not recorded (not asked)" in client.get(patient.get_absolute_url()).content.decode()
    assert client.post(url, risk_data(medicines_none="on")).status_code == 302
    assert [p.medicines_none for p in patient.risk_profiles.order_by("version")] == [False, True]
    page = client.get(patient.get_absolute_url()).content.decode()
    assert "Reviewed: takes none" in page and "Not recorded (not asked)" not in page
    assert client.get(url).context["form"].initial["medicines_none"] is True  # the next version starts from it


def test_it_treats_medicines_reviewed_none_with_a_listed_medicine_as_a_field_error(client, clinician, patient, catalog):
    client.force_login(clinician)
    url = reverse("patients:risk_profile_edit", args=[patient.uuid])
    response = client.post(url, risk_data(meds=[{"name": "sertraline"}], medicines_none="on"))
    assert response.status_code == 200
    assert response.context["form"].errors["medicines_none"] == [RiskProfileForm.error_messages["none_with_medicines"]]
    html = response.content.decode()
    assert 'href="#id_medicines_none"' in html  # the error summary links to the tick
    assert 'aria-describedby="id_medicines_none-help id_medicines_none-error"' in html
    assert not RiskProfile.objects.exists()
    # A medicine row with only dates is its own error, not a medicine: the tick alone is not blamed.
    response = client.post(url, risk_data(meds=[{"started_on": "2026-01-01"}], medicines_none="on"))
    assert "medicines_none" not in response.context["form"].errors


def test_it_gives_checkbox_borders_3_to_1_contrast_on_white():
    """WCAG 1.4.11: the unticked box's border is the only sign of the control."""
    import re
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "static" / "css" / "app.css").read_text()
    colour = re.search(r"\.form-check-input\s*\{[^}]*border-color:\s*#([0-9a-fA-F]{6})", css).group(1)

    def luminance(hex6):
        channels = [int(hex6[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    assert (1.05) / (luminance(colour) + 0.05) >= 3
