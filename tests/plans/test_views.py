"""Plan pages: new plan with preview, the plan page, activation, revision, stop; scoping."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from tests.plans.conftest import START, with_history
from trialplanner.plans import services
from trialplanner.plans.forms import ActivateForm
from trialplanner.plans.models import Plan

# The forms check the posted start and stop dates against today.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_test_now")]


def new_url(patient, slug="peripheral-neuropathic-pain"):
    return reverse("plans:plan_new", args=[patient.uuid]) + f"?indication={slug}"


def form_data(**overrides):
    data = {"indication": "peripheral-neuropathic-pain", "start_date": START.isoformat(), "target_mg": "50",
            "tablet_strength_mg": "10", "days_per_step": ""}  # fmt: skip
    data.update(overrides)
    return data


@pytest.fixture
def draft(young_patient, indication, clinician, with_profile):
    with_profile(young_patient)
    return services.plan_create(patient=young_patient, indication=indication, user=clinician, start_date=START)


def test_it_previews_cards_and_doses_on_the_new_plan_page(client, clinician, patient, with_profile, catalog):
    with_profile(patient, medications=["sertraline"])
    client.force_login(clinician)
    response = client.get(new_url(patient))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-code="older-age"' in body and 'data-code="serotonergic-drug"' in body
    assert "At least 14 days per step instead of 7." in body
    assert response.context["rows"][0]["per_night"] == "1 × 10 mg tablet"


def test_it_updates_the_preview_from_the_form_by_get(client, clinician, young_patient, with_profile, catalog):
    with_profile(young_patient)
    client.force_login(clinician)
    response = client.get(new_url(young_patient), form_data(target_mg="30"))
    assert [row["dose_mg"] for row in response.context["rows"]] == [10, 20, 30]
    assert not Plan.objects.exists()


def test_it_creates_a_draft_on_posting(client, clinician, young_patient, with_profile, catalog):
    with_profile(young_patient)
    client.force_login(clinician)
    response = client.post(new_url(young_patient), form_data(target_mg="40"))
    plan = Plan.objects.get()
    assert response.status_code == 302 and response["Location"] == plan.get_absolute_url()
    assert (plan.status, plan.target_mg, plan.created_by) == ("draft", Decimal(40), clinician)


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"target_mg": "100"}, "target_mg"),
        ({"start_date": "not a date"}, "start_date"),
        ({"days_per_step": "3"}, "days_per_step"),
        ({"tablet_strength_mg": "7"}, "tablet_strength_mg"),
        ({"start_date": "2020-01-01"}, "start_date"),
    ],
)
def test_it_treats_bad_input_as_a_field_error_and_saves_nothing(client, clinician, young_patient, with_profile, catalog,
                                                                overrides, field):  # fmt: skip
    with_profile(young_patient, "epilepsy")
    client.force_login(clinician)
    response = client.post(new_url(young_patient), form_data(**overrides))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Plan.objects.exists()


def test_it_cannot_create_a_plan_for_a_blocked_patient(client, clinician, young_patient, with_profile, catalog):
    with_profile(young_patient, "severe-liver-disease")
    client.force_login(clinician)
    page = client.get(new_url(young_patient)).content.decode()
    assert "Blocked." in page
    response = client.post(new_url(young_patient), form_data())
    assert "blocked by critical findings" in response.content.decode()
    assert not Plan.objects.exists()


def test_it_shows_the_dated_table_on_the_plan_page(client, colleague, draft):
    client.force_login(colleague)
    response = client.get(draft.get_absolute_url())
    body = response.content.decode()
    assert response.status_code == 200
    assert "Tue 1 Dec 2026" in body and "Mon 7 Dec 2026" in body
    assert "2 × 10 mg tablets" in body and "14 × 10 mg" in body
    assert "Activate plan" in body


@pytest.mark.parametrize(
    "name, method",
    [
        ("plan_detail", "get"),
        ("plan_revise", "get"),
        ("plan_activate", "post"),
        ("plan_stop", "post"),
        ("plan_mark_error", "post"),
    ],
)
def test_it_gives_an_outsider_404_everywhere(client, outsider, draft, name, method):
    client.force_login(outsider)
    response = getattr(client, method)(reverse(f"plans:{name}", args=[draft.uuid]), {"lock_version": "0"})
    assert response.status_code == 404
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_it_records_reasons_on_activation_through_the_page(client, clinician, patient, indication, with_profile):
    with_profile(patient)
    plan = services.plan_create(patient=patient, indication=indication, user=clinician, start_date=START)
    client.force_login(clinician)
    url = reverse("plans:plan_activate", args=[plan.uuid])
    missing = client.post(url, {"lock_version": plan.lock_version})
    assert missing.status_code == 400
    assert ActivateForm.error_messages["reason_missing"] in missing.content.decode()
    response = client.post(url, {"lock_version": plan.lock_version, "reason_older-age": "Shared decision"})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == "active"
    assert plan.acknowledgements.get().reason == "Shared decision"


def test_it_gives_a_stale_form_a_conflict_message(client, clinician, draft):
    client.force_login(clinician)
    stale = draft.lock_version
    client.post(reverse("plans:plan_activate", args=[draft.uuid]), {"lock_version": stale})
    response = client.post(reverse("plans:plan_mark_error", args=[draft.uuid]), {"lock_version": stale, "reason": "x"})
    assert response.status_code == 409
    assert "Someone else changed this plan" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "active"


def test_it_keeps_the_old_version_when_revising_through_the_page(client, clinician, draft):
    client.force_login(clinician)
    url = reverse("plans:plan_revise", args=[draft.uuid])
    response = client.post(url, {**form_data(target_mg="30"), "lock_version": draft.lock_version})
    new = Plan.objects.get(version=2)
    assert response["Location"] == new.get_absolute_url()
    draft.refresh_from_db()
    assert draft.status == "revised"
    page = client.get(new.get_absolute_url()).content.decode()
    assert "Version 1" in page and "Version 2" in page


def test_it_opens_the_taper_when_stopping_through_the_page(client, clinician, draft):
    client.force_login(clinician)
    services.plan_activate(plan=draft, user=clinician, lock_version=draft.lock_version, reasons={})
    draft.refresh_from_db()
    response = client.post(
        reverse("plans:plan_stop", args=[draft.uuid]),
        {
            "lock_version": draft.lock_version,
            "stop_reason": "no_response",
            "reason": "Not helping",
            "stop_date": "2026-12-20",
        },
    )
    taper = Plan.objects.get(kind="taper")
    assert response["Location"] == taper.get_absolute_url()
    assert "Taper to stop" in client.get(taper.get_absolute_url()).content.decode()


def test_it_lists_plans_on_the_patient_page(client, clinician, draft):
    client.force_login(clinician)
    body = client.get(draft.patient.get_absolute_url()).content.decode()
    assert draft.get_absolute_url() in body and "Draft" in body


# session, user, two-factor devices (TOTP, recovery codes), memberships, the plan with its patient and
# indication, audit insert, clinic (for its today), navigation counts; the record: steps, outcome measure,
# baseline score, series versions, protocol, the trajectory (steps, visits and acknowledgements of the
# series), measure sources, monitoring names, follow-ups, acknowledgements, version list
PLAN_PAGE_QUERIES = 22


@pytest.mark.parametrize("visits, followups", [(0, 0), (4, 40)])
def test_it_renders_the_plan_page_with_a_fixed_number_of_queries(
    client, clinician, active, visits, followups, django_assert_num_queries
):
    plan = with_history(active, clinician, visits=visits, followups=followups)
    with time_machine.travel(date(2027, 1, 15), tick=False):
        client.force_login(clinician)
        client.get(plan.get_absolute_url())  # the first request of a session writes it
        with django_assert_num_queries(PLAN_PAGE_QUERIES):
            response = client.get(plan.get_absolute_url())
    assert response.status_code == 200
    assert (plan.version, len(response.context["followups"])) == (1 + visits, plan.followups.count())
    assert plan.followups.count() >= followups


def test_it_names_the_cards_behind_an_adjustment_by_title(client, clinician, young_patient, indication, with_profile):
    with_profile(young_patient, medications=["paroxetine"])  # a strong CYP2D6 inhibitor: cyp2d6-reduced
    client.force_login(clinician)
    preview = client.get(new_url(young_patient))
    title = next(c.title for c in preview.context["assessment"].cards if c.code == "cyp2d6-reduced")
    assert "cyp2d6-reduced" in [code for a in preview.context["draft"].adjustments for code in a.because]
    plan = services.plan_create(patient=young_patient, indication=indication, user=clinician, start_date=START)
    assert "cyp2d6-reduced" in [code for a in plan.adjustments for code in a["because"]]  # codes stay in the data
    for body in (preview.content.decode(), client.get(plan.get_absolute_url()).content.decode()):
        shown = body[body.index("Adjustments") :]
        assert "(because of: " in shown and title in shown
        assert "cyp2d6-reduced" not in shown.split("(because of: ", 1)[1].split(")", 1)[0]
