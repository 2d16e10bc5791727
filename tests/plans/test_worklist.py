"""The worklist: grouping at midnight in two clinic time zones and across DST; query counts."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
import time_machine
from django.urls import reverse

from tests.conftest import make_user
from trialplanner.plans import worklist
from trialplanner.plans.models import FollowUp, Plan

pytestmark = pytest.mark.django_db


def make_plan(patient, user, indication):
    return Plan.objects.create(
        patient=patient,
        indication=indication,
        status=Plan.Status.ACTIVE,
        start_date=date(2026, 1, 1),
        end_date=date(2027, 12, 31),
        start_mg=Decimal(10),
        target_mg=Decimal(50),
        ceiling_mg=Decimal(75),
        days_per_step=7,
        target_date=date(2026, 2, 1),
        response_date=date(2026, 3, 1),
        protocol_snapshot={},
        engine_input={},
        clinician=user,
        created_by=user,
    )


@pytest.fixture
def london_plan(patient, clinician, indication):
    patient.clinic.time_zone = "Europe/London"
    patient.clinic.save()
    return make_plan(patient, clinician, indication)


@pytest.fixture
def ny_user_plan(django_user_model, indication, other_clinic):
    from trialplanner.patients.models import Patient

    user = make_user(django_user_model, "nadia", other_clinic)  # America/New_York
    patient = Patient.objects.create(
        clinic=other_clinic, display_name="NY Patient", date_of_birth=date(1980, 1, 1), sex="female", created_by=user
    )
    return user, make_plan(patient, user, indication)


def due(plan, day, kind=FollowUp.Kind.FIRST_REVIEW, **extra):
    return FollowUp.objects.create(plan=plan, due_date=day, kind=kind, **extra)


def groups_at(user, instant):
    with time_machine.travel(instant, tick=False):
        result = worklist.worklist(user, datetime.now(tz=UTC))
    pks = dict(FollowUp.objects.values_list("uuid", "pk"))
    return {key: [pks[UUID(row.uuid)] for row in rows] for key, rows in result.items()}


def test_it_changes_groups_at_local_midnight_in_london(clinician, london_plan):
    f = due(london_plan, date(2026, 6, 10))
    # 23:30 on 9 June in London (BST, UTC+1) is 22:30 UTC.
    assert f.pk in groups_at(clinician, datetime(2026, 6, 9, 22, 30, tzinfo=UTC))["week"]
    # 00:30 on 10 June in London is 23:30 UTC on 9 June: already "today" there.
    assert f.pk in groups_at(clinician, datetime(2026, 6, 9, 23, 30, tzinfo=UTC))["today"]
    assert f.pk in groups_at(clinician, datetime(2026, 6, 10, 23, 30, tzinfo=UTC))["overdue"]


def test_it_makes_the_same_instant_a_different_day_in_new_york(ny_user_plan):
    user, plan = ny_user_plan
    f = due(plan, date(2026, 6, 10))
    # 02:00 UTC on 10 June is still 9 June (22:00 EDT) in New York.
    assert f.pk in groups_at(user, datetime(2026, 6, 10, 2, 0, tzinfo=UTC))["week"]
    assert f.pk in groups_at(user, datetime(2026, 6, 10, 4, 30, tzinfo=UTC))["today"]


def test_it_handles_midnight_across_the_autumn_clock_change(clinician, london_plan):
    # Clocks go back at 02:00 BST on 25 October 2026: local midnight of 26 Oct is 00:00 UTC (GMT).
    f = due(london_plan, date(2026, 10, 26))
    assert f.pk in groups_at(clinician, datetime(2026, 10, 25, 23, 59, tzinfo=UTC))["week"]
    assert f.pk in groups_at(clinician, datetime(2026, 10, 26, 0, 0, tzinfo=UTC))["today"]


def test_it_handles_midnight_across_the_spring_clock_change_in_new_york(ny_user_plan):
    user, plan = ny_user_plan
    # Clocks go forward on 8 March 2026: midnight of 9 March is 04:00 UTC (EDT), not 05:00.
    f = due(plan, date(2026, 3, 9))
    assert f.pk in groups_at(user, datetime(2026, 3, 9, 3, 59, tzinfo=UTC))["week"]
    assert f.pk in groups_at(user, datetime(2026, 3, 9, 4, 0, tzinfo=UTC))["today"]


def test_it_groups_at_week_and_later_boundaries(clinician, london_plan):
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    in_week = due(london_plan, date(2026, 6, 7))
    later = due(london_plan, date(2026, 6, 8))
    beyond = due(london_plan, date(2026, 8, 1))
    result = groups_at(clinician, now)
    assert in_week.pk in result["week"] and later.pk in result["later"]
    assert beyond.pk not in sum(result.values(), [])


def test_it_groups_snoozed_and_closed_followups(clinician, london_plan):
    now = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    snoozed = due(london_plan, date(2026, 6, 1), status=FollowUp.Status.SNOOZED, snoozed_until=date(2026, 6, 12))
    done = due(london_plan, date(2026, 6, 1), status=FollowUp.Status.DONE)
    result = groups_at(clinician, now)
    assert snoozed.pk in result["week"]
    assert done.pk not in sum(result.values(), [])


def test_it_does_not_list_outsiders_and_inactive_plans(outsider, clinician, london_plan):
    f = due(london_plan, date(2026, 6, 1))
    now = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    assert groups_at(outsider, now)["overdue"] == []
    Plan.objects.filter(pk=london_plan.pk).update(status=Plan.Status.DRAFT)
    london_plan.followups.refresh_worklist()  # what the plan services do after any status change
    assert f.pk not in groups_at(clinician, now)["overdue"]


def test_it_shows_the_navigation_counts(client, clinician, london_plan):
    due(london_plan, date(2026, 6, 1))
    due(london_plan, date(2026, 6, 2))
    due(london_plan, date(2026, 6, 10))
    with time_machine.travel(datetime(2026, 6, 10, 12, 0, tzinfo=UTC), tick=False):
        assert worklist.counts(clinician, datetime.now(tz=UTC)) == {"overdue": 2, "today": 1}
        client.force_login(clinician)
        body = client.get(reverse("plans:worklist")).content.decode()
    assert '2<span class="visually-hidden"> overdue</span>' in body


def add_followups(plan, count, base=date(2026, 6, 1), days=20):
    followups = [FollowUp(plan=plan, due_date=base + timedelta(days=i % days), kind=FollowUp.Kind.PERIODIC)
                 for i in range(count)]  # fmt: skip
    for f in followups:
        f.fill_worklist_fields()
    FollowUp.objects.bulk_create(followups)


# session, user, two-factor devices (TOTP, recovery codes), memberships, filter clinicians and indications,
# capped counts (also the navigation's), rows, audit insert
WORKLIST_QUERIES = 10


@pytest.mark.parametrize("count", [30, 1000])
def test_it_uses_a_fixed_number_of_queries_on_the_worklist_page(client, clinician, london_plan, count,
                                                                django_assert_num_queries):  # fmt: skip
    add_followups(london_plan, count)
    with time_machine.travel(datetime(2026, 6, 10, 12, 0, tzinfo=UTC), tick=False):
        client.force_login(clinician)  # on the day travelled to: the idle logout counts from the log-in
        client.get(reverse("plans:worklist"))  # the first request of a session writes it
        with django_assert_num_queries(WORKLIST_QUERIES):
            first = client.get(reverse("plans:worklist")).context["page"]
        with django_assert_num_queries(WORKLIST_QUERIES):
            response = client.get(reverse("plans:worklist"), {"after": first.next_cursor})
    page = response.context["page"]
    assert page.capped == (count > worklist.COUNT_CAP)
    assert page.has_previous and page.shown == min(worklist.PAGE_SIZE, count - worklist.PAGE_SIZE)


def test_it_lists_the_most_urgent_first_on_pages_with_whole_group_counts(client, clinician, london_plan):
    add_followups(london_plan, 120)
    now = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 1-9 June overdue (54), 10 June today (6), 11-20 June week/later
    first = worklist.page(clinician, now, size=50)
    second = worklist.page(clinician, now, after=first.next_cursor, size=50)
    third = worklist.page(clinician, now, after=second.next_cursor, size=50)
    assert first.counts == {"overdue": 54, "today": 6, "week": 36, "later": 24}
    assert (first.total, first.shown, first.has_previous, first.has_next) == (120, 50, False, True)
    assert [len(rows) for _, _, rows, _, _ in first.groups] == [50, 0, 0, 0]
    assert [where for *_, where in first.groups] == ["later"] * 4  # 4 overdue are on page 2
    assert [len(rows) for _, _, rows, _, _ in second.groups] == [4, 6, 36, 4]
    assert (third.shown, third.has_previous, third.has_next) == (20, True, False)
    assert [where for *_, where in third.groups] == ["earlier"] * 4  # 97-100 (later) are on page 2
    walked = [f for p in (first, second, third) for _, _, rows, _, _ in p.groups for f in rows]
    in_order = FollowUp.objects.filter(plan=london_plan).order_by("due_date", "id").values_list("uuid", flat=True)
    assert [f.uuid for f in walked] == [str(u) for u in in_order]  # every row once, most urgent first
    back = worklist.page(clinician, now, before=third.previous_cursor, size=50)
    assert [f.uuid for _, _, rows, _, _ in back.groups for f in rows] == [
        f.uuid for _, _, rows, _, _ in second.groups for f in rows
    ]
    assert back.has_previous and back.has_next


def test_it_stops_counts_at_the_cap(client, clinician, london_plan):
    add_followups(london_plan, 150, days=5)  # 1-5 June: all overdue on 10 June
    now = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    assert worklist.counts(clinician, now) == {"overdue": worklist.COUNT_CAP + 1, "today": 0}
    with time_machine.travel(now, tick=False):
        client.force_login(clinician)
        body = client.get(reverse("plans:worklist")).content.decode()
    assert '99+<span class="visually-hidden"> overdue</span>' in body


@pytest.mark.parametrize(
    "cursor", ["garbage", "2026-06-01.not-a-uuid", "2026-13-01.00000000-0000-0000-0000-000000000000"]
)
def test_it_shows_the_first_page_for_a_bad_cursor(client, clinician, london_plan, cursor):
    add_followups(london_plan, 30)
    with time_machine.travel(datetime(2026, 6, 10, 12, 0, tzinfo=UTC), tick=False):
        client.force_login(clinician)
        response = client.get(reverse("plans:worklist"), {"after": cursor, "before": cursor})
    assert response.status_code == 200
    assert not response.context["page"].has_previous


def test_it_applies_worklist_filters(client, clinician, colleague, london_plan, indication):
    from trialplanner.patients.models import Patient

    mine = due(london_plan, date(2026, 6, 10))
    # The colleague's plan is for another patient: one patient has one active course at a time.
    theirs_patient = Patient.objects.create(
        clinic=london_plan.patient.clinic,
        display_name="Second Patient",
        date_of_birth=date(1970, 1, 1),
        sex="male",
        created_by=colleague,
    )
    other = make_plan(theirs_patient, colleague, indication)
    theirs = due(other, date(2026, 6, 10), kind=FollowUp.Kind.PERIODIC)
    with time_machine.travel(datetime(2026, 6, 10, 12, 0, tzinfo=UTC), tick=False):
        client.force_login(clinician)
        by_clinician = client.get(reverse("plans:worklist"), {"clinician": colleague.username}).context["groups"]
        by_kind = client.get(reverse("plans:worklist"), {"kind": "first-review"}).context["groups"]
    today = {key: rows for key, _, rows, _, _ in by_clinician}["today"]
    assert [f.uuid for f in today] == [str(theirs.uuid)]
    assert [f.uuid for f in {key: rows for key, _, rows, _, _ in by_kind}["today"]] == [str(mine.uuid)]
