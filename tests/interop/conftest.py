import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from trialplanner.interop.fhir_validation import invariant_errors, structure_errors
from trialplanner.interop.models import CdsClient

ISSUER = "https://ehr.example.org"
MRN_SYSTEM = "https://hospital.example.org/mrn"
# The EHR's signing keys (private here: the tests sign as the EHR would).
EC_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key, kid):
    algorithm = ECAlgorithm if isinstance(key, ec.EllipticCurvePrivateKey) else RSAAlgorithm
    jwk = algorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid}


@pytest.fixture
def ehr(clinic, lead):
    """A CDS client registered with an EC (P-384) key "ec-1" and an RSA key "rsa-1"."""
    return CdsClient.objects.create(
        clinic=clinic,
        name="Hospital EHR",
        issuer=ISSUER,
        jwks={"keys": [public_jwk(EC_KEY, "ec-1"), public_jwk(RSA_KEY, "rsa-1")]},
        patient_identifier_system=MRN_SYSTEM,
        created_by=lead,
    )


def resources(bundle, kind):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def assert_valid(bundle):
    assert structure_errors(bundle) == []
    assert invariant_errors(bundle) == []


@pytest.fixture
def profiled_plan(young_patient, indication, clinician, with_profile):
    """An active plan for a patient with a condition, two medicines (one stopped), an ECG and bloods."""
    from datetime import date
    from decimal import Decimal

    from tests.conftest import PLAN_START
    from trialplanner.catalog.models import Condition
    from trialplanner.patients.services import risk_profile_create
    from trialplanner.plans import services

    risk_profile_create(
        patient=young_patient,
        user=clinician,
        fields={
            "qtc_ms": 432,
            "ecg_date": date(2026, 11, 20),
            "potassium": Decimal("4.1"),
            "magnesium": Decimal("0.85"),
            "sodium": 139,
            # Dated like the ECG: left empty, the bloods would take the wall clock's date, which is in
            # the future of the tests' fixed "today" from 2 Dec 2026 on.
            "bloods_date": date(2026, 11, 20),
        },
        conditions=Condition.objects.filter(slug__in=["diabetes", "epilepsy"]),
        medications=[
            {"name": "Sertraline", "started_on": date(2025, 1, 1)},
            {"name": "Phenelzine", "started_on": date(2025, 3, 1), "stopped_on": date(2026, 10, 1)},
            {"name": "Bisoprolol fumarate 5mg"},
            {"name": "Herbal sleep tea"},
        ],
    )
    plan = services.plan_create(
        patient=young_patient,
        indication=indication,
        user=clinician,
        start_date=PLAN_START,
        tablet_strength_mg=Decimal(10),
    )
    return plan
