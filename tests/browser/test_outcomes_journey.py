"""Journey: a trial with visits and a stop -> its trajectory on the plan page -> the clinic review.

Screenshots of both go to tests/artifacts/screenshots/ for a person to look at."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from trialplanner.catalog.models import Indication
from trialplanner.patients.models import Patient
from trialplanner.patients.services import risk_profile_create
from trialplanner.plans import services
from trialplanner.plans.models import Plan


def test_it_shows_a_trajectory_and_the_clinic_review(page, live_catalog, browser_user, log_in, screenshot):
    clinic = browser_user.memberships.get().clinic
    patient = Patient.objects.create(
        clinic=clinic,
        display_name="Olive Outcome",
        date_of_birth=date(1985, 5, 5),
        sex="female",
        created_by=browser_user,
    )
    risk_profile_create(patient=patient, user=browser_user, fields={}, conditions=[], medications=[])
    today = timezone.localdate()
    plan = services.plan_create(
        patient=patient,
        indication=Indication.objects.get(slug="peripheral-neuropathic-pain"),
        user=browser_user,
        start_date=today - timedelta(days=100),
        tablet_strength_mg=Decimal(10),
        baseline_score=Decimal(8),
    )
    services.plan_activate(plan=plan, user=browser_user, lock_version=plan.lock_version, reasons={})
    for kind, score, effects in [("first-review", "6", ["dry_mouth"]), ("response", "3", [])]:
        active = Plan.objects.get(series=plan.series, status="active")
        followup = active.followups.filter(kind=kind, status="due").first()
        services.followup_record_visit(
            followup=followup,
            user=browser_user,
            visit_date=min(followup.due_date, today),
            outcome_score=Decimal(score),
            side_effects=effects,
            side_effects_other="",
            adherence="all",
            qtc_ms=None,
            decision="continue",
            notes="",
        )
    active = Plan.objects.get(series=plan.series, status="active")

    log_in(browser_user.username)
    page.goto(active.get_absolute_url())
    chart = page.locator("svg.trajectory-chart")
    expect(chart).to_be_visible()
    expect(page.locator(".trajectory-status")).to_contain_text("Pain NRS down 62% from baseline: response")
    expect(chart.locator("circle.score")).to_have_count(2)
    expect(page.locator("table.visit-history tbody tr")).to_have_count(2)
    page.locator("#trajectory-heading").scroll_into_view_if_needed()
    screenshot("plan-trajectory")

    page.get_by_role("link", name="Outcomes").click()
    expect(page.get_by_role("heading", name="Clinic outcome review")).to_be_visible()
    expect(page.locator('tr[data-figure="started"] td').first).to_have_text("1")
    expect(page.locator('tr[data-figure="responded"] td').first).to_have_text("1")
    screenshot("outcome-review")
