"""The stored per-trial outcome rows: the plan services keep them equal to a recomputation from
the records, and the review's queries stay the same in number however many trials there are."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.outcomes import test_review
from tests.outcomes.test_review import PERIOD, START, TODAY, trial, visit
from trialplanner.outcomes import review as rv
from trialplanner.outcomes import services as outcomes
from trialplanner.outcomes.models import TrialOutcome
from trialplanner.plans import services
from trialplanner.plans.models import Plan

pytestmark = pytest.mark.django_db
clinic_trials = test_review.clinic_trials  # the constructed clinic (a fixture)
FIELDS = [f.name for f in TrialOutcome._meta.fields if f.name != "series"]


def stored():
    return {row.series: tuple(getattr(row, f) for f in FIELDS) for row in TrialOutcome.objects.all()}


def assert_matches_recomputation():
    kept = stored()
    assert kept, "no outcome rows at all"
    with time_machine.travel(TODAY, tick=False):  # the day the rows were written
        outcomes.refresh_all(batch=3)  # small batches: the rebuild's batching must not change a row
    assert stored() == kept


def test_it_keeps_every_trial_row_equal_to_a_recomputation(clinic_trials, clinician):
    assert TrialOutcome.objects.count() == 9  # seven trials here, two in the other clinic
    assert_matches_recomputation()
    with time_machine.travel(TODAY, tick=False):
        plan = trial(clinic_trials, clinician, 20, baseline=Decimal(9))
        visit(plan, clinician, "first-review", Decimal(5), side_effects=["constipation"], decision="stop")
        assert TrialOutcome.objects.get(series=plan.series).stopped  # stopped at the visit (a taper began)
        wrong = trial(clinic_trials, clinician, 21, baseline=Decimal(9))
        services.plan_mark_entered_in_error(
            plan=wrong, user=clinician, lock_version=wrong.lock_version, reason="Wrong patient"
        )
        assert not TrialOutcome.objects.filter(series=wrong.series).exists()
    assert_matches_recomputation()


def test_it_stores_what_happened_to_a_trial(clinic_trials):
    responder = TrialOutcome.objects.get(series=Plan.objects.filter(patient__display_name="Trial 1")[0].series)
    assert (responder.started, responder.has_baseline, responder.judged, responded_on(responder)) == (
        START,
        True,
        True,
        START + timedelta(days=65),
    )
    assert responder.side_effects == ",dry_mouth," and responder.target_on == START + timedelta(days=28)
    stopped = TrialOutcome.objects.get(series=Plan.objects.filter(patient__display_name="Trial 4")[0].series)
    assert (stopped.stopped, stopped.stop_reason, stopped.target_on) == (True, "side_effect", None)


def responded_on(row):
    return row.response_on if row.responded else None


def test_it_rebuilds_rows_lost_or_edited_by_hand(clinic_trials):
    kept = stored()
    TrialOutcome.objects.all().update(responded=False, side_effects="")
    TrialOutcome.objects.first().delete()
    with time_machine.travel(TODAY, tick=False):
        outcomes.refresh_all()
    assert stored() == kept


def figures(clinic, today):
    result = rv.clinic_review(clinic=clinic, indication=None, start=PERIOD["start"], end=PERIOD["end"], today=today)
    return {f.key: (f.count, f.denominator) for f in [*result.figures, *result.followups, *result.medians]}


@pytest.mark.parametrize(
    "when", ["60 days before", "the day before the first expiry", "the first expiry", "200 days on"]
)
def test_it_counts_follow_ups_live_once_their_stored_counts_ran_out(clinic_trials, when):
    """Days pass without writes: follow-ups fall due and become late. The review counts the trials
    whose stored counts ran out live, and agrees with rows rewritten on that day."""
    first = TrialOutcome.objects.exclude(followups_valid_until=None).order_by("followups_valid_until")[0]
    later = {
        "60 days before": TODAY - timedelta(days=60),
        "the day before the first expiry": first.followups_valid_until - timedelta(days=1),
        "the first expiry": first.followups_valid_until,
        "200 days on": TODAY + timedelta(days=200),
    }[when]
    expired = TrialOutcome.objects.filter(followups_valid_until__lte=later).count()
    assert (expired > 0) == (when in ("the first expiry", "200 days on"))
    seen_live = figures(clinic_trials, later)
    with time_machine.travel(datetime.combine(later, time(12)), tick=False):  # midday: the same day in every clinic
        rewritten = outcomes.refresh_expired()
    assert rewritten == (TrialOutcome.objects.count() if later < TODAY else expired)
    assert not TrialOutcome.objects.filter(followups_valid_until__lte=later).exists()
    assert figures(clinic_trials, later) == seen_live
    if when == "200 days on":  # follow-ups fell due and went unseen since TODAY
        before = figures_at_today(clinic_trials)
        assert seen_live["followups_due"][0] > before["followups_due"][0]
        assert seen_live["followups_overdue"][0] > before["followups_overdue"][0]


def figures_at_today(clinic):
    return figures(clinic, TODAY)


@time_machine.travel(TODAY, tick=False)
def test_it_runs_the_same_queries_for_2_and_12_trials(client, catalog, clinic, clinician):
    """The review and its CSV: queries pinned at two sizes (the page 12, the CSV 11)."""
    client.force_login(clinician)
    query = {"start": "2026-08-01", "end": "2026-10-31"}

    def count(name):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse(name), query).status_code == 200
        return len(ctx.captured_queries)

    def add(first, last):
        for n in range(first, last):
            plan = trial(clinic, clinician, n, baseline=Decimal(8))
            visit(plan, clinician, "response", Decimal(n % 8), side_effects=["dizziness"])

    add(0, 2)
    client.get(reverse("outcomes:outcome_review"))  # the first view of a session reads more; measure the next
    few = (count("outcomes:outcome_review"), count("outcomes:outcome_review_csv"))
    add(2, 12)
    assert (count("outcomes:outcome_review"), count("outcomes:outcome_review_csv")) == few == (12, 11)
    assert TrialOutcome.objects.filter(clinic=clinic, started__gte=date(2026, 8, 1)).count() == 12


def test_it_rewrites_expired_rows_from_the_nightly_command(clinic_trials):
    from io import StringIO

    from django.core.management import call_command

    later = TODAY + timedelta(days=200)
    expired = TrialOutcome.objects.filter(followups_valid_until__lte=later).count()
    out = StringIO()
    with time_machine.travel(datetime.combine(later, time(12)), tick=False):
        call_command("refresh_trial_outcomes", stdout=out)
        assert out.getvalue().strip() == f"{expired} trial rows rewritten"
        call_command("refresh_trial_outcomes", "--all", stdout=out)
    assert out.getvalue().splitlines()[-1] == f"{TrialOutcome.objects.count()} trial rows rewritten"
    assert not TrialOutcome.objects.filter(followups_valid_until__lte=later).exists()
