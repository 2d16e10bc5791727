"""The per-day and per-month tallies the outcome review reads: any period is cut into buckets that
count each start day once; the tallies the writes keep equal sums of the trial rows; the review
gives the same figures from tallies as from the trial rows, for any period."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from tests.outcomes.test_review import START, TODAY, trial, visit
from tests.plans.test_lifecycle import run_together
from trialplanner.catalog.models import Indication, ReasonPreset
from trialplanner.outcomes import review as rv
from trialplanner.outcomes import services as outcomes
from trialplanner.outcomes import tally
from trialplanner.outcomes.models import TrialOutcome, TrialTally
from trialplanner.patients.models import Patient
from trialplanner.patients.services import risk_profile_create
from trialplanner.plans import services
from trialplanner.plans.models import Plan

days = st.dates(min_value=date(2023, 1, 1), max_value=date(2029, 12, 31))


@given(days, st.integers(min_value=0, max_value=3 * 366))
def test_it_cuts_a_period_into_buckets_that_count_each_day_once(start, length):
    end = start + timedelta(days=length)
    months, ranges = tally.spans(start, end)
    counted = []
    if months is not None:
        month = months[0]
        assert month.day == 1 and months[1].day == 1 and months[0] <= months[1]
        while month <= months[1]:
            last = tally.month_end(month)
            counted += [month + timedelta(days=n) for n in range((last - month).days + 1)]
            month = last + timedelta(days=1)
    for first, last in ranges:
        counted += [first + timedelta(days=n) for n in range((last - first).days + 1)]
    assert sorted(counted) == [start + timedelta(days=n) for n in range(length + 1)]
    assert len(ranges) <= 2 and sum((last - first).days + 1 for first, last in ranges) <= 60


def kept_tallies():
    return {
        (t.clinic_id, t.indication_id, t.span, t.first_day): (t.counts, t.target_days, t.response_days)
        for t in TrialTally.objects.all()
        if t.counts  # a bucket emptied by a trial entered in error keeps an empty tally
    }


def assert_tallies_are_sums_of_rows(today):
    """The tallies the writes kept count exactly what a sum of the trial rows counts, and hold today."""
    late_days = outcomes.late_days_now()
    rows = list(TrialOutcome.objects.all())
    summed = tally.rebuild(rows, {row.clinic_id: today for row in rows}, late_days)
    assert kept_tallies() == {
        (t.clinic_id, t.indication_id, t.span, t.first_day): (t.counts, t.target_days, t.response_days) for t in summed
    }
    for kept in TrialTally.objects.exclude(counts={}):
        assert tally.holds(kept, today, late_days), kept
    assert sum(t.counts["trials"] for t in summed if t.span == "month") == len(rows)


def warned_trial(clinic, user, n, start, reasons):
    """A trial of a 76-year-old on sertraline: two warnings, acknowledged with these reasons."""
    patient = Patient.objects.create(
        clinic=clinic, display_name=f"Warned {n}", date_of_birth=date(1950, 1, 1), sex="male", created_by=user
    )
    risk_profile_create(patient=patient, user=user, fields={}, conditions=[], medications=[{"name": "sertraline"}])
    plan = services.plan_create(
        patient=patient, indication=Indication.objects.get(slug="peripheral-neuropathic-pain"), user=user,
        start_date=start, tablet_strength_mg=Decimal(10), baseline_score=Decimal(7),
    )  # fmt: skip
    services.plan_activate(plan=plan, user=user, lock_version=plan.lock_version, reasons=reasons)
    return plan


def preset(code):
    return ReasonPreset.objects.filter(rules__code=code).order_by("display_order", "key")[0].text


@pytest.fixture
def spread_trials(catalog, clinic, clinician, other_clinic, outsider):
    """Trials started across month edges, with visits, stops, a missed follow-up and warnings."""
    with time_machine.travel(TODAY, tick=False):
        starts = [date(2026, 7, 31), date(2026, 8, 1), date(2026, 8, 15), START, date(2026, 9, 30), date(2026, 10, 1)]
        for n, start in enumerate(starts):
            plan = trial(clinic, clinician, n, baseline=Decimal(8), start=start)
            visit(plan, clinician, "first-review", Decimal(8 - n), side_effects=["dry_mouth"][: n % 2])
            if n == 2:
                plan = Plan.objects.get(series=plan.series, status="active")
                services.plan_stop(plan=plan, user=clinician, lock_version=plan.lock_version, reason="Sleepy",
                                   stop_date=TODAY, stop_reason=Plan.StopReason.SIDE_EFFECT)  # fmt: skip
            if n == 4:
                services.followup_mark_missed(
                    followup=Plan.objects.get(series=plan.series, status="active").followups.get(kind="response"),
                    user=clinician, reason="Did not attend",
                )  # fmt: skip
        trial(clinic, clinician, 9, start=date(2026, 9, 2), slug="fibromyalgia")
        older, serotonin = preset("older-age"), preset("serotonergic-drug")
        whys = [f"{serotonin.rstrip('.')}. On 50 mg sertraline", serotonin, "Low dose, agreed with the patient"]
        for n, (start, why) in enumerate(zip([date(2026, 8, 31), START, START], whys, strict=True)):
            warned_trial(clinic, clinician, n, start, {"older-age": older, "serotonergic-drug": why})
        trial(other_clinic, outsider, 10, baseline=Decimal(8), start=START)
    return clinic


@pytest.mark.django_db
def test_it_keeps_the_tallies_equal_to_sums_of_the_trial_rows(spread_trials, clinician):
    assert_tallies_are_sums_of_rows(TODAY)
    with time_machine.travel(TODAY, tick=False):
        wrong = trial(spread_trials, clinician, 20, baseline=Decimal(9), start=date(2026, 8, 15))
        assert_tallies_are_sums_of_rows(TODAY)
        services.plan_mark_entered_in_error(
            plan=wrong, user=clinician, lock_version=wrong.lock_version, reason="Wrong patient"
        )
    assert_tallies_are_sums_of_rows(TODAY)
    counts = TrialTally.objects.get(span="day", first_day=date(2026, 8, 15), clinic=spread_trials).counts
    assert counts["trials"] == 1 and counts["stop:side_effect"] == 1 and counts["visited"] == 1


@pytest.mark.django_db
def test_it_counts_each_warning_and_reason_once_per_trial(spread_trials):
    result = rv.clinic_review(clinic=spread_trials, indication=None, start=date(2026, 8, 1),
                              end=date(2026, 9, 30), today=TODAY)  # fmt: skip
    assert {f.key: (f.count, f.denominator) for f in result.warnings} == {
        "warning_older-age": (3, result.started),
        "warning_serotonergic-drug": (3, result.started),
    }
    # Counted by the preset chosen, details added or not; the clinician's own words together.
    assert [(n, reason) for _label, reason, n in result.reasons] == [
        (3, preset("older-age")),
        (2, preset("serotonergic-drug")),
        (1, rv.OWN_WORDS),
    ]


def review(clinic, start, end, today, indication=None):
    result = rv.clinic_review(clinic=clinic, indication=indication, start=start, end=end, today=today)
    every = [*result.figures, *result.stops, *result.side_effects, *result.medians, *result.followups,
             *result.warnings]  # fmt: skip
    return (
        {f.key: (f.label, f.count, f.denominator) for f in every},
        result.reasons,
        [(name, f.count, f.denominator, n) for name, f, n in result.by_indication],
    )


PERIODS = [
    (date(2026, 8, 1), date(2026, 10, 31)),  # whole months
    (date(2026, 7, 31), date(2026, 10, 1)),  # a day each side
    (date(2026, 8, 2), date(2026, 9, 30)),  # part of August, all of September
    (date(2026, 8, 15), date(2026, 8, 15)),  # one day
    (date(2026, 8, 16), date(2026, 9, 14)),  # no start day inside
    (date(2025, 12, 10), date(2026, 12, 9)),  # a year, across the new year
]


@pytest.mark.django_db
@pytest.mark.parametrize("start, end", PERIODS)
@pytest.mark.parametrize("later", [0, 40])
def test_it_gives_the_same_figures_from_the_tallies_as_from_the_trial_rows(spread_trials, start, end, later):
    """The tallies that hold today are read as they are; ran out, the review counts their trials' rows."""
    today = TODAY + timedelta(days=later)  # 40 days on: follow-ups fell due and went unseen
    read = review(spread_trials, start, end, today)
    started = read[0]["started"][1]
    assert started == TrialOutcome.objects.filter(clinic=spread_trials, started__range=(start, end)).count()
    TrialTally.objects.update(valid_until=TODAY)  # every tally ran out: counted from the rows
    assert review(spread_trials, start, end, today) == read
    with time_machine.travel(datetime.combine(today, time(12)), tick=False):
        outcomes.refresh_expired()  # the nightly rebuild: tallies again, the same figures
    assert TrialTally.objects.filter(valid_until__lte=today).count() == 0
    assert review(spread_trials, start, end, today) == read
    assert_tallies_are_sums_of_rows(today)


@pytest.mark.django_db
def test_it_counts_a_period_by_indication_from_the_tallies(spread_trials):
    fibro = Indication.objects.get(slug="fibromyalgia")
    figures, _reasons, by_indication = review(spread_trials, date(2026, 9, 1), date(2026, 9, 30), TODAY, fibro)
    assert figures["started"][1] == 1 and [row[0] for row in by_indication] == [fibro.name]
    everything = review(spread_trials, date(2026, 9, 1), date(2026, 9, 30), TODAY)
    assert everything[0]["started"][1] == 5 and len(everything[2]) == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")
def test_it_loses_no_count_when_visits_in_one_month_are_recorded_at_once(transactional_db, catalog, clinic, clinician):
    """Four visits on four trials of one start day, at the same moment: each tally write waits its turn."""
    with time_machine.travel(TODAY, tick=False):
        plans = [trial(clinic, clinician, n, baseline=Decimal(8)) for n in range(4)]

        def record(plan):
            return lambda: visit(plan, clinician, "first-review", Decimal(3), side_effects=["dizziness"])

        results = run_together(*(record(plan) for plan in plans))
    assert [outcome for outcome, _ in results] == ["ok"] * 4, results
    assert_tallies_are_sums_of_rows(TODAY)
    month = TrialTally.objects.get(span="month", first_day=START.replace(day=1)).counts
    assert month["visited"] == 4 and month["effect:dizziness"] == 4


def test_it_stops_holding_a_count_the_day_a_target_is_reached():
    """A trial whose target step lies ahead counts as not reached until that day, and no longer."""
    row = TrialOutcome(
        clinic_id=1, indication_id=1, started=date(2026, 9, 1), target_on=date(2026, 9, 29),
        followups_as_of=date(2026, 9, 1), followups_valid_until=None,
        followups_late_days=7, side_effects="", warnings=[],
    )  # fmt: skip
    before = tally.contribution(row, date(2026, 9, 28), 7)
    assert "reached" not in before.counts and before.valid_until == date(2026, 9, 29)
    on = tally.contribution(row, date(2026, 9, 29), 7)
    assert on.counts["reached"] == 1 and on.counts["target:28"] == 1 and on.valid_until is None


@given(st.dictionaries(st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=10**6), max_size=40))
def test_it_stores_a_histogram_of_days_densely_and_reads_it_back(histogram):
    kept = tally.dense(histogram)
    assert len(kept) == (max(histogram) - min(histogram) + 2 if histogram else 0)
    read = {}
    tally.add_dense(read, kept)
    tally.add_dense(read, kept)
    assert read == {days: 2 * n for days, n in histogram.items()}
    shifted = tally.dense({days - 30: n for days, n in histogram.items()})
    assert tally.merge_dense([kept, [], shifted, kept]) == {
        days: histogram.get(days, 0) * 2 + histogram.get(days + 30, 0)
        for days in {*histogram, *(d - 30 for d in histogram)}
        if histogram.get(days, 0) * 2 + histogram.get(days + 30, 0)
    }


@pytest.mark.django_db
def test_it_shows_reasons_by_preset_and_own_words_together_on_the_page(spread_trials, client, clinician):
    from django.urls import reverse

    with time_machine.travel(TODAY, tick=False):
        client.force_login(clinician)
        page = client.get(reverse("outcomes:outcome_review"), {"start": "2026-08-01", "end": "2026-09-30"})
    html = page.content.decode()
    assert page.status_code == 200
    assert f"“{preset('older-age')}” (3)" in html.replace("&#x27;", "'")
    assert f"<em>{rv.OWN_WORDS}</em> (1)" in html.replace("&#x27;", "'")
    assert "Low dose, agreed with the patient" not in html  # free text stays on its plan, not in the review


@pytest.mark.django_db
def test_it_locks_and_rebuilds_more_tallies_than_one_sqlite_expression_holds(catalog, clinic):
    """1,200 buckets (a late_days change makes every tally of a big clinic run out at once)."""
    indications = list(Indication.objects.values_list("pk", flat=True)[:2])
    first = date(2025, 1, 1)
    TrialTally.objects.bulk_create(
        TrialTally(clinic=clinic, indication_id=indications[n % 2], span="day",
                   first_day=first + timedelta(days=n // 2), counts={"trials": 1}, as_of=first, late_days=1)
        for n in range(1200)
    )  # fmt: skip
    keys = [(t.clinic_id, t.indication_id, t.span, t.first_day) for t in TrialTally.objects.all()]
    assert len(tally._locked(keys)) == 1200
    late_days = outcomes.late_days_now()
    assert outcomes.rebuild_tallies(clinic, TODAY, late_days) == 1200  # counted with another late_days
    assert not TrialTally.objects.exclude(counts={}).exists()  # no trial rows behind them


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")
def test_it_lets_the_nightly_rebuild_and_visits_run_at_once(transactional_db, catalog, clinic, clinician):
    """The nightly command locks the clinic's tallies in the writers' order: no deadlock, no lost count."""
    with time_machine.travel(TODAY, tick=False):
        plans = [trial(clinic, clinician, n, baseline=Decimal(8), start=START + timedelta(days=n)) for n in range(3)]
    TrialTally.objects.update(valid_until=TODAY)  # every tally ran out: the nightly rebuild has work
    with time_machine.travel(datetime.combine(TODAY, time(12)), tick=False):

        def record(plan):
            return lambda: visit(plan, clinician, "first-review", Decimal(3))

        results = run_together(outcomes.refresh_expired, *(record(plan) for plan in plans))
    assert [outcome for outcome, _ in results] == ["ok"] * 4, results
    assert_tallies_are_sums_of_rows(TODAY)
