"""Standing people for view tests: a clinician, a colleague in the same clinic,
an outsider in another clinic, and the clinic's lead; plus the loaded catalog."""

from datetime import date
from decimal import Decimal

import pytest

from trialplanner.catalog.loader import load_catalog
from trialplanner.catalog.models import Condition, Indication
from trialplanner.patients.models import Clinic, Membership, Patient
from trialplanner.patients.services import risk_profile_create
from trialplanner.plans import services

PASSWORD = "correct-horse-battery-staple"
PLAN_START = date(2026, 12, 1)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # Load the catalog once; each test's transaction then rolls back to it.
    with django_db_blocker.unblock():
        load_catalog()


@pytest.fixture
def catalog(db):
    # Transactional tests (the browser ones) flush the database, so reload when needed.
    if not Indication.objects.exists():
        load_catalog()


def make_user(django_user_model, username, clinic, role=Membership.Role.CLINICIAN):
    user = django_user_model.objects.create_user(username=username, password=PASSWORD, email=f"{username}@example.org")
    Membership.objects.create(user=user, clinic=clinic, role=role)
    return user


@pytest.fixture
def clinic(db):
    return Clinic.objects.create(name="Alpha Practice", phone="0100 000 0001", time_zone="Europe/London")


@pytest.fixture
def other_clinic(db):
    return Clinic.objects.create(name="Beta Clinic", phone="0100 000 0002", time_zone="America/New_York")


@pytest.fixture
def clinician(django_user_model, clinic):
    return make_user(django_user_model, "alice", clinic)


@pytest.fixture
def colleague(django_user_model, clinic):
    return make_user(django_user_model, "bob", clinic)


@pytest.fixture
def lead(django_user_model, clinic):
    return make_user(django_user_model, "lena", clinic, role=Membership.Role.LEAD)


@pytest.fixture
def outsider(django_user_model, other_clinic):
    return make_user(django_user_model, "charlie", other_clinic)


@pytest.fixture
def patient(clinic, clinician):
    return Patient.objects.create(
        clinic=clinic,
        display_name="Pat Example",
        mrn="MRN-1",
        date_of_birth=date(1960, 5, 17),
        sex=Patient.Sex.FEMALE,
        created_by=clinician,
    )


@pytest.fixture
def indication(catalog):
    return Indication.objects.select_related("protocol").get(slug="peripheral-neuropathic-pain")


@pytest.fixture
def with_profile(clinician):
    def make(patient, *conditions, medications=(), **fields):
        return risk_profile_create(
            patient=patient,
            user=clinician,
            fields=fields,
            conditions=Condition.objects.filter(slug__in=conditions),
            medications=[{"name": m} for m in medications],
        )

    return make


@pytest.fixture
def young_patient(patient):
    """A 35-year-old on the plan start date, so no age card fires."""
    patient.date_of_birth = date(1991, 3, 1)
    patient.save()
    return patient


@pytest.fixture
def active(young_patient, indication, clinician, with_profile):
    """An active neuropathic-pain plan from 1 Dec 2026 on 10 mg tablets, for a patient with no findings."""

    with_profile(young_patient)
    plan = services.plan_create(
        patient=young_patient,
        indication=indication,
        user=clinician,
        start_date=PLAN_START,
        tablet_strength_mg=Decimal(10),
    )
    services.plan_activate(plan=plan, user=clinician, lock_version=plan.lock_version, reasons={})
    plan.refresh_from_db()
    return plan


@pytest.fixture(autouse=True)
def worklist_fields_stay_in_step(request):
    """After every database test: each follow-up's denormalised clinic and worklist date match its
    plan, whatever services or views the test ran (the worklist and its counts read only those)."""
    uses_db = request.node.get_closest_marker("django_db") or "db" in request.fixturenames
    transactional = {"transactional_db", "live_server"} & set(request.fixturenames)
    if not uses_db or transactional:
        yield
        return
    request.getfixturevalue("db")  # set up inside this fixture, so it is still open below
    yield
    from trialplanner.plans.models import FollowUp, Plan

    wrong = []
    for f in FollowUp.objects.select_related("plan__patient"):
        on_list = f.plan.status == Plan.Status.ACTIVE and f.status in FollowUp.OPEN
        expected = (f.plan.patient.clinic_id, f.effective_date if on_list else None)
        if (f.clinic_id, f.worklist_date) != expected:
            wrong.append((f.pk, f.status, f.plan.status, f.worklist_date, expected))
    assert not wrong, f"follow-ups out of step with their plans: {wrong}"
