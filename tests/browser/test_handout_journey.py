"""Journey: plan page -> print view -> PDF download."""

from datetime import date
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from trialplanner.catalog.models import Indication
from trialplanner.patients.models import Patient
from trialplanner.patients.services import risk_profile_create
from trialplanner.plans import services


def test_it_prints_and_downloads_the_handout(page, live_catalog, browser_user, log_in, screenshot, tmp_path):
    patient = Patient.objects.create(
        clinic=browser_user.memberships.get().clinic,
        display_name="Jon Handout",
        date_of_birth=date(1985, 5, 5),
        sex="male",
        created_by=browser_user,
        preferred_language="es",
    )
    risk_profile_create(patient=patient, user=browser_user, fields={}, conditions=[], medications=[])
    plan = services.plan_create(
        patient=patient,
        indication=Indication.objects.get(slug="irritable-bowel-syndrome"),
        user=browser_user,
        start_date=timezone.localdate(),
        tablet_strength_mg=Decimal(10),
    )
    services.plan_activate(plan=plan, user=browser_user, lock_version=plan.lock_version, reasons={})

    log_in(browser_user.username)
    page.goto(plan.get_absolute_url())
    page.get_by_role("link", name="Patient handout").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Su plan de amitriptilina")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your amitriptyline plan")
    expect(page.locator("table.doses tbody tr").first).to_contain_text("1 tablet of 10 mg")
    screenshot("print-view")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == "amitriptyline-plan-v1-en.pdf"
    path = tmp_path / "handout.pdf"
    download.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
