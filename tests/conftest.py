"""Standing people for view tests: a clinician, a colleague in the same clinic,
an outsider in another clinic, and the clinic's lead; plus the loaded catalog."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from trialplanner.catalog.loader import load_catalog
from trialplanner.catalog.models import Condition, Indication
from trialplanner.patients.models import Clinic, Membership, Patient
from trialplanner.patients.services import risk_profile_create
from trialplanner.plans import services

PASSWORD = "correct-horse-battery-staple"
PLAN_START = date(2026, 12, 1)
# "Now" for tests that send fixed dates a form checks against today (a start date not too far back, a
# stop date not in the past): midday on PLAN_START, so they pass on any day (`make test-clock`).
TEST_NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def pytest_addoption(parser):
    parser.addoption(
        "--clock-offset",
        type=int,
        default=0,
        metavar="DAYS",
        help="Run every test with the wall clock moved DAYS days (e.g. 366 or -730), to catch tests that pass "
        "only on the day they were written (`make test-clock`). It moves Python's clock in the test process "
        "and its live servers; PostgreSQL's now() and the browser's own clock stay where they are.",
    )


def pytest_configure(config):
    days = config.getoption("--clock-offset")
    if days:
        # tick=True: time still passes (timeouts, throttles, token lifetimes behave), just on another day.
        traveller = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
        traveller.start()
        config.add_cleanup(traveller.stop)


def pytest_terminal_summary(terminalreporter):
    """What the fuzz tests sent (each records it with record_property("fuzz", ...); xdist passes it on)."""
    lines = [
        f"{report.nodeid.split('::')[-1]}: {value}"
        for report in terminalreporter.stats.get("passed", [])
        for name, value in report.user_properties
        if name == "fuzz"
    ]
    if lines:
        terminalreporter.write_sep("-", "fuzz runs")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_report_header(config):
    days = config.getoption("--clock-offset")
    if days:
        return f"clock moved {days:+d} days: tests see today as {date.today().isoformat()}"
    return None


@pytest.fixture
def at_test_now():
    """The wall clock at TEST_NOW, still ticking (timeouts and throttles behave); yields that day."""
    with time_machine.travel(TEST_NOW, tick=True):
        yield TEST_NOW.date()


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
