"""Importing a patient from a FHIR Bundle: parse, preview, confirm; and the export -> import round trip."""

import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import PLAN_START
from tests.interop.conftest import assert_valid, resources
from tests.interop.docs import doc_fixtures
from trialplanner.audit.models import AuditEvent
from trialplanner.catalog.models import Indication
from trialplanner.interop.fhir_export import plan_bundle
from trialplanner.interop.fhir_import import MAX_BUNDLE_BYTES, BundleError, map_bundle, parse_bundle
from trialplanner.interop.forms import BundleUploadForm
from trialplanner.interop.services import patient_import
from trialplanner.patients import selectors
from trialplanner.patients.models import Patient

# The bundles' fixed dates and the import view's "today" are read against the clock.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_test_now")]
TODAY = date(2026, 12, 1)
URL = "/patients/import/"


@pytest.fixture
def ehr_bundle():
    return doc_fixtures("fhir.md")["import-ehr"]


def test_it_keeps_the_documented_export_example_a_valid_bundle(catalog):
    bundle = doc_fixtures("fhir.md")["export-plan"]
    assert_valid(bundle)
    [request] = resources(bundle, "MedicationRequest")
    assert [d["sequence"] for d in request["dosageInstruction"]] == [1, 2, 3]


def test_it_gives_a_fresh_export_the_documented_shape(profiled_plan):
    documented = doc_fixtures("fhir.md")["export-plan"]
    fresh = plan_bundle(profiled_plan)
    shape = lambda b: sorted({e["resource"]["resourceType"] for e in b["entry"]})  # noqa: E731
    assert shape(fresh) == shape(documented)
    [doc_request], [request] = resources(documented, "MedicationRequest"), resources(fresh, "MedicationRequest")
    assert set(doc_request) - {"note"} == set(request) - {"note"}  # a note only when strengths are mixed
    assert set(doc_request["dosageInstruction"][0]) == set(request["dosageInstruction"][0])


def test_it_maps_the_documented_ehr_bundle_in_the_preview(catalog, ehr_bundle):
    preview = map_bundle(parse_bundle(json.dumps(ehr_bundle)), today=TODAY)
    assert preview.patient == {
        "display_name": "Rose Example",
        "mrn": "H123456",
        "date_of_birth": date(1958, 4, 12),
        "sex": "female",
    }
    assert [c.condition.slug for c in preview.conditions if c.condition] == ["diabetes"]
    assert [c.indication.slug for c in preview.conditions if c.indication] == ["postherpetic-neuralgia"]
    assert [c.text for c in preview.unmapped_conditions if not c.indication] == ["Osteoarthritis of knee"]
    medicines = {m.text: m for m in preview.medicines}
    assert medicines["Sertraline 50 mg tablets"].drug.slug == "sertraline"
    assert (
        medicines["Sertraline 50 mg tablets"].name == "Sertraline 50 mg tablets"
    )  # the line as written: it reads as sertraline
    assert medicines["Phenelzine"].stopped_on == date(2026, 11, 10)
    assert medicines["Glucosamine 500 mg capsules"].drug is None
    assert [o.text for o in preview.amitriptyline] == ["Amitriptyline 10 mg tablets"]
    assert not any("amitriptyline" in m.name.lower() for m in preview.medicines)
    fields = preview.profile_fields()
    assert (fields["qtc_ms"], fields["ecg_date"]) == (446, date(2026, 11, 2))
    assert fields["potassium"] == Decimal("3.4") and fields["sodium"] == 138
    assert "magnesium" not in fields
    assert "Osteoarthritis of knee" in fields["notes"] and "amitriptyline" in fields["notes"].lower()
    assert "2.0 mg/dL (code not in the catalog)" in fields["notes"]
    assert preview.ignored == ["1 Encounter resource: not read"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"resourceType": "Patient"}', "not a FHIR Bundle"),
        ('{"resourceType": "Bundle", "type": "collection", "entry": []}', "exactly one Patient"),
        (
            '{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient", '
            '"gender": 5}}]}',
            "not valid FHIR",
        ),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_it_refuses_what_it_cannot_read(catalog, raw, message):
    with pytest.raises(BundleError, match=message):
        parse_bundle(raw)


def test_it_refuses_a_bundle_over_the_size_limit(catalog):
    with pytest.raises(BundleError, match="larger than"):
        parse_bundle(" " * (MAX_BUNDLE_BYTES + 1))


def test_it_puts_the_error_on_the_field_that_caused_it(catalog, ehr_bundle):
    form = BundleUploadForm({"bundle_text": "{oops"})
    assert not form.is_valid() and "not valid JSON" in form.errors["bundle_text"][0]
    upload = SimpleUploadedFile("b.json", b'{"resourceType": "Observation"}')
    form = BundleUploadForm({}, {"bundle_file": upload})
    assert not form.is_valid() and "not a FHIR Bundle" in form.errors["bundle_file"][0]
    form = BundleUploadForm({})
    assert not form.is_valid() and form.errors["bundle_text"] == [BundleUploadForm.error_messages["none"]]


def test_it_creates_the_patient_and_profile_on_preview_then_confirm(client, clinician, clinic, ehr_bundle):
    client.force_login(clinician)
    upload = SimpleUploadedFile("bundle.json", json.dumps(ehr_bundle).encode(), content_type="application/json")
    response = client.post(URL, {"bundle_file": upload, "preview": "1"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Amitriptyline already ordered in the EHR" in page and "Not recognised" in page
    assert Patient.objects.filter(mrn="H123456").count() == 0
    assert AuditEvent.objects.filter(object_type="fhir_import").exists()
    form = response.context["patient_form"]
    data = {
        "confirm": "1",
        "bundle": response.context["confirm"].initial["bundle"],
        "patient-clinic": str(clinic.uuid),
        "patient-display_name": form.initial["display_name"],
        "patient-mrn": form.initial["mrn"],
        "patient-date_of_birth": form.initial["date_of_birth"].isoformat(),
        "patient-sex": form.initial["sex"],
        "patient-preferred_language": "en",
    }
    response = client.post(URL, data)
    patient = Patient.objects.get(mrn="H123456", clinic=clinic)
    assert response.status_code == 302 and response["Location"] == patient.get_absolute_url()
    profile = selectors.current_profile(patient)
    assert profile.version == 1 and profile.qtc_ms == 446 and profile.potassium == Decimal("3.4")
    assert {c.slug for c in profile.conditions.all()} == {"diabetes"}
    names = {m.name: m for m in profile.medications.all()}
    assert set(names) == {"Sertraline 50 mg tablets", "Phenelzine", "Glucosamine 500 mg capsules"}
    assert names["Phenelzine"].stopped_on == date(2026, 11, 10)
    # The unmatched medicine reaches the engine's not-checked list; amitriptyline is no interacting medicine.
    indication = Indication.objects.get(slug="postherpetic-neuralgia")
    assessment = selectors.assess(patient, profile, indication, PLAN_START)
    assert "Glucosamine 500 mg capsules" in assessment.unrecognised_medications
    assert AuditEvent.objects.filter(object_id=str(profile.pk), detail__startswith="FHIR import").exists()


def test_it_rechecks_the_form_on_confirm_and_keeps_the_preview(client, clinician, clinic, other_clinic, ehr_bundle):
    client.force_login(clinician)
    data = {
        "confirm": "1",
        "bundle": json.dumps(ehr_bundle),
        "patient-clinic": str(other_clinic.uuid),  # not one of the clinician's clinics
        "patient-display_name": "Rose",
        "patient-mrn": "H123456",
        "patient-date_of_birth": "2090-01-01",
        "patient-sex": "female",
        "patient-preferred_language": "en",
    }
    response = client.post(URL, data)
    assert response.status_code == 200
    errors = response.context["patient_form"].errors
    assert "clinic" in errors and "date_of_birth" in errors
    assert not Patient.objects.filter(mrn="H123456").exists()


def test_it_refuses_a_tampered_confirmation_cleanly(client, clinician, clinic):
    client.force_login(clinician)
    response = client.post(URL, {"confirm": "1", "bundle": "{}", "patient-clinic": str(clinic.uuid)})
    assert response.status_code == 400
    assert "not a FHIR Bundle" in response.content.decode()


def test_it_gives_the_same_risk_profile_on_export_then_import_into_an_empty_clinic(
    profiled_plan, outsider, other_clinic
):
    source = profiled_plan.risk_profile
    bundle = parse_bundle(json.dumps(plan_bundle(profiled_plan)))
    preview = map_bundle(bundle, today=TODAY)
    patient = patient_import(
        user=outsider,
        clinic=other_clinic,
        patient_fields={**preview.patient, "display_name": "Imported", "preferred_language": "en"},
        preview=preview,
    )
    copy = selectors.current_profile(patient)
    assert (patient.date_of_birth, patient.sex, patient.mrn) == (
        profiled_plan.patient.date_of_birth,
        profiled_plan.patient.sex,
        profiled_plan.patient.mrn,
    )
    assert {c.slug for c in copy.conditions.all()} == {c.slug for c in source.conditions.all()}

    def meds(profile):
        return sorted((m.name, m.drug_id, m.started_on, m.stopped_on) for m in profile.medications.all())

    assert meds(copy) == meds(source)
    for name in ("qtc_ms", "ecg_date", "potassium", "magnesium", "sodium", "bloods_date"):
        assert getattr(copy, name) == getattr(source, name), name
    # The plan's own amitriptyline order comes back as such, not as a medicine.
    assert [o.resource_type for o in preview.amitriptyline] == ["MedicationRequest"]


def test_it_needs_a_clinic_member_for_the_import_page(client, clinician):
    client.force_login(clinician)
    page = client.get(URL)
    assert page.status_code == 200 and b'enctype="multipart/form-data"' in page.content


# --- dates and text that no form would accept (security review of issues 12 and 14) --------------


def _confirm(client, clinic, text):
    response = client.post(URL, {"bundle_text": text})
    assert response.status_code == 200
    form = response.context["patient_form"]
    data = {
        "confirm": "1",
        "bundle": response.context["confirm"].initial["bundle"],
        "patient-clinic": str(clinic.uuid),
        "patient-display_name": form.initial["display_name"],
        "patient-mrn": form.initial["mrn"],
        "patient-date_of_birth": form.initial["date_of_birth"].isoformat(),
        "patient-sex": form.initial["sex"],
        "patient-preferred_language": "en",
    }
    return client.post(URL, data)


def test_it_enters_a_medicine_stopped_in_9999_as_current_and_the_pages_still_open(
    client, clinician, clinic, ehr_bundle, indication
):
    # Issue 12's first 500 again, through the import: a last dose in 9999 was saved as written, then
    # the patient page with an indication and the new-plan page failed in the engine.
    text = json.dumps(ehr_bundle).replace("2026-11-10", "9999-12-31")
    client.force_login(clinician)
    assert _confirm(client, clinic, text).status_code == 302
    patient = Patient.objects.get(mrn="H123456", clinic=clinic)
    phenelzine = selectors.current_profile(patient).medications.get(name="Phenelzine")
    assert phenelzine.stopped_on is None  # current, so its MAOI interaction is checked
    new_plan = f"/patients/{patient.uuid}/plans/new/?indication={indication.slug}"
    for page in [f"{patient.get_absolute_url()}?indication={indication.slug}", new_plan]:
        assert client.get(page).status_code == 200, page


@pytest.mark.parametrize(
    ("old", "new", "note"),
    [
        ("2026-11-10", "2999-12-31", "stop date is in the future: entered as current so its interactions are checked"),
        ("2026-11-10", "0001-01-01", "stop date before 1900: entered as current so its interactions are checked"),
    ],
)
def test_it_does_not_import_a_stop_date_outside_the_forms_bounds(catalog, ehr_bundle, old, new, note):
    preview = map_bundle(parse_bundle(json.dumps(ehr_bundle).replace(old, new)), today=TODAY)
    phenelzine = next(m for m in preview.medicines if m.name == "Phenelzine")
    assert phenelzine.stopped_on is None and phenelzine.note == note


def test_it_does_not_use_results_dated_before_1900(catalog, ehr_bundle):
    text = json.dumps(ehr_bundle)
    dated = {o["resource"]["effectiveDateTime"] for o in ehr_bundle["entry"] if "effectiveDateTime" in o["resource"]}
    for day in dated:
        text = text.replace(day, "0001-01-01")
    preview = map_bundle(parse_bundle(text), today=TODAY)
    assert preview.observations and not any(o.used for o in preview.observations)
    assert "ecg_date" not in preview.profile_fields()
    assert {o.note for o in preview.observations if o.key} <= {"dated before 1900"}


def test_it_makes_imported_text_one_line(catalog, ehr_bundle):
    text = json.dumps(ehr_bundle).replace("Glucosamine", "Gluco\\r\\nsamine")
    preview = map_bundle(parse_bundle(text), today=TODAY)
    assert any(m.name.startswith("Gluco  samine") for m in preview.medicines)


@pytest.mark.parametrize(
    "old, new, where",
    [
        ("Rose", "Ro\\u2066se", "name[0]"),
        ("Glucosamine", "Gluco\\u202esamine", "medicationCodeableConcept.text"),
        ('"mmol/L"', '"mmol/L\\u0000"', "valueQuantity"),
        ('"active"', '"act\\u0000ive"', "clinicalStatus"),
        ("Glucosamine", "Gluco\\ud800samine", "medicationCodeableConcept.text"),
    ],
)
def test_it_refuses_a_bundle_with_bidi_control_or_nul_characters_naming_where(catalog, ehr_bundle, old, new, where):
    """The forms' text rules: a hidden text-direction or NUL character is refused, never stored or shown."""
    text = json.dumps(ehr_bundle)
    assert old in text
    with pytest.raises(BundleError) as refused:
        parse_bundle(text.replace(old, new, 1))
    assert where in str(refused.value) and "entry[" in str(refused.value)


@pytest.mark.parametrize("depth", [40, 1000, 100_000])
def test_it_shows_a_deeply_nested_bundle_as_a_message_not_a_500(client, clinician, depth):
    text = '{"resourceType": "Bundle", "entry": ' + "[" * depth + "]" * depth + "}"
    client.force_login(clinician)
    response = client.post(URL, {"bundle_text": text})
    assert response.status_code == 200
    assert "nested more than 32 levels" in response.context["upload"].errors["bundle_text"][0]
    response = client.post(URL, {"confirm": "1", "bundle": text})
    assert response.status_code == 400 and "nested" in response.context["import_error"]


def test_it_gives_the_same_assessment_after_the_round_trip(profiled_plan, outsider, other_clinic):
    """Same profile in, same cards out: the engine sees no difference between the original and the import."""
    preview = map_bundle(parse_bundle(json.dumps(plan_bundle(profiled_plan))), today=TODAY)
    patient = patient_import(
        user=outsider,
        clinic=other_clinic,
        patient_fields={**preview.patient, "display_name": "Imported", "preferred_language": "en"},
        preview=preview,
    )
    indication = profiled_plan.indication

    def cards(patient_, profile):
        assessment = selectors.assess(patient_, profile, indication, PLAN_START)
        return sorted((c.code, c.indicator.value) for c in assessment.cards), sorted(
            assessment.unrecognised_medications
        )

    original = cards(profiled_plan.patient, profiled_plan.risk_profile)
    assert original[0], "the fixture must raise cards for this comparison to mean anything"
    assert cards(patient, selectors.current_profile(patient)) == original


def _bundle_with(*resources_):
    entries = [
        {
            "fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001",
            "resource": {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1960-01-01"},
        }
    ]
    for n, resource in enumerate(resources_, start=2):
        entries.append({"fullUrl": f"urn:uuid:00000000-0000-4000-8000-{n:012d}", "resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}  # fmt: skip


def _statement(concept, kind="MedicationStatement"):
    subject = {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"}
    body = {"resourceType": kind, "status": "active", "subject": subject}
    if kind == "MedicationRequest":
        body["intent"] = "order"
    else:
        body["effectiveDateTime"] = "2026-10-01"
    body["medicationCodeableConcept"] = concept
    return body


RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
AMITRIPTYLINE_SHAPES = {
    "rxnorm-product-code-only": {"coding": [{"system": RXNORM, "code": "856834"}]},
    "rxnorm-ingredient-code-only": {"coding": [{"system": RXNORM, "code": "704"}]},
    "dmd-code-only": {"coding": [{"system": "https://dmd.nhs.uk", "code": "321745007"}]},
    "oral-solution-dmd": {"coding": [{"system": "https://dmd.nhs.uk", "code": "29686711000001103"}]},
    "brand-name": {"text": "Elavil 25mg"},
    "upper-case-text": {"text": "AMITRIPTYLINE HYDROCHLORIDE 10 MG TAB"},
    "display-only": {"coding": [{"system": "urn:local", "code": "X1", "display": "Amitriptyline 50 mg tablets"}]},
}  # fmt: skip


@pytest.mark.parametrize("kind", ["MedicationStatement", "MedicationRequest"])
@pytest.mark.parametrize("shape", sorted(AMITRIPTYLINE_SHAPES))
def test_it_never_treats_incoming_amitriptyline_as_an_interacting_medicine(catalog, shape, kind):
    nortriptyline = _statement({"text": "Nortriptyline 10 mg"}, kind)
    bundle = _bundle_with(_statement(AMITRIPTYLINE_SHAPES[shape], kind), nortriptyline)
    preview = map_bundle(parse_bundle(json.dumps(bundle)), today=TODAY)
    assert len(preview.amitriptyline) == 1 and preview.amitriptyline[0].resource_type == kind
    # The other tricyclic is still entered and checked: only amitriptyline itself is set aside.
    assert [(m.drug.slug if m.drug else None) for m in preview.medicines] == ["nortriptyline"]
    assert "Incoming amitriptyline order" in preview.profile_fields()["notes"]


def test_it_sets_aside_amitriptyline_named_through_a_medication_resource(catalog):
    medication = {
        "resourceType": "Medication",
        "id": "med-1",
        "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "856783"}]},
    }
    request = _statement({"text": "x"}, "MedicationRequest")
    del request["medicationCodeableConcept"]
    request["medicationReference"] = {"reference": "Medication/med-1"}
    preview = map_bundle(parse_bundle(json.dumps(_bundle_with(medication, request))), today=TODAY)
    assert len(preview.amitriptyline) == 1 and preview.medicines == []  # fmt: skip


def test_it_refuses_json_nested_past_the_limit(catalog):
    from trialplanner.interop.fhir_import import MAX_BUNDLE_DEPTH as MAX_DEPTH

    with pytest.raises(BundleError, match="nested more than"):
        parse_bundle("[" * 100_000 + "]" * 100_000)  # past Python's own parser depth: no RecursionError
    deep = {"resourceType": "Bundle", "type": "collection", "entry": []}
    inner = deep
    for _ in range(MAX_DEPTH):
        inner["x"] = inner = {}
    with pytest.raises(BundleError, match="nested more than"):
        parse_bundle(json.dumps(deep))
    # Brackets inside strings do not count.
    with pytest.raises(BundleError, match="exactly one Patient"):
        parse_bundle(
            json.dumps(
                {"resourceType": "Bundle", "type": "collection", "identifier": {"value": '[{\\"' * 200}, "entry": []}
            )
        )
    form = BundleUploadForm({"bundle_text": "[" * 5000})
    assert not form.is_valid() and "nested more than" in form.errors["bundle_text"][0]


def test_it_shows_an_oversized_upload_as_an_error_on_the_file_field(client, clinician):
    client.force_login(clinician)
    upload = SimpleUploadedFile("big.json", b" " * (MAX_BUNDLE_BYTES + 1), content_type="application/json")
    response = client.post(URL, {"bundle_file": upload, "preview": "1"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["bundle_file"] == [BundleUploadForm.error_messages["too_big"]]
    pasted = client.post(URL, {"bundle_text": "x" * (MAX_BUNDLE_BYTES + 1), "preview": "1"})
    assert pasted.status_code == 200 and "bundle_text" in pasted.context["form"].errors
    assert not Patient.objects.exists()
