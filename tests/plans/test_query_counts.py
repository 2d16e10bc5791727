"""Query counts of the plan page, the handout and the two common writes (recording a visit,
revising a plan) are pinned, and do not grow with the clinic: each is measured with a few and
with many other patients (with plans, follow-ups and visits) in the same clinic."""

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.conftest import PLAN_START
from trialplanner.ops.seed import LOAD_CLINIC, seed_load
from trialplanner.patients.models import Clinic, Patient
from trialplanner.plans.models import FollowUp, Plan

pytestmark = pytest.mark.django_db
VISIT_DAY = PLAN_START + timedelta(days=15)
SIZES = [3, 150]  # other patients in the clinic

# Every signed-in request: session, user, two-factor devices (TOTP, recovery codes), memberships.
# The plan page then reads the plan (with patient and indication), its clinic, steps, follow-ups
# and monitoring names, the navigation counts (one capped query), the outcome chart (measure,
# scores, versions, protocol, steps, visits), acknowledgements and sources, the versions list,
# and writes one audit row.
PLAN_PAGE_QUERIES = 22
HANDOUT_QUERIES = 12  # as the plan page's reads, plus the acknowledged warnings' watch-for blocks
HANDOUT_PDF_QUERIES = 11  # no navigation
# Recording a visit: the form's reads (follow-up, profile), the patient and plan locks, the
# findings and the re-plan (profile, catalog rule book once per request, protocol, strengths,
# acknowledgements), the old version ended and its follow-ups closed in one UPDATE each, the new
# version with its steps and its follow-ups each in one bulk INSERT, the visit, the follow-up
# marked done, whether the course's response was judged before, one audit INSERT per change, and
# the trial's outcome row rewritten (its facts, its visits' side effects, its old row, its
# clinic's today, its follow-ups, its acknowledgements, DELETE, INSERT) and its start day's and
# month's tallies moved (created if new, locked, updated). Nothing here loops over rows.
VISIT_POST_QUERIES = 76
# Revising: the lock, the risk check (profile; the rule book with its drug classes, dose limits, curated names
# and the dictionary names of catalogued medicines), the old version revised, the new
# draft with steps and follow-ups each in one bulk INSERT, one audit INSERT per change.
REVISE_POST_QUERIES = 43


def crowd(clinic, others):
    """`others` more patients in this clinic, each with an active plan, follow-ups and visits."""
    seed_load(others, today=PLAN_START)
    load = Clinic.objects.get(name=LOAD_CLINIC)
    Patient.objects.filter(clinic=load).update(clinic=clinic)
    FollowUp.objects.filter(clinic=load).update(clinic=clinic)


def signed_in(client, user):
    client.force_login(user)
    client.get(reverse("patients:patient_list"))  # the first request of a session writes it
    return client


@pytest.mark.parametrize("others", SIZES)
def test_it_shows_the_plan_page_in_a_fixed_number_of_queries(client, clinician, clinic, active, others,
                                                              django_assert_num_queries):  # fmt: skip
    crowd(clinic, others)
    with time_machine.travel(VISIT_DAY, tick=False):
        signed_in(client, clinician)
        with django_assert_num_queries(PLAN_PAGE_QUERIES):
            assert client.get(active.get_absolute_url()).status_code == 200


@pytest.mark.parametrize("others", SIZES)
def test_it_prints_the_handout_in_a_fixed_number_of_queries(client, clinician, clinic, active, others,
                                                             django_assert_num_queries):  # fmt: skip
    crowd(clinic, others)
    with time_machine.travel(VISIT_DAY, tick=False):
        signed_in(client, clinician)
        with django_assert_num_queries(HANDOUT_QUERIES):
            assert client.get(reverse("handouts:handout", args=[active.uuid])).status_code == 200
        with django_assert_num_queries(HANDOUT_PDF_QUERIES):
            response = client.get(reverse("handouts:handout_pdf", args=[active.uuid]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


@pytest.mark.parametrize("others", SIZES)
def test_it_records_a_visit_in_a_fixed_number_of_queries(client, clinician, clinic, active, others,
                                                         django_assert_num_queries):  # fmt: skip
    crowd(clinic, others)
    followup = active.followups.filter(status="due").first()
    data = {"visit_date": VISIT_DAY.isoformat(), "outcome_score": "6", "adherence": "all", "decision": "step_up",
            "side_effects": ["dry_mouth"], "mood": "usual", "self_harm_thoughts": "no"}  # fmt: skip
    with time_machine.travel(VISIT_DAY, tick=False):
        signed_in(client, clinician)
        with django_assert_num_queries(VISIT_POST_QUERIES):
            response = client.post(reverse("plans:followup_visit", args=[followup.uuid]), data)
    new = Plan.objects.get(series=active.series, version=2)
    assert response.status_code == 302 and response["Location"] == new.get_absolute_url()
    assert new.steps.count() > 1 and new.followups.count() > 1


@pytest.mark.parametrize("others", SIZES)
def test_it_revises_a_plan_in_a_fixed_number_of_queries(client, clinician, clinic, active, others,
                                                        django_assert_num_queries):  # fmt: skip
    crowd(clinic, others)
    data = {"start_date": date(2026, 12, 1).isoformat(), "target_mg": "30", "tablet_strength_mg": "10",
            "days_per_step": "", "lock_version": active.lock_version}  # fmt: skip
    with time_machine.travel(PLAN_START - timedelta(days=2), tick=False):
        signed_in(client, clinician)
        with django_assert_num_queries(REVISE_POST_QUERIES):
            response = client.post(reverse("plans:plan_revise", args=[active.uuid]), data)
    new = Plan.objects.get(series=active.series, version=2)
    assert response.status_code == 302 and response["Location"] == new.get_absolute_url()
    assert new.status == Plan.Status.DRAFT and new.steps.count() > 1 and new.followups.count() > 1
