"""A saved plan as a FHIR R4 Bundle, validated with fhir.resources (R4B) and fhirpathpy invariants."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.interop.conftest import assert_valid, resources
from trialplanner.audit.models import AuditEvent
from trialplanner.interop import systems as s
from trialplanner.interop.fhir_export import plan_bundle
from trialplanner.interop.fhir_validation import invariant_errors, structure_errors
from trialplanner.ops.demo import seed_demo
from trialplanner.plans.models import Plan

pytestmark = pytest.mark.django_db


def dosed_steps(plan):
    return [step for step in plan.steps.order_by("number") if step.dose_mg > 0]


def only_10_mg_tablets(plan):
    for step in plan.steps.all():
        step.tablets = [{"strength_mg": "10", "count": int(step.dose_mg / 10)}] if step.dose_mg else []
        step.liquid_ml, step.liquid_label = None, ""
        step.save()


def test_it_writes_one_medication_request_with_a_dosage_per_step(active):
    only_10_mg_tablets(active)
    bundle = plan_bundle(active)
    assert_valid(bundle)
    [request] = resources(bundle, "MedicationRequest")
    steps = dosed_steps(active)
    dosages = request["dosageInstruction"]
    assert len(steps) > 2 and len(dosages) == len(steps)
    for n, (dosage, step) in enumerate(zip(dosages, steps, strict=True), start=1):
        assert dosage["sequence"] == n
        repeat = dosage["timing"]["repeat"]
        assert repeat["when"] == ["HS"] and "timeOfDay" not in repeat
        assert repeat["boundsPeriod"] == {"start": step.start_date.isoformat(), "end": step.end_date.isoformat()}
        dose = dosage["doseAndRate"][0]
        assert dose["type"]["coding"][0]["code"] == "ordered"
        assert Decimal(str(dose["doseQuantity"]["value"])) == step.dose_mg
        assert dose["doseQuantity"]["code"] == "mg"
        assert "tablet" in dosage["text"]
    # One strength throughout: the product itself is coded, and the supply is in tablets.
    codes = {c["system"]: c["code"] for c in request["medicationCodeableConcept"]["coding"]}
    assert codes == {s.RXNORM: "856783", s.DMD: "321745007"}
    total = sum(t["count"] * step.nights for step in steps for t in step.tablets)
    assert request["dispenseRequest"]["quantity"] == {"value": total, "unit": "tablet"}
    assert request["reasonCode"][0]["coding"][0] == {
        "system": s.SNOMED,
        "code": "247398009",
        "display": active.indication.name,
    }
    assert request["status"] == "active" and request["courseOfTherapyType"]["coding"][0]["code"] == "continuous"


def test_it_turns_follow_ups_into_service_requests_tied_by_the_care_plan(active):
    bundle = plan_bundle(active)
    services = resources(bundle, "ServiceRequest")
    followups = list(active.followups.order_by("due_date", "id"))
    assert [sr["occurrenceDateTime"] for sr in services] == [f.due_date.isoformat() for f in followups]
    assert {sr["intent"] for sr in services} == {"plan"}
    [care_plan] = resources(bundle, "CarePlan")
    urls = {e["resource"]["id"]: e["fullUrl"] for e in bundle["entry"]}
    activity = [a["reference"]["reference"] for a in care_plan["activity"]]
    expected = [urls[r["id"]] for r in resources(bundle, "MedicationRequest") + services]
    assert activity == expected
    assert all("detail" not in a for a in care_plan["activity"])


def test_it_gives_the_patient_only_the_clinic_identifiers(active):
    [patient] = resources(plan_bundle(active), "Patient")
    assert "name" not in patient and "telecom" not in patient and "address" not in patient
    assert patient["identifier"][0] == {
        "system": s.mrn_system(active.patient.clinic),
        "value": "MRN-1",
        "type": {"text": "MRN"},
    }
    assert patient["birthDate"] == "1991-03-01" and patient["gender"] == "female"


def test_it_sends_the_risk_profile_out_as_conditions_statements_and_observations(profiled_plan):
    bundle = plan_bundle(profiled_plan)
    assert_valid(bundle)
    conditions = {c["code"]["coding"][-1]["code"] for c in resources(bundle, "Condition")}
    assert conditions == {"diabetes", "epilepsy"}
    statements = {m["medicationCodeableConcept"]["text"]: m for m in resources(bundle, "MedicationStatement")}
    assert statements["Sertraline"]["medicationCodeableConcept"]["coding"][0] == {
        "system": s.RXNORM,
        "code": "36437",
        "display": "Sertraline",
    }
    assert statements["Phenelzine"]["status"] == "stopped"
    assert statements["Phenelzine"]["effectivePeriod"] == {"start": "2025-03-01", "end": "2026-10-01"}
    assert "coding" not in statements["Herbal sleep tea"]["medicationCodeableConcept"]
    observations = {o["code"]["coding"][0]["code"]: o for o in resources(bundle, "Observation")}
    assert set(observations) == {"8636-3", "2823-3", "2601-3", "2951-2"}
    assert observations["8636-3"]["valueQuantity"]["value"] == 432
    assert observations["8636-3"]["effectiveDateTime"] == "2026-11-20"
    assert observations["2601-3"]["valueQuantity"] == {
        "value": 0.85,
        "unit": "mmol/L",
        "system": s.UCUM,
        "code": "mmol/L",
    }


def test_it_orders_mixed_strengths_at_ingredient_level(active):
    only_10_mg_tablets(active)
    step = active.steps.order_by("-number").first()
    step.tablets = [{"strength_mg": "25", "count": 1}, {"strength_mg": "10", "count": 1}]
    step.dose_mg = Decimal(35)
    step.save()
    bundle = plan_bundle(active)
    assert_valid(bundle)
    [request] = resources(bundle, "MedicationRequest")
    assert request["medicationCodeableConcept"]["coding"] == [
        {"system": s.RXNORM, "code": "704", "display": "Amitriptyline"}
    ]
    assert "quantity" not in request["dispenseRequest"]
    assert "25 mg tablets" in request["note"][0]["text"]


def test_it_links_one_request_per_step_in_the_per_step_layout(active):
    only_10_mg_tablets(active)
    bundle = plan_bundle(active, per_step=True)
    assert_valid(bundle)
    requests = resources(bundle, "MedicationRequest")
    steps = dosed_steps(active)
    assert len(requests) == len(steps)
    assert len({json.dumps(r["groupIdentifier"]) for r in requests}) == 1
    urls = {e["resource"]["id"]: e["fullUrl"] for e in bundle["entry"]}
    assert "priorPrescription" not in requests[0]
    for before, after in zip(requests, requests[1:], strict=False):
        assert after["priorPrescription"]["reference"] == urls[before["id"]]
    for request, step in zip(requests, steps, strict=True):
        [dosage] = request["dosageInstruction"]
        assert dosage["sequence"] == 1
        assert dosage["timing"]["repeat"]["boundsPeriod"]["start"] == step.start_date.isoformat()
        assert request["dispenseRequest"]["quantity"]["value"] == sum(t["count"] for t in step.tablets) * step.nights


def test_it_catches_a_broken_bundle_in_the_checks(active):
    bundle = plan_bundle(active)
    [request] = resources(bundle, "MedicationRequest")
    request["dosageInstruction"][0]["timing"]["repeat"]["timeOfDay"] = ["22:00:00"]
    request["dosageInstruction"][1]["sequence"] = 7
    request["subject"]["reference"] = "urn:uuid:00000000-0000-0000-0000-000000000000"
    errors = invariant_errors(bundle)
    assert any("tim-10" in e for e in errors)
    assert any("sequences" in e for e in errors)
    assert any("does not resolve" in e for e in errors)
    request["dosageInstruction"][0]["sequence"] = "first"
    assert structure_errors(bundle)


def test_it_exports_valid_bundles_for_every_demo_plan(catalog):
    seed_demo()
    plans = list(Plan.objects.all())
    # Every demo plan: titrations, revised versions, a stopped version and its taper.
    assert len(plans) == 12 and {p.status for p in plans} == {"active", "revised", "stopped"}
    assert {p.kind for p in plans} == {"titration", "taper"}
    for plan in plans:
        for per_step in (False, True):
            assert_valid(plan_bundle(plan, per_step=per_step))


def test_it_keeps_steps_in_order_in_a_taper_export(active, clinician):
    from trialplanner.plans import services as plan_services

    taper = plan_services.plan_stop(
        plan=active,
        user=clinician,
        lock_version=active.lock_version,
        reason="No benefit",
        stop_date=active.start_date + timedelta(days=30),
    )
    assert taper is not None
    assert_valid(plan_bundle(taper))


# --- the view and the command ---------------------------------------------------------------


def test_it_serves_the_bundle_to_the_clinic_and_audits(client, clinician, active):
    client.force_login(clinician)
    response = client.get(reverse("interop:plan_fhir", args=[active.uuid]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    assert_valid(json.loads(response.content))
    assert AuditEvent.objects.filter(object_id=str(active.uuid), detail__startswith="FHIR export").exists()


def test_it_gives_a_colleague_the_per_step_layout_as_a_download(client, colleague, active):
    client.force_login(colleague)
    response = client.get(reverse("interop:plan_fhir", args=[active.uuid]), {"layout": "per-step", "download": "1"})
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert len(resources(json.loads(response.content), "MedicationRequest")) == len(dosed_steps(active))


def test_it_gives_an_outsider_404(client, outsider, active):
    client.force_login(outsider)
    assert client.get(reverse("interop:plan_fhir", args=[active.uuid])).status_code == 404


def test_it_prints_the_bundle_from_the_command(capsys, active):
    call_command("export_fhir", str(active.uuid), "--per-step")
    bundle = json.loads(capsys.readouterr().out)
    assert_valid(bundle)
    assert len(resources(bundle, "MedicationRequest")) == len(dosed_steps(active))


def test_it_names_a_bad_uuid_in_the_command(catalog):
    with pytest.raises(CommandError, match="not a UUID"):
        call_command("export_fhir", "nope")
    with pytest.raises(CommandError, match="No plan"):
        call_command("export_fhir", "00000000-0000-0000-0000-000000000000")
