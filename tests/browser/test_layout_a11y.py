"""Every page a clinician works on, at a phone's 390 px and a ward computer's 1366 px: axe-core finds
no serious or critical problem, no two lines of text overlap, and every action button is on screen."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.browser.conftest import SCREENSHOTS
from tests.browser.layout import check_page
from tests.conftest import PASSWORD
from trialplanner.audit.models import AuditEvent
from trialplanner.catalog.models import Indication
from trialplanner.patients.models import Membership, Patient
from trialplanner.patients.services import risk_profile_create
from trialplanner.plans import selectors, services
from trialplanner.plans.models import FollowUp

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}


@pytest.fixture
def world(live_catalog, browser_user):
    """An older patient on sertraline with an active plan whose first review is overdue."""
    browser_user.is_staff = browser_user.is_superuser = True  # the admin is checked too
    browser_user.save()
    browser_user.memberships.update(role=Membership.Role.LEAD)  # the audit trail is checked too
    patient = Patient.objects.create(
        clinic=browser_user.memberships.get().clinic,
        display_name="Margaret Longname-Worthington",
        mrn="MRN-0042",
        date_of_birth=date(1950, 2, 2),
        sex="female",
        created_by=browser_user,
        phone="07700 900123",
    )
    risk_profile_create(
        patient=patient, user=browser_user, fields={}, conditions=[], medications=[{"name": "sertraline"}]
    )
    plan = services.plan_create(
        patient=patient,
        indication=Indication.objects.get(slug="migraine-prophylaxis"),
        user=browser_user,
        start_date=timezone.localdate() - timedelta(days=20),
        tablet_strength_mg=Decimal(10),
    )
    reasons = {c.code: "Discussed with patient: benefit judged to outweigh risk." for c in
               selectors.current_assessment(plan).warning_cards}  # fmt: skip
    services.plan_activate(plan=plan, user=browser_user, lock_version=plan.lock_version, reasons=reasons)
    # A visit at the overdue first review fills the visit history and the chart's markers.
    first = plan.followups.filter(status__in=FollowUp.OPEN).order_by("due_date").first()
    _visit, replanned = services.followup_record_visit(
        followup=first,
        user=browser_user,
        visit_date=timezone.localdate() - timedelta(days=2),
        decision="continue",
        outcome_score=Decimal(6),
        side_effects=["dry_mouth"],
        adherence="most",
    )
    plan = replanned or plan
    followup = plan.followups.filter(status__in=FollowUp.OPEN).order_by("due_date").first()
    AuditEvent.objects.create(
        clinic=patient.clinic,
        user=browser_user,
        patient=patient,
        action="view",
        object_type="patient",
        object_id=str(patient.uuid),
        detail="a long detail " * 4,
        request_id="b" * 32,
    )
    return {
        "worklist": reverse("plans:worklist"),
        "patients": reverse("patients:patient_list"),
        "patient": patient.get_absolute_url(),
        "risk-form": reverse("patients:risk_profile_edit", args=[patient.uuid]),
        "new-plan": reverse("plans:plan_new", args=[patient.uuid]) + "?indication=fibromyalgia",
        "plan": plan.get_absolute_url(),
        "visit": reverse("plans:followup_visit", args=[followup.uuid]),
        "book": reverse("plans:followup_book", args=[followup.uuid]),
        "handout": reverse("handouts:handout", args=[plan.uuid]),
        "library": reverse("catalog:indication_list"),
        "audit": reverse("audit:audit_list"),
        "admin": reverse("admin:index"),
        "admin-rules": reverse("admin:catalog_rule_changelist"),
    }


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_it_makes_pages_fit_and_pass_axe(browser, live_server, world, browser_user, viewport):
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS[viewport])
    context.set_default_timeout(15_000)
    page = context.new_page()
    # Inline styles or scripts the CSP blocks (the admin's included), and missing files such as an icon.
    console = []
    page.on("console", lambda msg: console.append((page.url, msg.text)) if msg.type == "error" else None)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        page.goto("/login/")
        page.get_by_label("Username").fill(browser_user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/worklist/")
        found = {}
        for name, url in world.items():
            page.goto(url)

            def shot(label, name=name):
                page.screenshot(path=str(SCREENSHOTS / f"layout-{viewport}-{label}.png"), full_page=True)

            problems = check_page(page, shot, name, wide=viewport == "desktop")
            if problems:
                found[name] = problems
        assert not found, found
        assert console == []
    finally:
        context.close()


def logged_in_page(browser, live_server, browser_user, viewport):
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS[viewport])
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(browser_user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/worklist/")
    return context, page


def test_it_keeps_the_chart_readable_on_a_phone_in_a_sideways_scrolling_region(browser, live_server, world,
                                                                               browser_user):  # fmt: skip
    context, page = logged_in_page(browser, live_server, browser_user, "phone")
    try:
        page.goto(world["plan"])
        region = page.get_by_role("region", name="Trajectory chart")
        assert region.get_attribute("tabindex") == "0"
        # The date labels are drawn 10 units high: at least 9 px on screen, not shrunk to fit 390 px.
        heights = page.locator(".trajectory-chart text.tick-x").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().height)"
        )
        assert heights and min(heights) >= 9, heights
        assert region.evaluate("el => el.scrollWidth > el.clientWidth")
        region.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => document.querySelector('.trajectory-scroll').scrollLeft > 0")
    finally:
        context.close()
