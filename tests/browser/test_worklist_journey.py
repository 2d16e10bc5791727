"""Journey: worklist -> record a visit with "step up" -> the plan shows the new dose."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from trialplanner.catalog.models import Indication
from trialplanner.patients.models import Patient
from trialplanner.patients.services import risk_profile_create
from trialplanner.plans import services


def test_it_records_a_visit_that_steps_up(page, live_catalog, browser_user, log_in, screenshot):
    patient = Patient.objects.create(
        clinic=browser_user.memberships.get().clinic,
        display_name="Ivy Worklist",
        date_of_birth=date(1990, 4, 4),
        sex="female",
        created_by=browser_user,
    )
    risk_profile_create(patient=patient, user=browser_user, fields={}, conditions=[], medications=[])
    # Started 4 weeks ago: the first review is due today and the 30 mg target was reached in week 3.
    start = timezone.localdate() - timedelta(days=28)
    plan = services.plan_create(
        patient=patient,
        indication=Indication.objects.get(slug="migraine-prophylaxis"),
        user=browser_user,
        start_date=start,
        tablet_strength_mg=Decimal(10),
        target_mg=Decimal(30),
    )
    services.plan_activate(plan=plan, user=browser_user, lock_version=plan.lock_version, reasons={})

    log_in(browser_user.username)
    today = page.locator("table.worklist-today tbody tr")
    expect(today).to_have_count(1)
    expect(today.first).to_contain_text("Ivy Worklist")
    screenshot("worklist")
    today.first.get_by_role("link", name="Record visit").click()

    expect(page.get_by_role("heading", name="Record visit: Ivy Worklist")).to_be_visible()
    page.get_by_label("Monthly headache days").fill("6")
    page.get_by_label("Dry mouth").check()
    page.get_by_label("Usual for them").check()
    page.get_by_label("No", exact=True).check()  # thoughts of self-harm: asked at every visit
    page.get_by_label("Step up one step").check()
    screenshot("visit-form")
    page.get_by_role("button", name="Save visit").click()

    expect(page.get_by_text("Visit recorded and the plan updated.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Migraine prophylaxis")
    first_row = page.locator("table.dose-table tbody tr").first
    expect(first_row).to_contain_text("40 mg")
    expect(first_row).to_contain_text("4 × 10 mg tablets")
    expect(page.get_by_text("· version 2 ·")).to_be_visible()
    screenshot("new-version")
