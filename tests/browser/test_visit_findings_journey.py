"""Journey: a visit finds a QTc of 505 ms -> continuing is refused next to the QTc and in a focused
summary -> "stop now" ends the course that day and the plan shows the finding."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from trialplanner.catalog.models import Indication
from trialplanner.patients.models import Patient
from trialplanner.patients.services import risk_profile_create
from trialplanner.plans import services


def test_it_refuses_continuing_after_a_critical_finding_and_stops_now(page, live_catalog, browser_user, log_in,
                                                                       screenshot):  # fmt: skip
    patient = Patient.objects.create(
        clinic=browser_user.memberships.get().clinic,
        display_name="Quinn Visit",
        date_of_birth=date(1990, 4, 4),
        sex="female",
        created_by=browser_user,
    )
    risk_profile_create(patient=patient, user=browser_user, fields={}, conditions=[], medications=[])
    plan = services.plan_create(
        patient=patient,
        indication=Indication.objects.get(slug="peripheral-neuropathic-pain"),
        user=browser_user,
        start_date=timezone.localdate() - timedelta(days=28),
        tablet_strength_mg=Decimal(10),
    )
    services.plan_activate(plan=plan, user=browser_user, lock_version=plan.lock_version, reasons={})

    log_in(browser_user.username)
    page.locator("table.worklist-today tbody tr").first.get_by_role("link", name="Record visit").click()
    expect(page.get_by_role("heading", name="Record visit: Quinn Visit")).to_be_visible()
    page.get_by_label("Usual for them").check()
    page.get_by_label("No", exact=True).check()
    page.get_by_label("QTc from a new ECG (ms)").fill("505")
    page.get_by_label("Continue as planned").check()
    page.get_by_role("button", name="Save visit").click()

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()  # the summary takes focus
    expect(summary).to_contain_text("QTc 505 ms")
    expect(summary.get_by_role("link", name="QTc from a new ECG (ms)")).to_be_visible()
    expect(page.locator("#id_qtc_ms")).to_have_attribute("aria-invalid", "true")
    screenshot("refused")

    page.get_by_label("Stop now, no taper (critical finding)").check()
    page.get_by_role("button", name="Save visit").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Stopped at once (no taper)")
    card = page.locator('article[data-code="visit-qtc-critical"]')
    expect(card).to_be_visible()
    expect(card).to_contain_text("Source: S41")
    expect(page.locator("table.dose-table tbody tr")).to_have_count(1)
    expect(page.get_by_role("cell", name="Recheck after a visit finding", exact=True)).to_be_visible()
    screenshot("stopped-now")
