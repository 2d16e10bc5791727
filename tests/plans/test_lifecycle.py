"""Plan lifecycle integrity: one course per patient, stale drafts, racing actions."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from tests.plans.conftest import START
from trialplanner.catalog.models import Indication
from trialplanner.engine import PlanBlocked
from trialplanner.plans import selectors, services
from trialplanner.plans.models import FollowUp, Plan, Visit

pytestmark = pytest.mark.django_db
LATER = START + timedelta(days=15)


def create(patient, indication, user, **options):
    return services.plan_create(patient=patient, indication=indication, user=user, start_date=START, **options)


def activate(plan, user):
    plan.refresh_from_db()
    services.plan_activate(plan=plan, user=user, lock_version=plan.lock_version, reasons={})
    plan.refresh_from_db()
    return plan


def revise(plan, user, target=30):
    plan.refresh_from_db()
    return services.plan_revise(
        plan=plan, user=user, lock_version=plan.lock_version, start_date=START, target_mg=Decimal(target)
    )


def visit(plan, user, decision="hold"):
    followup = plan.followups.filter(status="due").first()
    return services.followup_record_visit(
        followup=followup,
        user=user,
        visit_date=LATER,
        outcome_score=None,
        side_effects=[],
        side_effects_other="",
        adherence="all",
        qtc_ms=None,
        decision=decision,
        notes="",
    )


@pytest.fixture
def migraine(catalog):
    return Indication.objects.select_related("protocol").get(slug="migraine-prophylaxis")


@pytest.fixture
def course(young_patient, indication, clinician, with_profile):
    """An active neuropathic-pain course (version 1) for a patient with no findings."""
    with_profile(young_patient)
    return activate(create(young_patient, indication, clinician), clinician)


# --- one course at a time -----------------------------------------------------------------------


def test_it_blocks_a_second_course_with_a_duplicate_therapy_card(course, young_patient, migraine, clinician):
    assessment, draft = services.plan_preview(patient=young_patient, indication=migraine, start_date=START)
    assert draft is None and assessment.blocked
    card = assessment.critical_cards[0]
    assert card.code == "duplicate-course" and card.indicator == "critical"
    assert card.subjects == (f"{course.indication.name} plan, version 1, from 1 Dec 2026",)
    with pytest.raises(PlanBlocked) as exc:
        create(young_patient, migraine, clinician)
    assert [c.code for c in exc.value.cards] == ["duplicate-course"]
    assert Plan.objects.filter(patient=young_patient).count() == 1


def test_it_can_still_revise_and_re_plan_the_active_course_itself(course, clinician):
    draft = revise(course, clinician)
    assert activate(draft, clinician).status == "active"
    _, new = visit(draft, clinician, "step_up")
    assert new.status == "active"


def test_it_refuses_to_activate_a_draft_built_before_another_course_started(
    young_patient, indication, migraine, clinician, with_profile
):
    with_profile(young_patient)
    pain = create(young_patient, indication, clinician)
    headache = create(young_patient, migraine, clinician)  # both drafts: nothing active yet
    activate(pain, clinician)
    with pytest.raises(PlanBlocked) as exc:
        activate(headache, clinician)
    assert [c.code for c in exc.value.cards] == ["duplicate-course"]
    headache.refresh_from_db()
    assert headache.status == "draft"
    assert selectors.current_assessment(headache).blocked


def test_it_counts_a_taper_as_a_course_too(course, young_patient, migraine, clinician):
    services.plan_stop(
        plan=course, user=clinician, lock_version=course.lock_version, reason="Side effects", stop_date=LATER
    )
    with pytest.raises(PlanBlocked):
        create(young_patient, migraine, clinician)


def test_it_lets_a_new_course_start_once_the_old_one_is_over(course, young_patient, migraine, clinician):
    services.plan_mark_entered_in_error(
        plan=course, user=clinician, lock_version=course.lock_version, reason="Wrong indication"
    )
    assert activate(create(young_patient, migraine, clinician), clinician).status == "active"


def test_it_holds_one_active_plan_per_patient_in_the_database(course, young_patient, migraine, clinician):
    other = Plan.objects.get(pk=course.pk)
    other.pk, other.uuid, other.series = None, None, None
    other.status = Plan.Status.DRAFT
    other.indication = migraine
    from uuid import uuid4

    other.uuid, other.series = uuid4(), uuid4()
    other.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        Plan.objects.filter(pk=other.pk).update(status="active")


def test_it_shows_the_duplicate_card_on_the_new_plan_page(client, course, young_patient, migraine, clinician):
    client.force_login(clinician)
    url = reverse("plans:plan_new", args=[young_patient.uuid])
    response = client.post(
        url,
        {"indication": migraine.slug, "start_date": START.isoformat(), "target_mg": "25", "tablet_strength_mg": "10"},
    )
    assert response.status_code == 200
    assert "Another amitriptyline course is active" in response.content.decode()
    assert Plan.objects.filter(patient=young_patient).count() == 1


# --- stale drafts ---------------------------------------------------------------------------------


def test_it_does_not_let_an_older_draft_replace_a_newer_active_version(course, clinician):
    v2, v3 = revise(course, clinician, 30), revise(course, clinician, 40)
    activate(v3, clinician)
    with pytest.raises(services.StaleDraft) as exc:
        activate(v2, clinician)
    assert exc.value.current == v3
    assert "built from version 1, but version 3 is the current one now" in str(exc.value)
    v2.refresh_from_db(), v3.refresh_from_db()
    assert (v2.status, v3.status) == ("draft", "active")


def test_it_does_not_let_a_draft_undo_a_visit(course, clinician):
    v2 = revise(course, clinician)
    _, v3 = visit(course, clinician, "step_up")
    assert v3.status == "active"
    with pytest.raises(services.StaleDraft):
        activate(v2, clinician)
    v3.refresh_from_db()
    assert v3.status == "active" and Visit.objects.get().new_plan == v3


@pytest.mark.parametrize("end", ["stop", "error"])
def test_it_does_not_let_a_draft_revive_a_stopped_plan(course, clinician, end):
    v2 = revise(course, clinician)
    course.refresh_from_db()
    if end == "stop":
        services.plan_stop(
            plan=course, user=clinician, lock_version=course.lock_version, reason="Side effects", stop_date=LATER
        )
    else:
        services.plan_mark_entered_in_error(
            plan=course, user=clinician, lock_version=course.lock_version, reason="Wrong dose"
        )
    with pytest.raises(services.StaleDraft):
        activate(v2, clinician)
    with pytest.raises(services.StaleDraft):
        revise(v2, clinician)  # a revision of a stale draft would be just as stale


def test_it_keeps_what_a_draft_was_built_from_when_revising_it(course, clinician):
    v2 = revise(course, clinician)
    v3 = revise(v2, clinician)  # a draft of a draft: still built from version 1
    assert v3.built_from == course
    assert activate(v3, clinician).status == "active"


def test_it_never_treats_a_new_plan_and_its_draft_revisions_as_stale(
    young_patient, indication, clinician, with_profile
):
    with_profile(young_patient)
    v2 = revise(create(young_patient, indication, clinician), clinician)
    assert v2.built_from is None
    assert activate(v2, clinician).status == "active"


def test_it_links_the_current_version_on_the_plan_page_of_a_stale_draft(client, course, clinician):
    v2, v3 = revise(course, clinician, 30), revise(course, clinician, 40)
    activate(v3, clinician)
    client.force_login(clinician)
    response = client.post(reverse("plans:plan_activate", args=[v2.uuid]), {"lock_version": v2.lock_version})
    page = response.content.decode()
    assert response.status_code == 400
    assert "version 3 is the current one now" in page
    assert f'href="{v3.get_absolute_url()}"' in page
    assert reverse("plans:plan_activate", args=[v2.uuid]) not in page  # no activate form on a stale draft
    v2.refresh_from_db()
    assert v2.status == "draft"


# --- racing actions ---------------------------------------------------------------------------------
# Two people open the same patient (active version 1 with a due follow-up, and draft version 2
# built from it) and each submits one action on what they saw. Whatever the order, what the first
# did is never undone by the second: only a revision (which changes nothing current) lets an
# activation or a visit still go through.

ACTIONS = ["activate", "revise", "visit", "stop", "error"]


def act(name, seen, user):
    v1, v2, followup = seen
    if name == "activate":
        return services.plan_activate(plan=v2, user=user, lock_version=v2.lock_version, reasons={})
    if name == "revise":
        return services.plan_revise(
            plan=v1, user=user, lock_version=v1.lock_version, start_date=START, target_mg=Decimal(30)
        )
    if name == "visit":
        return services.followup_record_visit(
            followup=followup,
            user=user,
            visit_date=LATER,
            outcome_score=None,
            side_effects=[],
            side_effects_other="",
            adherence="all",
            qtc_ms=None,
            decision="hold",
            notes="",
        )
    if name == "stop":
        return services.plan_stop(
            plan=v1, user=user, lock_version=v1.lock_version, reason="Side effects", stop_date=LATER
        )
    return services.plan_mark_entered_in_error(plan=v1, user=user, lock_version=v1.lock_version, reason="Wrong")


def what_each_saw(v1, v2):
    """A separate copy per person, as two browser sessions would have."""
    return (
        Plan.objects.get(pk=v1.pk),
        Plan.objects.get(pk=v2.pk),
        FollowUp.objects.select_related("plan").get(pk=v1.followups.filter(status="due").first().pk),
    )


def assert_lifecycle_invariants(patient):
    plans = Plan.objects.filter(patient=patient)
    assert plans.filter(status="active").count() <= 1
    followups = FollowUp.objects.filter(plan__patient=patient)
    # A draft's follow-ups wait (off the worklist) for its activation; an ended plan keeps none open.
    assert not followups.filter(status__in=FollowUp.OPEN).exclude(plan__status__in=["active", "draft"]).exists()
    assert not followups.filter(worklist_date__isnull=False).exclude(plan__status="active").exists()
    for v in Visit.objects.filter(plan__patient=patient):
        assert v.followup.status == "done"


@pytest.mark.parametrize("second", ACTIONS)
@pytest.mark.parametrize("first", ACTIONS)
def test_it_never_lets_the_second_of_two_racing_actions_undo_the_first(course, clinician, colleague, first, second):
    v2 = revise(course, clinician, 40)
    course.refresh_from_db()
    seen_by_one, seen_by_two = what_each_saw(course, v2), what_each_saw(course, v2)
    act(first, seen_by_one, clinician)
    state_after_first = sorted(Plan.objects.values_list("pk", "status"))
    visits_after_first = Visit.objects.count()
    both_allowed = first == "revise" and second in ("activate", "visit")
    if both_allowed:
        act(second, seen_by_two, colleague)
    else:
        with pytest.raises(services.PlanError):
            act(second, seen_by_two, colleague)
        assert sorted(Plan.objects.values_list("pk", "status")) == state_after_first
        assert Visit.objects.count() == visits_after_first
    assert_lifecycle_invariants(course.patient)


# --- truly concurrent (PostgreSQL: SQLite takes one writer at a time anyway) --------------------------


def run_together(*actions):
    """Run each action in its own thread and connection, released at the same moment."""
    barrier = threading.Barrier(len(actions))
    results = [None] * len(actions)

    def run(i, action):
        try:
            barrier.wait()
            results[i] = ("ok", action())
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test compares
            results[i] = ("refused", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")
@pytest.mark.parametrize(
    "pair",
    [
        ("activate", "activate-other"),
        ("activate", "stop"),
        ("visit", "activate"),
        ("stop", "error"),
        ("activate", "activate"),
    ],
)
def test_it_lets_exactly_one_of_concurrent_actions_win(transactional_db, catalog, clinic, clinician, colleague, pair):
    from datetime import date

    from trialplanner.patients.models import Patient
    from trialplanner.patients.services import risk_profile_create

    patient = Patient.objects.create(
        clinic=clinic, display_name="Race Example", date_of_birth=date(1991, 3, 1), sex="female", created_by=clinician
    )
    risk_profile_create(patient=patient, user=clinician, fields={}, conditions=[], medications=[])
    indication = Indication.objects.select_related("protocol").get(slug="peripheral-neuropathic-pain")
    v1 = activate(create(patient, indication, clinician), clinician)
    v2, v3 = revise(v1, clinician, 30), revise(v1, clinician, 40)
    v1.refresh_from_db()

    def action(name):
        seen = what_each_saw(v1, v3 if name == "activate-other" else v2)
        return lambda: act("activate" if name == "activate-other" else name, seen, colleague)

    results = run_together(*(action(name) for name in pair))
    outcomes = sorted(kind for kind, _ in results)
    assert outcomes == ["ok", "refused"], results
    refused = next(value for kind, value in results if kind == "refused")
    assert isinstance(refused, services.PlanError), refused
    assert_lifecycle_invariants(patient)
