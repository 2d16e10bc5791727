"""Hostile but plausible input to the CDS Hooks service and the FHIR import: a clear 4xx, never a 500,
and never another patient's data counted.

Each case below replays one a production-like probe found giving 500 (or mixing patients); add the
cases of every new endpoint here. The fuzz runs generate bodies from the documented examples
(Hypothesis) and print how many they sent. Runs on SQLite and PostgreSQL (`.ci/run`).
"""

import copy
import json
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.interop.conftest import EC_KEY, ISSUER, RSA_KEY
from tests.interop.docs import doc_fixtures
from tests.interop.test_cds_hooks import ORDER_SELECT, ORDER_SIGN, call
from trialplanner.interop.fhir_import import BundleError, map_bundle, parse_bundle
from trialplanner.interop.models import CdsCard, CdsFeedback
from trialplanner.patients.models import Patient

pytestmark = pytest.mark.django_db
FEEDBACK = ORDER_SELECT + "/feedback"
IMPORT = "/patients/import/"
P256_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def docs():
    return doc_fixtures("cds-hooks.md")


def signed(claims, *, key=EC_KEY, alg="ES384", kid="ec-1"):
    """A token over exactly these claims (PyJWT's encode would refuse or convert odd types)."""
    return jwt.PyJWS().encode(json.dumps(claims).encode(), key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})


def claims(path=ORDER_SELECT, **changes):
    now = int(timezone.now().timestamp())
    body = {"iss": ISSUER, "sub": "ehr-client", "aud": f"http://testserver{path}", "iat": now, "exp": now + 120,
            "jti": str(uuid.uuid4())}  # fmt: skip
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def post(client, path, body, **token_kwargs):
    """POST a body (a dict, or raw text) with a fresh valid token."""
    text = body if isinstance(body, str) else json.dumps(body)
    bearer = signed(claims(path), **token_kwargs)
    return client.post(path, text, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {bearer}")


# --- the token ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, alg, kid",
    [
        (P256_KEY, "ES256", "rsa-1"),  # an EC algorithm against the registered RSA key
        (OTHER_RSA_KEY, "RS256", "ec-1"),  # an RSA algorithm against the registered EC key
        (OTHER_RSA_KEY, "PS256", "ec-1"),
        (P256_KEY, "ES256", "ec-1"),  # the right key type on the wrong curve (ec-1 is P-384)
    ],
)
def test_it_answers_a_token_of_the_other_key_type_401(client, ehr, docs, key, alg, kid):
    bearer = signed(claims(), key=key, alg=alg, kid=kid)
    response = call(client, ORDER_SELECT, docs["order-select-request"], bearer=bearer)
    assert response.status_code == 401 and response.json() == {"error": "a valid CDS Hooks JWT is required"}
    assert not CdsCard.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": "9999999999"},
        {"exp": [1]},
        {"exp": 1e20},
        {"exp": 10**30},
        {"exp": True},
        {"iat": [1]},
        {"iat": {"a": 1}},
        {"iat": None},  # CDS Hooks 2.0 requires iat
        {"iat": 4_000_000_000},  # issued in the future
        {"sub": None},
        {"sub": 7},
        {"jti": ["a"]},
        {"jti": ""},
        {"iss": {"x": 1}},
        {"aud": [1, 2]},
    ],
    ids=lambda c: json.dumps(c),
)
def test_it_answers_a_correctly_signed_token_with_odd_claims_401(client, ehr, docs, changes):
    bearer = signed(claims(**changes))
    response = call(client, ORDER_SELECT, docs["order-select-request"], bearer=bearer)
    assert response.status_code == 401
    assert not CdsCard.objects.exists()


def test_it_accepts_the_same_token_shape_with_ordinary_claims(client, ehr, docs):
    """The control for the two tests above: only the odd claim made the difference."""
    for key, alg, kid in ((EC_KEY, "ES384", "ec-1"), (RSA_KEY, "RS256", "rsa-1"), (RSA_KEY, "PS384", "rsa-1")):
        bearer = signed(claims(), key=key, alg=alg, kid=kid)
        assert call(client, ORDER_SELECT, docs["order-select-request"], bearer=bearer).status_code == 200


# --- hook bodies -------------------------------------------------------------------------------


def at(body, path, value):
    """A copy of `body` with the member at `path` (keys and list indexes) set to `value`, or removed for ..."""
    body = copy.deepcopy(body)
    node = body
    for part in path[:-1]:
        node = node[part]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return body


QTC = ("prefetch", "qtc", "entry", 0, "resource")
HOOK_CASES = {
    "context a string": (("context",), "pat-1001"),
    "patientId a number": (("context", "patientId"), 1001),
    "patientId a list": (("context", "patientId"), ["pat-1001"]),
    "patientId not a FHIR id": (("context", "patientId"), "pat 1001/../x"),
    "userId an object": (("context", "userId"), {"a": 1}),
    "draftOrders a list": (("context", "draftOrders"), []),
    "draftOrders entry a string": (("context", "draftOrders", "entry"), "x"),
    "draft order coding a string": (
        ("context", "draftOrders", "entry", 0, "resource", "medicationCodeableConcept", "coding"),
        "amitriptyline",
    ),
    "selections a string": (("context", "selections"), "MedicationRequest/draft-1"),
    "prefetch a list": (("prefetch",), []),
    "prefetch.patient a string": (("prefetch", "patient"), "Patient/pat-1001"),
    "prefetch bundle entry an object": (("prefetch", "medications", "entry"), {"resource": {}}),
    "prefetch resource of no known type": (("prefetch", "conditions"), {"resourceType": "Coding", "code": "x"}),
    "birth date 0001": (("prefetch", "patient", "birthDate"), "0001-01-01"),
    "birth date 9999": (("prefetch", "patient", "birthDate"), "9999-12-31"),
    "birth date not a date": (("prefetch", "patient", "birthDate"), "1958-02-30"),
    "QTc value an object": ((*QTC, "valueQuantity", "value"), {"value": 446}),
    "observation date invalid": ((*QTC, "effectiveDateTime"), "2026-13-45"),
    "hookInstance a number": (("hookInstance",), 5),
    "hook missing": (("hook",), ...),
    "another patient in prefetch.patient": (("prefetch", "patient", "id"), "pat-2002"),
    "prefetch.patient without an id": (("prefetch", "patient", "id"), ...),
}


# Every case on order-select; order-sign runs the same reading, so a few of them there.
HOOK_PATHS = [(ORDER_SELECT, case) for case in HOOK_CASES] + [
    (ORDER_SIGN, case) for case in ("context a string", "birth date 9999", "another patient in prefetch.patient")
]


@pytest.mark.parametrize("path, case", HOOK_PATHS, ids=lambda v: v if "/" not in v else v.rsplit("-", 1)[-1])
def test_it_answers_a_malformed_hook_body_400_naming_the_place(client, ehr, docs, case, path):
    where, value = HOOK_CASES[case]
    body = at(docs["order-select-request"], where, value)
    body["hook"] = "order-sign" if path == ORDER_SIGN and "hook" in body else body.get("hook", ...)
    if body["hook"] is ...:
        del body["hook"]
    response = post(client, path, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]
    assert not CdsCard.objects.exists()


@pytest.mark.parametrize(
    "old, new",
    [
        ('"value": 446', '"value": NaN'),
        ('"value": 446', '"value": Infinity'),
        ('"value": 446', '"value": -1e999'),
        ('"value": 446', '"value": ' + "9" * 5000),
        ('"Sertraline 50 mg tablets"', '"Sertraline\\u0000 50 mg"'),
        ('"Sertraline 50 mg tablets"', '"Sertraline \\u202e50 mg"'),
        ('"Sertraline 50 mg tablets"', '"Sertraline \\udc00"'),
        ('"hookInstance"', '"hook\\u0000Instance"'),
    ],
)
def test_it_answers_bad_numbers_and_characters_in_a_hook_body_400(client, ehr, docs, old, new):
    text = json.dumps(docs["order-select-request"])
    assert old in text
    response = post(client, ORDER_SELECT, text.replace(old, new, 1))
    assert response.status_code == 400 and response.json()["error"]


def test_it_never_counts_another_patients_prefetched_medicine(client, ehr, docs):
    """The probe: another patient's phenelzine raised the critical MAOI card for this one."""
    body = copy.deepcopy(docs["order-select-request"])
    theirs = {
        "resourceType": "MedicationStatement",
        "id": "s-other",
        "status": "active",
        "medicationCodeableConcept": {"text": "Phenelzine 15 mg tablets"},
        "subject": {"reference": "Patient/pat-2002"},
    }
    body["prefetch"]["statements"]["entry"] = [{"resource": theirs}]
    cards = post(client, ORDER_SELECT, body).json()["cards"]
    codes = [c for c in CdsCard.objects.values_list("code", flat=True)]
    assert "maoi-washout" not in codes and all(c["indicator"] != "critical" for c in cards)
    [warning] = [c for c in cards if "another patient" in c["summary"]]
    assert warning["indicator"] == "warning" and warning["summary"].startswith("1 prefetched record")

    # The control: the same statement about this patient does raise it.
    CdsCard.objects.all().delete()
    theirs["subject"] = {"reference": "https://ehr.example.org/fhir/Patient/pat-1001"}
    cards = post(client, ORDER_SELECT, body).json()["cards"]
    assert "maoi-washout" in CdsCard.objects.values_list("code", flat=True)
    assert not [c for c in cards if "another patient" in c["summary"]]


def test_it_ignores_a_draft_order_for_another_patient(client, ehr, docs):
    body = at(docs["order-select-request"], ("context", "draftOrders", "entry", 0, "resource", "subject"),
              {"reference": "Patient/pat-2002"})  # fmt: skip
    assert post(client, ORDER_SELECT, body).json() == {"cards": []}


# --- feedback ----------------------------------------------------------------------------------


@pytest.fixture
def card(client, ehr, docs):
    post(client, ORDER_SELECT, docs["order-select-request"])
    return CdsCard.objects.filter(indicator="warning").first()


def feedback_body(served, **item):
    base = {"card": str(served.uuid), "outcome": "overridden", "outcomeTimestamp": timezone.now().isoformat(),
            "overrideReason": {"reason": {"code": "monitoring-arranged"}, "userComment": "ECG booked"}}  # fmt: skip
    base.update(item)
    return {"feedback": [{k: v for k, v in base.items() if v is not ...}]}


FEEDBACK_CASES = {
    "invalid timestamp": {"outcomeTimestamp": "2026-13-45T99:00:00Z"},
    "timestamp without a zone": {"outcomeTimestamp": "2026-12-01T10:00:00"},
    "timestamp in year 1": {"outcomeTimestamp": "0001-01-01T00:00:00+01:00"},
    "timestamp in year 9999": {"outcomeTimestamp": "9999-12-31T23:59:59Z"},
    "timestamp missing": {"outcomeTimestamp": ...},
    "NUL in a comment": {"overrideReason": {"reason": {"code": "x"}, "userComment": "ok\u0000"}},
    "bidi in a comment": {"overrideReason": {"userComment": "\u202eevil"}},
    "outcome a list": {"outcome": ["accepted"]},
    "card a number": {"card": 12},
    "reason code a number": {"overrideReason": {"reason": {"code": 5}}},
    "comment an object": {"overrideReason": {"userComment": {"a": 1}}},
    "suggestions a string": {"acceptedSuggestions": "all"},
}


@pytest.mark.parametrize("case", FEEDBACK_CASES, ids=str)
def test_it_answers_malformed_feedback_400(client, card, case):
    response = post(client, FEEDBACK, feedback_body(card, **FEEDBACK_CASES[case]))
    assert response.status_code == 400 and response.json()["error"]
    assert not CdsFeedback.objects.exists()


@pytest.mark.parametrize("body", ['{"feedback": {}}', "[]", '{"feedback": [1]}', '{"feedback": []}', "nul\u0000"])
def test_it_answers_feedback_of_the_wrong_shape_400(client, card, body):
    assert post(client, FEEDBACK, body).status_code == 400


def test_it_records_well_formed_feedback(client, card):
    """The control for the feedback cases."""
    assert post(client, FEEDBACK, feedback_body(card)).status_code == 200
    assert CdsFeedback.objects.get().user_comment == "ECG booked"


# --- the FHIR import ---------------------------------------------------------------------------


@pytest.fixture
def bundle_text():
    return json.dumps(doc_fixtures("fhir.md")["import-ehr"])


IMPORT_CASES = [
    ('"mmol/L"', '"mmol/L\\u0000"'),  # NUL in an Observation's unit: a 500 at confirm on PostgreSQL
    ('"active"', '"act\\u0000ive"'),  # NUL in a condition's status code
    ('"mmol/L"', '"mmol/\\u202eL"'),  # a bidi override in a unit reached the stored notes
    ('"mmol/L"', '"mmol/L\\udc80"'),  # an unpaired surrogate no database stores
]


@pytest.mark.parametrize("old, new", IMPORT_CASES)
def test_it_refuses_bad_characters_in_an_import_at_upload_and_at_confirm(client, clinician, bundle_text, old, new):
    assert old in bundle_text
    text = bundle_text.replace(old, new, 1)
    client.force_login(clinician)
    upload = client.post(IMPORT, {"bundle_text": text})
    assert upload.status_code == 200 and upload.context["upload"].errors["bundle_text"]
    confirm = client.post(
        IMPORT,
        {"confirm": "1", "bundle": text, "patient-clinic": clinician.memberships.get().clinic.pk,
         "patient-display_name": "Rose Example", "patient-date_of_birth": "1950-01-01", "patient-sex": "female"},
    )  # fmt: skip
    assert confirm.status_code == 400 and confirm.context["import_error"]
    assert not Patient.objects.exists()


@pytest.mark.usefixtures("at_test_now")
def test_it_does_not_import_records_about_someone_outside_the_bundle(client, clinician, bundle_text):
    bundle = json.loads(bundle_text)
    resources = [e["resource"] for e in bundle["entry"]]
    moved = [r for r in resources if r["resourceType"] in ("MedicationStatement", "MedicationRequest")][0]
    moved["subject"] = {"reference": "Patient/someone-else"}
    preview = map_bundle(parse_bundle(json.dumps(bundle)), today=timezone.localdate())
    assert len(preview.other_subject) == 1 and "someone-else" in preview.other_subject[0]
    assert all(m.text not in preview.other_subject[0] for m in preview.medicines)
    client.force_login(clinician)
    page = client.post(IMPORT, {"bundle_text": json.dumps(bundle)}).content.decode()
    assert "Not imported: about another patient" in page and "Patient/someone-else" in page


# --- fuzz --------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from _paths(value, (*prefix, n))


def mutated(example):
    """Strategy: the example with one member replaced by any JSON value, removed, or given a stray member."""
    paths = [p for p in _paths(example) if p]
    return st.tuples(st.sampled_from(paths), JSON_VALUES, st.sampled_from(["replace", "remove", "add"])).map(
        lambda t: _mutate(example, *t)
    )


def _mutate(example, path, value, how):
    if how == "remove":
        return at(example, path, ...)
    if how == "add":
        node = at(example, path, value)
        parent = node
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict):
            parent["extra"] = value
        return node
    return at(example, path, value)


# At least 1,000 bodies a run; hook bodies cost the most (a signed token and the engine each).
FUZZ_RUNS = {"cds": 300, "feedback": 200, "fhir": 500}


def test_it_never_answers_fuzzed_hook_bodies_with_a_500(client, ehr, docs, record_property):
    sent = []

    @settings(max_examples=FUZZ_RUNS["cds"], deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(mutated(docs["order-select-request"]))
    def run(body):
        response = post(client, ORDER_SELECT, body)
        sent.append(response.status_code)
        assert response.status_code in (200, 400, 412), (response.status_code, body)

    run()
    record_property("fuzz", f"{len(sent)} CDS hook bodies, statuses {sorted(set(sent))}")
    assert len(sent) >= FUZZ_RUNS["cds"]


def test_it_never_answers_fuzzed_feedback_with_a_500(client, card, record_property):
    sent = []

    @settings(max_examples=FUZZ_RUNS["feedback"], deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(mutated(feedback_body(card)))
    def run(body):
        response = post(client, FEEDBACK, body)
        sent.append(response.status_code)
        assert response.status_code in (200, 400), (response.status_code, body)

    run()
    record_property("fuzz", f"{len(sent)} CDS feedback bodies, statuses {sorted(set(sent))}")
    assert len(sent) >= FUZZ_RUNS["feedback"]


def test_it_never_fails_on_fuzzed_fhir_bundles(catalog, bundle_text, record_property):
    """Upload and confirm read a bundle with parse_bundle then map_bundle: either refuses it with a message
    (BundleError) or maps it to profile fields and medicines the services can save."""
    outcomes = []

    @settings(max_examples=FUZZ_RUNS["fhir"], deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(mutated(json.loads(bundle_text)))
    def run(bundle):
        try:
            preview = map_bundle(parse_bundle(json.dumps(bundle)), today=timezone.localdate())
        except BundleError as exc:
            assert str(exc)
            outcomes.append("refused")
            return
        preview.profile_fields(), preview.medication_entries()
        outcomes.append("mapped")

    run()
    record_property("fuzz", f"{len(outcomes)} FHIR bundles ({outcomes.count('refused')} refused with a message)")
    assert len(outcomes) >= FUZZ_RUNS["fhir"]


# --- a second attack on the layer above (each was a 500 or a wrong answer before its fix) -------


def _segment(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "bearer",
    [
        # four parts: PyJWT reads parts 2 and 3 as one payload, 2,500 levels deep
        ".".join([_segment(b'{"alg":"ES384","kid":"ec-1"}'), _segment(b'{"a": '),
                  _segment(b"[" * 2500 + b"]" * 2500 + b"}"), "c2ln"]),
        # a UTF-16 header whose brackets a UTF-8 reading would hide inside a string
        ".".join([_segment(('["\u2200",' + "[" * 1400 + "]" * 1400 + "]").encode("utf-16-le")),
                  _segment(b'{"iss": "x"}'), "c2ln"]),
    ],
)  # fmt: skip
def test_it_answers_a_token_nested_past_the_parser_in_any_disguise_401(client, ehr, docs, bearer):
    assert call(client, ORDER_SELECT, docs["order-select-request"], bearer=bearer).status_code == 401
    assert client.get("/cds-services", HTTP_AUTHORIZATION=f"Bearer {bearer}").status_code == 401


@pytest.mark.parametrize("claim", ["iss", "jti", "sub"])
def test_it_answers_nul_in_a_claim_401_on_every_database(client, ehr, docs, claim):
    bearer = signed(claims(**{claim: ISSUER + "\u0000" if claim == "iss" else "x\u0000"}))
    assert call(client, ORDER_SELECT, docs["order-select-request"], bearer=bearer).status_code == 401


def test_it_refuses_two_registered_keys_with_one_kid():
    from tests.interop.conftest import public_jwk
    from trialplanner.interop.cds_auth import public_keys

    with pytest.raises(ValueError, match="share the kid"):
        public_keys({"keys": [public_jwk(EC_KEY, "k"), public_jwk(RSA_KEY, "k")]})


def _with_statement(docs, statement):
    body = copy.deepcopy(docs["order-select-request"])
    body["prefetch"]["statements"]["entry"] = [{"resource": statement}]
    return body


def _cards(response):
    assert response.status_code == 200, response.content
    return {c["summary"]: c for c in response.json()["cards"]}, set(CdsCard.objects.values_list("code", flat=True))


def test_it_answers_an_integer_birth_date_400(client, ehr, docs):
    body = at(docs["order-select-request"], ("prefetch", "patient", "birthDate"), 0)
    response = post(client, ORDER_SELECT, body)
    assert response.status_code == 400 and "birthDate" in response.json()["error"]


@pytest.mark.parametrize(
    "pointer, contained",
    [
        ({"reference": None, "display": "Sertraline"}, []),
        ({"reference": "#q"},
         [{"resourceType": "Questionnaire", "id": "q", "status": "active", "code": [{"code": "x"}]}]),
    ],
)  # fmt: skip
def test_it_reads_an_odd_medication_reference_by_its_display_never_a_500(client, ehr, docs, pointer, contained):
    statement = {"resourceType": "MedicationStatement", "id": "s1", "status": "active", "contained": contained,
                 "medicationReference": pointer, "subject": {"reference": "Patient/pat-1001"}}  # fmt: skip
    if not contained:
        del statement["contained"]
    assert post(client, ORDER_SELECT, _with_statement(docs, statement)).status_code == 200


def test_it_reads_only_the_patient_in_context_when_the_prefetch_includes_others(client, ehr, docs):
    """A searchset with _include may carry other Patients: they must not change the age or sex."""
    _, alone = _cards(post(client, ORDER_SELECT, docs["order-select-request"]))
    CdsCard.objects.all().delete()
    body = copy.deepcopy(docs["order-select-request"])
    for born in ("2015-01-01", "1800-01-01"):
        body["prefetch"]["conditions"]["entry"].append(
            {"resource": {"resourceType": "Patient", "id": f"other-{born[:4]}", "gender": "male", "birthDate": born}}
        )
    _, mixed = _cards(post(client, ORDER_SELECT, body))
    assert "older-age" in alone and "under-18" not in mixed
    assert mixed - {"prefetch-other-patient"} == alone


def test_it_answers_a_required_prefetch_that_failed_412(client, ehr, docs):
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
    response = post(client, ORDER_SELECT, at(docs["order-select-request"], ("prefetch", "medications"), outcome))
    assert response.status_code == 412 and "OperationOutcome" in response.json()["error"]
    optional = post(client, ORDER_SELECT, at(docs["order-select-request"], ("prefetch", "statements"), outcome))
    assert optional.status_code == 200  # an optional search that failed is left out


def test_it_checks_prefetched_potassium_and_magnesium(client, ehr, docs):
    body = copy.deepcopy(docs["order-select-request"])
    body["prefetch"]["potassium"] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
        "resourceType": "Observation", "id": "k1", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
        "subject": {"reference": "Patient/pat-1001"}, "effectiveDateTime": timezone.localdate().isoformat(),
        "valueQuantity": {"value": 2.9, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
    }}]}  # fmt: skip
    cards, codes = _cards(post(client, ORDER_SELECT, body))
    # Its own card, or folded under the stacked QT card that summarises it (reference A.4).
    covered = [c for c in cards.values() if "Low potassium or magnesium (potassium 2.9 mmol/L)" in c.get("detail", "")]
    assert "low-potassium-magnesium" in codes or covered


def test_it_counts_the_same_patient_id_on_another_server_as_another_patient(client, ehr, docs):
    statement = {"resourceType": "MedicationStatement", "id": "s1", "status": "active",
                 "medicationCodeableConcept": {"text": "Phenelzine 15 mg tablets"},
                 "subject": {"reference": "https://other-hospital.example.net/fhir/Patient/pat-1001"}}  # fmt: skip
    summaries, codes = _cards(post(client, ORDER_SELECT, _with_statement(docs, statement)))
    assert "maoi-washout" not in codes and any("another patient" in s for s in summaries)


def test_it_takes_feedback_on_a_card_once_and_only_from_the_service_that_served_it(client, card):
    twice = feedback_body(card)
    twice["feedback"] *= 2
    assert post(client, FEEDBACK, twice).status_code == 400
    other_service = "/cds-services/amitriptyline-follow-up/feedback"
    assert post(client, other_service, feedback_body(card)).status_code == 400
    assert not CdsFeedback.objects.exists()


def test_it_never_matches_a_pasted_letter_against_every_medicine_name():
    from trialplanner.engine.medicines import SUGGESTION_MAX_LENGTH, suggestions_for

    class Rules:
        known_names = {"glucosamine": object()}

    assert suggestions_for(Rules(), "glucosaminx " * 9000) == ()
    assert len("glucosaminx") <= SUGGESTION_MAX_LENGTH


def test_it_does_not_fail_on_a_result_code_the_import_has_no_units_for(catalog, bundle_text):
    from trialplanner.catalog.models import ObservationCode

    ObservationCode.objects.create(key="creatinine", name="Creatinine", loinc_code="2160-0", unit="umol/L")
    bundle = json.loads(bundle_text)
    bundle["entry"].append({"resource": {
        "resourceType": "Observation", "id": "cr", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}]},
        "effectiveDateTime": "2026-11-01", "valueQuantity": {"value": 80, "unit": "umol/L"},
    }})  # fmt: skip
    preview = map_bundle(parse_bundle(json.dumps(bundle)), today=timezone.localdate())
    [creatinine] = [o for o in preview.observations if o.key == "creatinine"]
    assert not creatinine.used and creatinine.note == "a result this import does not read"
