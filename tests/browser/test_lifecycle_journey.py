"""Journeys of issue 14 where a person meets the lifecycle rules: a second course is blocked on the
new-plan page, an out-of-date draft is refused with a link to the current version, and a stop date
years ahead is a message on its field."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from trialplanner.catalog.models import Indication
from trialplanner.patients.models import Patient
from trialplanner.patients.services import risk_profile_create
from trialplanner.plans import services
from trialplanner.plans.models import Plan


def _course(user, name):
    """A patient with no findings and an active neuropathic-pain course started today."""
    patient = Patient.objects.create(
        clinic=user.memberships.get().clinic,
        display_name=name,
        date_of_birth=date(1990, 4, 4),
        sex="female",
        created_by=user,
    )
    risk_profile_create(patient=patient, user=user, fields={}, conditions=[], medications=[])
    plan = services.plan_create(
        patient=patient,
        indication=Indication.objects.get(slug="peripheral-neuropathic-pain"),
        user=user,
        start_date=timezone.localdate(),
        tablet_strength_mg=Decimal(10),
    )
    services.plan_activate(plan=plan, user=user, lock_version=plan.lock_version, reasons={})
    plan.refresh_from_db()
    return patient, plan


def _revise(plan, user, target):
    plan.refresh_from_db()
    return services.plan_revise(
        plan=plan, user=user, lock_version=plan.lock_version, start_date=plan.start_date, target_mg=Decimal(target)
    )


def test_it_blocks_a_second_course_on_the_new_plan_page(page, live_catalog, browser_user, log_in, screenshot):
    patient, course = _course(browser_user, "Dana Course")
    log_in(browser_user.username)
    page.goto(patient.get_absolute_url())
    page.get_by_role("link", name="Plan a trial").click()
    page.get_by_role("link", name="Migraine prophylaxis").click()

    card = page.locator('article[data-code="duplicate-course"]')
    expect(card).to_be_visible()
    expect(card).to_contain_text("Another amitriptyline course is active")
    expect(page.get_by_text("Blocked.")).to_be_visible()
    expect(page.get_by_role("button", name="Create draft plan")).to_be_disabled()
    screenshot("duplicate-course")
    assert list(Plan.objects.filter(patient=patient).values_list("pk", flat=True)) == [course.pk]


def test_it_refuses_an_out_of_date_draft_and_links_the_current_version(page, live_catalog, browser_user, log_in,
                                                                       screenshot):  # fmt: skip
    # The example of issue 14: revise v1 twice (drafts v2 and v3), activate v3, then activate v2.
    patient, course = _course(browser_user, "Elliot Draft")
    v2 = _revise(course, browser_user, 30)
    v3 = _revise(course, browser_user, 40)
    log_in(browser_user.username)
    page.goto(v2.get_absolute_url())  # v2 is still current while this page is open
    activate = page.get_by_role("button", name="Activate plan")
    expect(activate).to_be_visible()

    services.plan_activate(plan=v3, user=browser_user, lock_version=v3.lock_version, reasons={})  # another tab
    activate.click()

    notice = page.get_by_role("region", name="Out of date")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("built from version 1, but version 3 is the current one now")
    expect(page.get_by_role("button", name="Activate plan")).to_have_count(0)
    screenshot("stale-draft")
    notice.get_by_role("link", name="Open version 3").click()
    expect(page).to_have_url(f"{page.url.split('/plans/')[0]}{v3.get_absolute_url()}")
    v2.refresh_from_db(), v3.refresh_from_db()
    assert (v2.status, v3.status) == ("draft", "active")


def test_it_shows_a_stop_date_years_ahead_as_a_message_on_its_field(
    page, live_catalog, browser_user, log_in, screenshot
):
    patient, course = _course(browser_user, "Frankie Stop")
    log_in(browser_user.username)
    page.goto(course.get_absolute_url())
    page.get_by_text("Stop with a taper").click()
    page.get_by_label("Side effects", exact=True).check()
    page.get_by_label("First day of the taper").fill("9999-12-31")
    page.get_by_role("button", name="Stop and taper").click()

    field = page.get_by_label("First day of the taper")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("The taper cannot start more than 90 days ahead.").first).to_be_visible()
    screenshot("far-stop-date")
    course.refresh_from_db()
    assert course.status == "active" and not Plan.objects.filter(patient=patient, kind="taper").exists()
    # A date within the window still works from the same form.
    page.get_by_label("First day of the taper").fill((timezone.localdate() + timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Stop and taper").click()
    expect(page.get_by_text("Plan stopped").first).to_be_visible()
