"""Journey: patient -> new plan -> acknowledge a warning -> activate -> the dated dose table."""

from datetime import date

import pytest
from playwright.sync_api import expect

from trialplanner.patients.models import Patient
from trialplanner.patients.services import risk_profile_create


# The page checks the typed start date against today.
@pytest.mark.usefixtures("at_test_now")
def test_it_plans_and_activates_a_trial(page, live_catalog, browser_user, log_in, screenshot):
    patient = Patient.objects.create(
        clinic=browser_user.memberships.get().clinic,
        display_name="Harold Plan",
        date_of_birth=date(1950, 2, 2),
        sex="male",
        created_by=browser_user,
    )
    risk_profile_create(patient=patient, user=browser_user, fields={}, conditions=[], medications=[])
    log_in(browser_user.username)
    page.goto(patient.get_absolute_url())
    page.get_by_role("link", name="Plan a trial").click()
    page.get_by_role("link", name="Fibromyalgia").click()
    expect(page.get_by_role("heading", name="New plan: Fibromyalgia")).to_be_visible()
    expect(page.locator('article[data-code="older-age"]')).to_be_visible()
    page.get_by_label("Start date").fill("2026-12-01")
    page.get_by_role("button", name="Update preview").click()
    expect(page.locator("table.dose-table tbody tr")).to_have_count(3)
    screenshot("new-plan")
    page.get_by_role("button", name="Create draft plan").click()

    expect(page.get_by_text("Draft plan created")).to_be_visible()
    card = page.locator('article[data-code="older-age"]')
    # Activating without a reason: the summary at the top links to the card's reason, which shows the error.
    page.get_by_role("button", name="Activate plan").click()
    expect(page.locator("[data-error-summary]")).to_be_focused()
    expect(card.locator(".invalid-feedback, .text-danger").first).to_be_visible()
    card.get_by_label("Falls advice given; lying and standing blood pressure checked").check()
    card.get_by_label("Details, or your own reason").fill("Low dose, slow steps agreed.")
    screenshot("activation")
    page.get_by_role("button", name="Activate plan").click()

    expect(page.get_by_text("Plan activated.")).to_be_visible()
    rows = page.locator("table.dose-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Tue 1 Dec 2026")
    expect(rows.nth(0)).to_contain_text("1 × 10 mg tablet")
    expect(rows.nth(1)).to_contain_text("Tue 15 Dec 2026")
    expect(rows.nth(2)).to_contain_text("1 × 25 mg tablet")
    expect(
        page.get_by_text("Falls advice given; lying and standing blood pressure checked. Low dose, slow steps agreed.")
    ).to_be_visible()
    screenshot("active-plan")
