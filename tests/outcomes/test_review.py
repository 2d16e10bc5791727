"""The clinic outcome review: known trials in a constructed clinic give known counts and rates;
trials of another clinic never count; the queries do not grow with the number of patients."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from trialplanner.audit.models import AuditEvent
from trialplanner.catalog.models import Indication, OutcomeMeasure, PublishedOutcome
from trialplanner.engine import judge_response
from trialplanner.outcomes import review as rv
from trialplanner.patients.models import Patient
from trialplanner.patients.services import risk_profile_create
from trialplanner.plans import services
from trialplanner.plans.models import Plan

pytestmark = pytest.mark.django_db
START = date(2026, 9, 1)
TODAY = START + timedelta(days=100)  # past the 8-week judgement point of neuropathic pain
PERIOD = {"start": date(2026, 8, 1), "end": date(2026, 10, 31), "today": TODAY}


def trial(clinic, user, n, *, baseline=None, start=START, slug="peripheral-neuropathic-pain"):
    patient = Patient.objects.create(
        clinic=clinic, display_name=f"Trial {n}", date_of_birth=date(1990, 1, 1), sex="female", created_by=user
    )
    risk_profile_create(patient=patient, user=user, fields={}, conditions=[], medications=[])
    plan = services.plan_create(
        patient=patient,
        indication=Indication.objects.get(slug=slug),
        user=user,
        start_date=start,
        tablet_strength_mg=Decimal(10),
        baseline_score=baseline,
    )
    services.plan_activate(plan=plan, user=user, lock_version=plan.lock_version, reasons={})
    plan.refresh_from_db()
    return plan


def visit(plan, user, kind, score, *, side_effects=(), decision="continue", late=0):
    followup = plan.followups.get(kind=kind, status="due")
    new = services.followup_record_visit(
        followup=followup, user=user, visit_date=followup.due_date + timedelta(days=late), outcome_score=score,
        side_effects=list(side_effects), side_effects_other="", adherence="all", qtc_ms=None, decision=decision,
        notes="",
    )[1]  # fmt: skip
    return new or plan


@pytest.fixture
def clinic_trials(catalog, clinic, clinician, other_clinic, outsider):
    """Seven trials of the clinic (six in the period) and two of another clinic."""
    with time_machine.travel(TODAY, tick=False):
        responder = trial(clinic, clinician, 1, baseline=Decimal(8))
        visit(responder, clinician, "first-review", Decimal(6), side_effects=["dry_mouth"])
        responder = Plan.objects.get(series=responder.series, status="active")
        visit(responder, clinician, "response", Decimal(4), late=9)  # 50% fall: a response, seen late
        non_responder = trial(clinic, clinician, 2, baseline=Decimal(8))
        visit(non_responder, clinician, "response", Decimal("5.7"), side_effects=["dry_mouth", "drowsiness"])
        unjudged = trial(clinic, clinician, 3)  # no baseline score
        visit(unjudged, clinician, "response", Decimal(2))
        side_effect_stop = trial(clinic, clinician, 4, baseline=Decimal(7))
        services.plan_stop(
            plan=side_effect_stop,
            user=clinician,
            lock_version=side_effect_stop.lock_version,
            reason="Drowsy",
            stop_date=START + timedelta(days=10),
            stop_reason=Plan.StopReason.SIDE_EFFECT,
        )
        no_response_stop = trial(clinic, clinician, 5, baseline=Decimal(6))
        services.plan_stop(
            plan=no_response_stop,
            user=clinician,
            lock_version=no_response_stop.lock_version,
            reason="",
            stop_date=START + timedelta(days=20),
            stop_reason=Plan.StopReason.NO_RESPONSE,
        )
        missed = trial(clinic, clinician, 6, baseline=Decimal(5))
        services.followup_mark_missed(
            followup=missed.followups.get(kind="first-review"), user=clinician, reason="Did not attend"
        )
        trial(clinic, clinician, 7, baseline=Decimal(5), start=date(2026, 6, 1))  # before the period
        for n in (8, 9):  # another clinic: responders who must never count here
            other = trial(other_clinic, outsider, n, baseline=Decimal(8))
            visit(other, outsider, "response", Decimal(1), side_effects=["constipation"])
    return clinic


def figures(result):
    every = [*result.figures, *result.stops, *result.side_effects, *result.medians, *result.followups]
    return {f.key: (f.count, f.denominator) for f in every}


def test_it_gives_known_figures_for_known_trials(clinic_trials):
    result = rv.clinic_review(clinic=clinic_trials, indication=None, **PERIOD)
    got = figures(result)
    assert got["started"] == (6, None)
    # Target (50 mg) starts on day 28; trials 4 and 5 stopped before it.
    assert got["reached_target"] == (4, 6)
    assert got["baseline"] == (5, 6)
    assert got["judged"] == (2, 6)  # trial 3 has no baseline
    assert got["responded"] == (1, 2)  # 8 -> 4 is 50%; 8 -> 5.7 is 28.75%
    assert got["stopped"] == (2, 6)
    assert got["stop_side_effect"] == (1, 6) and got["stop_no_response"] == (1, 6)
    assert got["side_effect_dry_mouth"] == (2, 3) and got["side_effect_drowsiness"] == (1, 3)
    assert "side_effect_constipation" not in got  # only the other clinic's patients had it
    assert got["median_days_to_target"] == (28, 4)
    # Continued at the day-28 review: the judgement stays counted from the course start (day 56), seen 9 days late.
    assert got["median_days_to_response"] == (65, 1)
    assert got["followups_missed"][0] == 1
    assert got["followups_late"][0] == 1


def test_it_applies_an_indication_filter_and_reviews_another_clinic(clinic_trials, other_clinic):
    fibro = Indication.objects.get(slug="fibromyalgia")
    assert rv.clinic_review(clinic=clinic_trials, indication=fibro, **PERIOD).started == 0
    other = figures(rv.clinic_review(clinic=other_clinic, indication=None, **PERIOD))
    assert other["started"] == (2, None) and other["responded"] == (2, 2)


def test_it_matches_the_sql_judgement_to_the_engine(catalog, clinic, clinician):
    """Scores at the edge of the threshold: the review's SQL and engine.judge_response agree."""
    pairs = [("7.0", "4.9"), ("8.1", "5.7"), ("10", "7"), ("10", "7.1"), ("3.3", "2.3"), ("0", "0")]
    with time_machine.travel(TODAY, tick=False):
        for n, (baseline, score) in enumerate(pairs):
            visit(trial(clinic, clinician, n, baseline=Decimal(baseline)), clinician, "response", Decimal(score))
    measure = OutcomeMeasure.objects.get(slug="pain-nrs")
    facts = services.measure_facts(measure)
    expected = sum(judge_response(facts, Decimal(b), Decimal(s)).responded for b, s in pairs)
    result = figures(rv.clinic_review(clinic=clinic, indication=None, **PERIOD))
    assert result["responded"] == (expected, len(pairs))
    assert expected == 3  # 30% exactly, 30%, and 30.3%


@time_machine.travel(TODAY, tick=False)
def test_it_keeps_the_page_and_export_to_the_clinics_own(client, clinic_trials, clinician, outsider):
    client.force_login(clinician)
    query = {"start": "2026-08-01", "end": "2026-10-31"}
    body = client.get(reverse("outcomes:outcome_review"), query).content.decode()
    assert 'data-figure="responded"' in body and 'data-count="1"' in body
    export = client.get(reverse("outcomes:outcome_review_csv"), query)
    rows = [line.split(",") for line in export.content.decode().splitlines()]
    started = next(r for r in rows if r[1] == "Trials started" and r[0] == "Trials")
    assert started[2] == "6"
    responded = next(r for r in rows if r[1] == "Responded at the judgement visit" and r[0] == "Trials")
    assert responded[2:] == ["<5", "<5", ""]  # small cells suppressed, and their percentage
    assert AuditEvent.objects.filter(object_type="outcome_review", action="print", clinic=clinic_trials).exists()
    client.force_login(outsider)
    body = client.get(reverse("outcomes:outcome_review"), query).content.decode()
    assert "Beta Clinic" in body and "Alpha Practice" not in body


def test_it_shows_a_bad_period_as_an_error_on_its_field(client, clinician):
    client.force_login(clinician)
    response = client.get(reverse("outcomes:outcome_review"), {"start": "2026-10-01", "end": "2026-09-01"})
    assert response.status_code == 200
    assert response.context["form"].errors["end"] == [response.context["form"].error_messages["order"]]


def test_it_compares_published_figures_only_when_definitions_match(clinic_trials):
    fibro = Indication.objects.get(slug="fibromyalgia")
    [(published, compared, why)] = rv.clinic_review(clinic=clinic_trials, indication=fibro, **PERIOD).comparisons
    assert not compared and "FIQR" in why
    pain = Indication.objects.get(slug="peripheral-neuropathic-pain")
    PublishedOutcome.objects.create(
        slug="test-30",
        indication=pain,
        definition="At least 30% relief",
        measure=pain.outcome_measure,
        response_rule="percent_fall",
        response_threshold=30,
        timepoint="8 weeks",
        treated_percent=40,
    )
    rows = rv.clinic_review(clinic=clinic_trials, indication=pain, **PERIOD).comparisons
    assert [(p.slug, c) for p, c, _ in rows] == [("dpnp-option-dm-responders", False), ("test-30", True)]


@time_machine.travel(TODAY, tick=False)
def test_it_does_not_grow_the_queries_with_patients(client, catalog, clinic, clinician):
    client.force_login(clinician)
    url = reverse("outcomes:outcome_review")

    def queries():
        client.get(url)  # the first view fills per-process caches (navigation); measure the next
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, {"start": "2026-08-01", "end": "2026-10-31"}).status_code == 200
        return len(ctx.captured_queries)

    visit(trial(clinic, clinician, 1, baseline=Decimal(8)), clinician, "response", Decimal(4))
    few = queries()
    for n in range(2, 8):
        plan = trial(clinic, clinician, n, baseline=Decimal(8))
        visit(plan, clinician, "response", Decimal(n), side_effects=["dizziness"])
    assert queries() == few


def test_it_applies_suppression_to_small_counts():
    assert [rv.suppressed(v) for v in (None, 0, 1, 4, 5, 12)] == ["", "0", "<5", "<5", "5", "12"]
    assert rv.median({3: 1}) == 3 and rv.median({1: 1, 5: 1}) == 3 and rv.median({}) is None
    assert rv.median({2: 2, 9: 1}) == 2


@time_machine.travel(TODAY, tick=False)
def test_it_neutralises_formulas_and_hides_every_small_cell_in_the_export(client, clinic_trials, clinician):
    import csv
    import io

    clinic_trials.name = '=HYPERLINK("http://evil.example","x")'
    clinic_trials.save()
    client.force_login(clinician)
    export = client.get(reverse("outcomes:outcome_review_csv"), {"start": "2026-08-01", "end": "2026-10-31"})
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[1][:2] == ["Clinic", "'" + clinic_trials.name]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    # No count of 1-4 patients leaves the clinic, and no median computed over fewer than 5 trials.
    for section, _label, count, denominator, _percent in rows[5:]:
        for cell in (count, denominator) if not _label.startswith("Median") else (denominator,):
            assert not (cell.isdigit() and 0 < int(cell) < rv.SMALL_CELL), (section, _label, cell)
    medians = {r[1]: r[2:4] for r in rows if r[1].startswith("Median")}
    assert medians and all(value == ["", "<5"] for value in medians.values())
    assert AuditEvent.objects.filter(object_type="outcome_review", action="print", detail__startswith="CSV").exists()


@time_machine.travel(TODAY, tick=False)
def test_it_explains_next_to_the_download_why_the_csv_hides_small_counts(client, clinic_trials, clinician):
    client.force_login(clinician)
    body = client.get(reverse("outcomes:outcome_review"), {"start": "2026-08-01", "end": "2026-10-31"}).content.decode()
    start = body.index("Download CSV")
    form = body[start : body.index("</form>", start)]
    assert f"counts from 1 to {rv.SMALL_CELL - 1} read “&lt;{rv.SMALL_CELL}”" in form
    assert "cannot single out a few patients" in form
