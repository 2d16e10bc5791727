"""CDS Hooks 2.0 contract tests: the documented example requests, JWT rules, prefetch, feedback, registry."""

import copy
import json
import uuid
from datetime import timedelta

import jsonschema
import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import ec
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B.medicationrequest import MedicationRequest

from tests.interop.conftest import EC_KEY, ISSUER, MRN_SYSTEM, RSA_KEY, public_jwk
from tests.interop.docs import doc_fixtures
from trialplanner.audit.models import AuditEvent
from trialplanner.interop.fhir_validation import invariant_errors
from trialplanner.interop.models import CdsCard, CdsClient, CdsFeedback

pytestmark = pytest.mark.django_db
ORDER_SELECT = "/cds-services/amitriptyline-order-select"
ORDER_SIGN = "/cds-services/amitriptyline-order-sign"
PATIENT_VIEW = "/cds-services/amitriptyline-follow-up"

OTHER_KEY = ec.generate_private_key(ec.SECP384R1())


@pytest.fixture
def docs():
    return doc_fixtures("cds-hooks.md")


def token(path, *, key=EC_KEY, kid="ec-1", alg="ES384", iss=ISSUER, aud=None, expires_in=120, jti=None):
    now = timezone.now()
    claims = {
        "iss": iss,
        "sub": "ehr-client",
        "aud": aud or f"http://testserver{path}",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=expires_in)).timestamp()),
        "jti": jti or str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def call(client, path, body=None, *, bearer=None, **token_kwargs):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {bearer or token(path, **token_kwargs)}"}
    if body is None:
        return client.get(path, **auth)
    return client.post(path, json.dumps(body), content_type="application/json", **auth)


def assert_schema(response_json, docs):
    jsonschema.validate(response_json, docs["cds-response-schema"], format_checker=jsonschema.FormatChecker())


# --- discovery and the order hooks ---------------------------------------------------------------


def test_it_lists_the_documented_services_in_discovery(client, ehr, docs):
    response = call(client, "/cds-services")
    assert response.status_code == 200
    assert response.json() == docs["discovery-response"]


def test_it_returns_the_engine_cards_and_a_titration_suggestion_on_order_select(client, ehr, docs):
    response = call(client, ORDER_SELECT, docs["order-select-request"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert_schema(body, docs)
    cards = {CdsCard.objects.get(uuid=c["uuid"]).code: c for c in body["cards"]}
    serotonergic = cards["serotonergic-drug"]
    assert serotonergic["indicator"] == "warning" and "Sertraline" in serotonergic["detail"]
    assert serotonergic["source"]["url"].startswith("https://")
    assert {r["code"] for r in serotonergic["overrideReasons"]} >= {"monitoring-arranged"}
    assert "Glucosamine 500 mg capsules" in cards["medicines-not-checked"]["summary"]
    assert "diabetes" in cards
    [suggestion] = cards["low-dose-titration"]["suggestions"]
    [action] = suggestion["actions"]
    assert action["type"] == "update"
    request = action["resource"]
    assert request["id"] == "draft-1" and request["subject"] == {"reference": "Patient/pat-1001"}
    MedicationRequest.model_validate(request)
    assert invariant_errors({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": request}]}) == []
    doses = [d["doseAndRate"][0]["doseQuantity"]["value"] for d in request["dosageInstruction"]]
    assert len(doses) > 1 and doses == sorted(doses)
    assert request["reasonCode"][0]["coding"][0]["code"] == "2177002"
    assert AuditEvent.objects.filter(object_type="cds_call", detail__startswith="amitriptyline-order-select").exists()


def test_it_returns_the_cards_without_a_suggestion_on_order_sign(client, ehr, docs):
    response = call(client, ORDER_SIGN, docs["order-sign-request"])
    assert response.status_code == 200
    body = response.json()
    assert_schema(body, docs)
    assert body["cards"] and not any("suggestions" in c for c in body["cards"])


def test_it_returns_412_for_missing_required_prefetch(client, ehr, docs):
    response = call(client, ORDER_SELECT, docs["order-select-missing-prefetch"])
    assert response.status_code == 412
    assert "conditions" in response.json()["error"]


def test_it_gives_orders_for_other_medicines_no_cards(client, ehr, docs):
    body = copy.deepcopy(docs["order-select-request"])
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["medicationCodeableConcept"] = {"text": "Paracetamol 500 mg tablets"}
    response = call(client, ORDER_SELECT, body)
    assert response.status_code == 200 and response.json() == {"cards": []}


def test_it_gives_an_order_without_a_known_reason_one_info_card(client, ehr, docs):
    body = copy.deepcopy(docs["order-select-request"])
    del body["context"]["draftOrders"]["entry"][0]["resource"]["reasonCode"]
    cards = call(client, ORDER_SELECT, body).json()["cards"]
    assert [c["indicator"] for c in cards] == ["info"]
    assert "reason" in cards[0]["summary"]


def test_it_returns_400_for_a_hook_mismatch_or_bad_json(client, ehr, docs):
    body = copy.deepcopy(docs["order-select-request"])
    body["hook"] = "patient-view"
    assert call(client, ORDER_SELECT, body).status_code == 400
    bearer = token(ORDER_SELECT)
    response = client.post(ORDER_SELECT, "{no", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {bearer}")
    assert response.status_code == 400


# --- who may call -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"key": OTHER_KEY}, id="bad-signature"),
        pytest.param({"aud": "http://testserver/cds-services/amitriptyline-order-sign"}, id="wrong-audience"),
        pytest.param({"expires_in": -120}, id="expired"),
        pytest.param({"expires_in": 3600}, id="lives-too-long"),
        pytest.param({"kid": "nope"}, id="unknown-key"),
        pytest.param({"iss": "https://evil.example.org"}, id="unknown-issuer"),
        pytest.param({"key": "shared-secret", "alg": "HS256"}, id="hmac"),
    ],
)
def test_it_gives_bad_tokens_401(client, ehr, docs, kwargs):
    response = call(client, ORDER_SELECT, docs["order-select-request"], **kwargs)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not CdsCard.objects.exists()


def test_it_gives_a_replayed_jti_401(client, ehr, docs):
    bearer = token(ORDER_SELECT)
    assert call(client, ORDER_SELECT, docs["order-select-request"], bearer=bearer).status_code == 200
    assert call(client, ORDER_SELECT, docs["order-select-request"], bearer=bearer).status_code == 401


def test_it_accepts_an_rsa_key_and_refuses_a_request_with_no_token(client, ehr, docs):
    ok = call(client, ORDER_SIGN, docs["order-sign-request"], key=RSA_KEY, kid="rsa-1", alg="RS384")
    assert ok.status_code == 200
    assert client.post(ORDER_SIGN, "{}", content_type="application/json").status_code == 401
    assert client.get("/cds-services").status_code == 401


def test_it_gives_a_deactivated_client_401(client, ehr, docs):
    ehr.is_active = False
    ehr.save()
    assert call(client, "/cds-services").status_code == 401


# --- patient-view -------------------------------------------------------------------------------


def _patient_view(docs, value, system=MRN_SYSTEM):
    body = copy.deepcopy(docs["patient-view-request"])
    body["prefetch"]["patient"]["identifier"] = [{"system": system, "value": value}]
    return body


def test_it_reports_an_overdue_follow_up_on_patient_view(client, ehr, docs, active):
    first = active.followups.order_by("due_date").first()
    with time_machine.travel(first.due_date + timedelta(days=3, hours=12), tick=False):
        response = call(client, PATIENT_VIEW, _patient_view(docs, active.patient.mrn))
    assert response.status_code == 200
    body = response.json()
    assert_schema(body, docs)
    [card] = body["cards"]
    assert card["indicator"] == "warning" and "overdue" in card["summary"]
    assert card["links"][0]["url"].endswith(reverse("plans:plan_detail", args=[active.uuid]))
    event = AuditEvent.objects.filter(object_type="cds_call", patient=active.patient)
    assert event.exists()


def test_it_returns_no_patient_data_on_patient_view_of_another_clinics_client(client, ehr, docs, active, other_clinic):
    # The same EHR issuer registered for another clinic: the MRN of this clinic's patient matches nobody there.
    ehr.clinic = other_clinic
    ehr.save()
    first = active.followups.order_by("due_date").first()
    with time_machine.travel(first.due_date + timedelta(days=3, hours=12), tick=False):
        elsewhere = call(client, PATIENT_VIEW, _patient_view(docs, active.patient.mrn))
    assert elsewhere.status_code == 200 and elsewhere.json() == {"cards": []}
    assert not AuditEvent.objects.filter(object_type="cds_call", patient=active.patient).exists()


def test_it_ignores_identifiers_of_other_systems_on_patient_view(client, ehr, docs, active):
    first = active.followups.order_by("due_date").first()
    with time_machine.travel(first.due_date + timedelta(days=3, hours=12), tick=False):
        body = call(client, PATIENT_VIEW, _patient_view(docs, active.patient.mrn, system="urn:other")).json()
    assert body == {"cards": []}


def test_it_needs_the_patient_prefetched_for_patient_view(client, ehr, docs):
    body = copy.deepcopy(docs["patient-view-request"])
    del body["prefetch"]
    assert call(client, PATIENT_VIEW, body).status_code == 412


# --- feedback and the registry ------------------------------------------------------------------


# The documented feedback is timestamped 1 Dec 2026: feedback is taken from the last year, not the future.
@pytest.mark.usefixtures("at_test_now")
def test_it_records_feedback_and_shows_it_to_the_clinic_lead(client, ehr, docs, lead, clinician, clinic):
    cards = call(client, ORDER_SELECT, docs["order-select-request"]).json()["cards"]
    warning = next(c for c in cards if c["indicator"] == "warning")
    feedback = copy.deepcopy(docs["feedback-request"])
    feedback["feedback"][0]["card"] = warning["uuid"]
    response = call(client, ORDER_SELECT + "/feedback", feedback)
    assert response.status_code == 200
    row = CdsFeedback.objects.get()
    assert (row.outcome, row.override_code, row.card.code) == ("overridden", "benefit-outweighs-risk", row.card.code)
    assert row.user_comment == "Low dose, ECG booked"
    assert AuditEvent.objects.filter(object_type="cds_feedback").exists()
    page = reverse("interop:cds_clients", args=[clinic.uuid])
    client.force_login(lead)
    content = client.get(page).content.decode()
    assert "Low dose, ECG booked" in content and warning["summary"][:40] in content
    client.force_login(clinician)
    assert client.get(page).status_code == 404


@pytest.mark.usefixtures("at_test_now")
def test_it_returns_400_for_feedback_on_an_unknown_card(client, ehr, docs):
    feedback = copy.deepcopy(docs["feedback-request"])
    unknown = str(uuid.uuid4())
    feedback["feedback"][0]["card"] = unknown
    response = call(client, ORDER_SELECT + "/feedback", feedback)
    assert response.status_code == 400 and response.json() == {"error": f"unknown card {unknown}"}
    assert not CdsFeedback.objects.exists()


def test_it_lets_a_lead_register_a_client_with_public_keys_only(client, lead, clinic):
    client.force_login(lead)
    page = reverse("interop:cds_clients", args=[clinic.uuid])
    private = {**public_jwk(EC_KEY, "k1"), "d": "secret"}
    data = {"name": "EHR", "issuer": ISSUER, "jwks": json.dumps({"keys": [private]}), "patient_identifier_system": "x"}
    response = client.post(page, data)
    assert response.status_code == 200 and "private" in response.context["form"].errors["jwks"][0]
    data["jwks"] = json.dumps({"keys": [public_jwk(EC_KEY, "k1")]})
    response = client.post(page, data)
    assert response.status_code == 302
    registered = CdsClient.objects.get(issuer=ISSUER)
    assert registered.clinic == clinic and registered.created_by == lead
    assert call(client, "/cds-services", kid="k1").status_code == 200
    deactivate = reverse("interop:cds_client_deactivate", args=[clinic.uuid, registered.uuid])
    assert client.post(deactivate).status_code == 302
    assert call(client, "/cds-services", kid="k1").status_code == 401


def test_it_does_not_let_an_outsider_lead_see_the_registry(client, outsider, clinic):
    client.force_login(outsider)
    assert client.get(reverse("interop:cds_clients", args=[clinic.uuid])).status_code == 404


# --- hostile JSON (security review of issues 12 and 14) ------------------------------------------


def _segment(text):
    import base64

    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("depth", [20, 3000])
def test_it_refuses_a_deeply_nested_token_with_401_not_a_500(client, ehr, docs, depth):
    # PyJWT parses header and claims with the json module, which raised RecursionError (a 500,
    # before any signature check, for anyone on the network) at about 1,000 levels.
    nested = _segment("[" * depth + "]" * depth)
    for path, body in [(ORDER_SELECT, docs["order-select-request"]), ("/cds-services", None)]:
        response = call(client, path, body, bearer=f"{nested}.{nested}.c2ln")
        assert response.status_code == 401, path
    assert call(client, "/cds-services", bearer="a" * 9000 + ".b.c").status_code == 401


def test_it_refuses_a_deeply_nested_body_with_400(client, ehr):
    bearer = token(ORDER_SELECT)
    body = '{"hook": ' + "[" * 3000 + "]" * 3000 + "}"
    response = client.post(ORDER_SELECT, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {bearer}")
    assert response.status_code == 400 and "nested" in response.json()["error"]


def test_it_refuses_deep_json_and_control_characters_in_a_client_registration(client, lead, clinic):
    client.force_login(lead)
    page = reverse("interop:cds_clients", args=[clinic.uuid])
    data = {"name": "EHR\u202e", "issuer": ISSUER, "jwks": '{"keys": ' + "[" * 3000 + "]" * 3000 + "}",
            "patient_identifier_system": "x\r\ny"}  # fmt: skip
    response = client.post(page, data)
    errors = response.context["form"].errors
    assert response.status_code == 200 and set(errors) == {"name", "jwks", "patient_identifier_system"}
    assert errors["jwks"] == [response.context["form"].error_messages["not_json"]]
    assert not CdsClient.objects.exists()


# --- attacks on the token, the documented responses, summary length ------------------------------


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(path, **changes):
    now = int(timezone.now().timestamp())
    claims = {"iss": ISSUER, "sub": "ehr-client", "aud": f"http://testserver{path}", "iat": now, "exp": now + 120,
              "jti": str(uuid.uuid4())}  # fmt: skip
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _unsigned(header, claims):
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())


def test_it_refuses_an_unsigned_alg_none_token(client, ehr, docs):
    for alg in ("none", "None", "NONE"):
        bearer = _unsigned({"alg": alg, "typ": "JWT", "kid": "ec-1"}, _claims(ORDER_SELECT)) + "."
        assert call(client, ORDER_SELECT, docs["order-select-request"], bearer=bearer).status_code == 401, alg
    assert not CdsCard.objects.exists()


def test_it_refuses_hs256_signed_with_the_registered_public_key(client, ehr, docs):
    """Algorithm confusion: an HMAC keyed with the public key (PEM or JWK JSON) the attacker can read."""
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    pem = EC_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    secrets = [pem, json.dumps(public_jwk(EC_KEY, "ec-1")).encode()]
    for secret in secrets:
        signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": "ec-1"}, _claims(ORDER_SELECT))
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        bearer = signing_input + "." + _b64(signature)
        assert call(client, ORDER_SELECT, docs["order-select-request"], bearer=bearer).status_code == 401
    assert not CdsCard.objects.exists()


def test_it_ignores_a_key_embedded_in_the_token_header(client, ehr, docs):
    """A `jwk` (or `jku`) header naming the attacker's own key is never trusted; only registered keys are."""
    attacker = public_jwk(OTHER_KEY, "ec-1")
    bearer = jwt.encode(
        _claims(ORDER_SELECT),
        OTHER_KEY,
        algorithm="ES384",
        headers={"kid": "ec-1", "jwk": attacker, "jku": "https://evil.example.org/jwks"},
    )
    assert call(client, ORDER_SELECT, docs["order-select-request"], bearer=bearer).status_code == 401


@pytest.mark.parametrize("missing", ["jti", "exp", "aud", "iss", "iat", "sub"])
def test_it_gives_a_token_without_a_required_claim_401(client, ehr, docs, missing):
    bearer = jwt.encode(_claims(ORDER_SELECT, **{missing: None}), EC_KEY, algorithm="ES384", headers={"kid": "ec-1"})
    assert call(client, ORDER_SELECT, docs["order-select-request"], bearer=bearer).status_code == 401


def test_it_does_not_let_a_key_registered_for_another_issuer_sign_for_this_one(client, ehr, docs, other_clinic, lead):
    CdsClient.objects.create(
        clinic=other_clinic,
        name="Other EHR",
        issuer="https://other.example.org",
        jwks={"keys": [public_jwk(OTHER_KEY, "other-1")]},
        patient_identifier_system=MRN_SYSTEM,
        created_by=lead,
    )
    # Signed by the other client's key but claiming this client's issuer.
    response = call(client, ORDER_SELECT, docs["order-select-request"], key=OTHER_KEY, kid="other-1")
    assert response.status_code == 401


def test_it_makes_the_documented_responses_follow_the_schema_and_the_service(client, ehr, docs):
    documented = docs["order-select-response"]
    assert_schema(documented, docs)
    live = call(client, ORDER_SELECT, docs["order-select-request"]).json()
    assert_schema(live, docs)
    # The document shows two of the cards, abridged: each is one the service sends, with the same fields.
    by_summary = {c["summary"]: c for c in live["cards"]}
    for card in documented["cards"]:
        sent = by_summary[card["summary"]]
        assert (sent["indicator"], sorted(sent)) == (card["indicator"], sorted(card))
        assert sent["source"]["label"] == card["source"]["label"]
        for doc_s, sent_s in zip(card.get("suggestions", []), sent.get("suggestions", []), strict=True):
            assert [a["type"] for a in doc_s["actions"]] == [a["type"] for a in sent_s["actions"]]
            assert doc_s["actions"][0]["description"] == sent_s["actions"][0]["description"]


def test_it_keeps_every_card_summary_under_140_characters(client, ehr, docs, active):
    for path, name in [(ORDER_SELECT, "order-select-request"), (ORDER_SIGN, "order-sign-request")]:
        for card in call(client, path, docs[name]).json()["cards"]:
            assert 0 < len(card["summary"]) < 140, card["summary"]
    first = active.followups.order_by("due_date").first()
    with time_machine.travel(first.due_date + timedelta(days=3, hours=12), tick=False):
        [card] = call(client, PATIENT_VIEW, _patient_view(docs, active.patient.mrn)).json()["cards"]
    assert 0 < len(card["summary"]) < 140


def test_it_cuts_a_long_summary_below_140_characters(ehr):
    from trialplanner.interop import cds
    from trialplanner.interop.cds_auth import Caller
    from trialplanner.interop.cds_input import HookRequest

    request = HookRequest(hook="order-select", hookInstance="h-1", context={})
    response = cds._Response(Caller(client=ehr, jti="x"), "amitriptyline-order-select", request, "http://testserver")
    for length in (139, 140, 200):
        card = response.add("long", "info", "x" * length)
        assert len(card["summary"]) == 139
        assert CdsCard.objects.get(uuid=card["uuid"]).summary == card["summary"]
    assert response.cards[1]["summary"].endswith("…")


def test_it_returns_400_not_500_for_a_request_nested_past_the_parser(client, ehr):
    bearer = token(ORDER_SELECT)
    body = "[" * 50_000 + "]" * 50_000
    response = client.post(ORDER_SELECT, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {bearer}")
    assert response.status_code == 400


def test_it_shows_a_jwks_nested_past_the_parser_as_an_error_on_its_field(client, lead, clinic):
    client.force_login(lead)
    data = {"name": "EHR", "issuer": ISSUER, "jwks": "[" * 20_000 + "]" * 20_000, "patient_identifier_system": "x"}
    response = client.post(reverse("interop:cds_clients", args=[clinic.uuid]), data)
    assert response.status_code == 200 and "jwks" in response.context["form"].errors
