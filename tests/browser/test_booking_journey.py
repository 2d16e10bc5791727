"""Journey: worklist -> Book -> a bad time is refused on its field -> booked -> the worklist shows the time."""

from datetime import date, timedelta
from decimal import Decimal

from playwright.sync_api import expect

from trialplanner.catalog.models import Indication
from trialplanner.clinictime import clinic_today
from trialplanner.patients.models import Patient
from trialplanner.patients.services import risk_profile_create
from trialplanner.plans import services

PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1366, "height": 900}


def test_it_books_an_appointment_from_the_worklist(page, live_catalog, browser_user, log_in, screenshot):
    clinic = browser_user.memberships.get().clinic
    patient = Patient.objects.create(
        clinic=clinic,
        display_name="Rosa Booking",
        date_of_birth=date(1988, 6, 6),
        sex="female",
        created_by=browser_user,
    )
    risk_profile_create(patient=patient, user=browser_user, fields={}, conditions=[], medications=[])
    today = clinic_today(clinic)
    # Started 4 weeks ago: the first review is due today.
    plan = services.plan_create(
        patient=patient,
        indication=Indication.objects.get(slug="migraine-prophylaxis"),
        user=browser_user,
        start_date=today - timedelta(days=28),
        tablet_strength_mg=Decimal(10),
        target_mg=Decimal(30),
    )
    services.plan_activate(plan=plan, user=browser_user, lock_version=plan.lock_version, reasons={})

    log_in(browser_user.username)
    row = page.locator("table.worklist-today tbody tr").first
    expect(row).to_contain_text("Rosa Booking")
    row.get_by_role("link", name="Book appointment").click()

    expect(page.get_by_role("heading", name="Book appointment: Rosa Booking")).to_be_visible()
    day = today + timedelta(days=2)
    page.get_by_label("Appointment date").fill(day.isoformat())
    page.get_by_label("Time (optional)").fill("2:30pm")
    page.get_by_role("button", name="Book appointment").click()

    summary = page.locator("[data-error-summary]")
    expect(summary).to_contain_text("Enter the time as HH:MM on the 24-hour clock")
    expect(page.locator("#id_time")).to_have_attribute("aria-invalid", "true")
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        screenshot(f"form-error-{name}")

    page.get_by_label("Time (optional)").fill("14:30")
    page.get_by_role("button", name="Book appointment").click()
    expect(page.get_by_text("Rosa Booking: appointment booked for")).to_be_visible()
    booked = page.locator("table.worklist-week tbody tr", has_text="Rosa Booking")
    expect(booked).to_contain_text("14:30")
    expect(booked).to_contain_text("booked")
    screenshot("worklist-booked")

    booked.get_by_role("link", name="Book appointment").click()
    expect(page.get_by_label("Time (optional)")).to_have_value("14:30")
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        screenshot(f"form-{name}")
