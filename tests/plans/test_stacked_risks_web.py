"""Reference A.4 through the web forms: the QT tally and its specialist advice, stacked sodium, frail shaping,
dated checks on the plan page and the handout."""

import re
from datetime import date

import pytest
from django.urls import reverse

from tests.patients.test_risk_profiles import risk_data
from tests.plans.conftest import START
from trialplanner.plans import selectors, services
from trialplanner.plans.models import Acknowledgement, Plan

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_test_now")]
SEVEN = ["furosemide 40 mg od", "citalopram 40 mg od", "methadone 120 mg daily", "ondansetron 8 mg bd",
         "hydroxyzine 25 mg nocte", "tramadol 50 mg qds"]  # fmt: skip


def born(patient, day):
    patient.date_of_birth = day
    patient.save()
    return patient


def post_profile(client, patient, *conditions, meds=(), **fields):
    url = reverse("patients:risk_profile_edit", args=[patient.uuid])
    response = client.post(url, risk_data(*conditions, meds=[{"name": m} for m in meds], **fields))
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    return response


def new_plan(client, patient, **fields):
    url = reverse("plans:plan_new", args=[patient.uuid]) + "?indication=peripheral-neuropathic-pain"
    data = {"indication": "peripheral-neuropathic-pain", "start_date": START.isoformat(), "target_mg": "",
            "tablet_strength_mg": "10", "days_per_step": "", **fields}  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    return Plan.objects.filter(patient=patient).latest("created_at")


def handout_of(client, plan):
    """Activate the draft (a reason for each warning), then the patient's handout."""
    warnings = selectors.current_assessment(plan).warning_cards
    reasons = {card.code: services.CardReason("Discussed with the patient.") for card in warnings}
    services.plan_activate(plan=plan, user=plan.clinician, lock_version=plan.lock_version, reasons=reasons)
    response = client.get(reverse("handouts:handout", args=[plan.uuid]))
    assert response.status_code == 200
    return response.content.decode()


def cards_in_order(html):
    """The codes of the activation form's cards, in page order."""
    section = html.split('id="activate-heading"', 1)[1].split("</form>", 1)[0]
    return re.findall(r'<article class="card[^"]*" data-code="([^"]+)"', section)


@pytest.fixture
def seventy(client, clinician, patient):
    client.force_login(clinician)
    return born(patient, date(1956, 5, 17))  # 70 on the start date, female


def test_the_seven_warning_patient_cannot_start_without_recorded_specialist_advice(client, seventy):
    post_profile(client, seventy, meds=SEVEN, qtc_ms="462", ecg_date="2026-11-20", potassium="3.3",
                 bloods_date="2026-11-20")  # fmt: skip
    plan = new_plan(client, seventy)
    html = client.get(plan.get_absolute_url()).content.decode()
    order = cards_in_order(html)
    assert order[0] == "qt-tally-high"
    assert "score 13" in html and "Only recorded specialist advice is accepted here" in html
    assert "qt-drug" not in order and "ssri-qt-dose" not in order  # folded under the tally: one reason
    reasons = {f"preset_{code}": "discussed-benefit" for code in order if code != "qt-tally-high"}
    url = reverse("plans:plan_activate", args=[plan.uuid])
    refused = client.post(url, {"lock_version": plan.lock_version, **reasons, "reason_qt-tally-high": "Benefit."})
    assert refused.status_code == 400
    assert "Record who gave the specialist advice" in refused.content.decode()
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DRAFT
    future = client.post(url, {"lock_version": plan.lock_version, **reasons, "advice_by_qt-tally-high": "Dr Rao",
                               "advice_on_qt-tally-high": "2026-12-05"})  # fmt: skip
    assert "cannot be in the future" in future.content.decode()
    done = client.post(
        url,
        {"lock_version": plan.lock_version, **reasons, "advice_by_qt-tally-high": "Dr A Rao, cardiology",
         "advice_on_qt-tally-high": "2026-11-28", "reason_qt-tally-high": "Go ahead; ECG at each step."},
    )  # fmt: skip
    assert done.status_code == 302
    plan.refresh_from_db()
    assert plan.status == Plan.Status.ACTIVE
    ack = Acknowledgement.objects.get(plan=plan, card_code="qt-tally-high")
    assert (ack.advice_by, ack.advice_on) == ("Dr A Rao, cardiology", date(2026, 11, 28))
    assert ack.reason.startswith("Specialist advice from Dr A Rao, cardiology on 2026-11-28")


def test_furosemide_and_citalopram_at_70_is_one_raised_warning_with_dated_ecgs(client, seventy):
    post_profile(client, seventy, meds=["furosemide 40 mg od", "citalopram 20 mg od"])
    plan = new_plan(client, seventy)
    html = client.get(plan.get_absolute_url()).content.decode()
    assert "qt-tally-raised" in cards_in_order(html) and "score 9" in html
    assert "not known" in html  # no ECG, no potassium on file
    baseline = plan.followups.get(kind="baseline")
    assert "baseline-ecg" in baseline.assess and "potassium-magnesium" in baseline.assess
    assert any("repeat-ecg-at-target" in f.assess and f.due_date == plan.target_date for f in plan.followups.all())
    assert plan.steps.get(number=1).awaits == []  # the baseline visit on the start date holds those checks


def test_an_older_patient_on_sertraline_gets_dated_sodium_checks_and_held_rises(client, seventy):
    post_profile(client, seventy, meds=["sertraline 50 mg od"])
    plan = new_plan(client, seventy)
    check = next(f for f in plan.followups.all() if "sodium-after-start" in f.assess)
    assert 14 <= (check.due_date - plan.start_date).days <= 28
    rises = list(plan.steps.filter(number__gt=1))
    assert all(s.start_date >= check.due_date for s in rises)
    assert "sodium-after-start" in rises[0].awaits
    html = client.get(plan.get_absolute_url()).content.decode()
    assert "waits for" in html and "Sodium 2-4 weeks after the start" in html
    handout = handout_of(client, plan)
    assert "Do not take this higher dose until the clinic has your blood test" in handout


def test_a_frail_84_year_old_with_dementia_gets_20_mg_and_a_review_before_each_rise(client, clinician, patient):
    client.force_login(clinician)
    born(patient, date(1942, 5, 17))
    post_profile(client, patient, "dementia", frail="on")
    plan = new_plan(client, patient)
    assert plan.target_mg == 20
    rises = list(plan.steps.filter(number__gt=1))
    assert rises and all("rise-review" in s.awaits for s in rises)
    for rise in rises:
        assert any(f.due_date == rise.start_date and "rise-review" in f.assess for f in plan.followups.all())
    handout = handout_of(client, plan)
    assert "a check with the clinic (by phone or a visit)" in handout
