"""Recording a visit: each decision re-plans through the engine; snooze and missed."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from tests.plans.conftest import START
from trialplanner.plans import services
from trialplanner.plans.forms import VisitForm
from trialplanner.plans.models import FollowUp, Plan, Visit

pytestmark = pytest.mark.django_db
VISIT_DAY = START + timedelta(days=15)  # the third week: 30 mg


def record(plan, user, decision, **fields):
    followup = plan.followups.filter(status="due").first()
    values = {"visit_date": VISIT_DAY, "outcome_score": None, "side_effects": [], "side_effects_other": "",
              "adherence": "all", "qtc_ms": None, "decision": decision, "notes": "", "mood": "usual",
              "self_harm_thoughts": False}  # fmt: skip
    values.update(fields)
    return services.followup_record_visit(followup=followup, user=user, **values)


def doses(plan):
    return [s.dose_mg for s in plan.steps.all()]


@pytest.mark.parametrize(
    "decision, expected, kind",
    [
        ("continue", [30, 40, 50], "titration"),
        ("step_up", [40, 50], "titration"),
        ("hold", [30], "titration"),
        ("step_down", [20], "titration"),
        ("stop", [20, 10, 5, 0], "taper"),
    ],
)
def test_it_makes_the_right_new_version_for_each_decision(active, clinician, decision, expected, kind):
    visit, new = record(active, clinician, decision)
    active.refresh_from_db()
    assert (new.version, new.status, new.kind, new.start_date) == (2, "active", kind, VISIT_DAY)
    assert doses(new) == expected
    assert active.status == ("stopped" if decision == "stop" else "revised")
    assert doses(active) == [10, 20, 30, 40, 50]  # the previous version is kept as it was
    assert (visit.plan, visit.new_plan, visit.dose_mg) == (active, new, Decimal(30))
    assert visit.followup.status == "done"


def test_it_judges_the_response_against_the_baseline(active, clinician):
    active.baseline_score = Decimal(8)  # as recorded with the plan
    active.save()
    record(active, clinician, "continue", outcome_score=Decimal(7), visit_date=START + timedelta(days=1))
    new = Plan.objects.get(version=2)
    assert new.baseline_score == Decimal(8)  # carried to the new version
    visit, _ = record(new, clinician, "continue", outcome_score=Decimal(5), visit_date=VISIT_DAY)
    assert "meets the response threshold" in visit.response_text
    assert "(37%)" in visit.response_text


def test_it_does_not_take_a_later_review_score_as_a_baseline(active, clinician):
    first, _ = record(active, clinician, "continue", outcome_score=Decimal(8), visit_date=START + timedelta(days=1))
    new = Plan.objects.get(version=2)
    visit, _ = record(new, clinician, "continue", outcome_score=Decimal(5), visit_date=VISIT_DAY)
    assert first.response_text == visit.response_text == ""


def test_it_refuses_continuing_and_offers_stop_now_for_a_qtc_over_500(active, clinician, young_patient):
    with pytest.raises(services.DecisionRefused) as exc:
        record(active, clinician, "continue", qtc_ms=520)
    assert exc.value.fields == ("qtc_ms",) and "QTc 520 ms" in str(exc.value)
    assert young_patient.risk_profiles.count() == 1  # nothing saved
    assert not Visit.objects.exists()
    visit, new = record(active, clinician, "stop_now", qtc_ms=520)
    active.refresh_from_db()
    assert young_patient.risk_profiles.count() == 2 and young_patient.risk_profiles.first().qtc_ms == 520
    assert (new.kind, new.status, new.start_date) == ("stop_now", "active", VISIT_DAY)
    assert [s.dose_mg for s in new.steps.all()] == [0]  # the course ends that day, no taper
    assert active.status == "stopped" and "QTc 520 ms" in active.end_reason  # the reason is recorded
    assert new.cards[0]["code"] == "visit-qtc-critical"  # the finding is shown on the plan
    assert visit.findings[0]["code"] == "visit-qtc-critical"
    booked = new.followups.get()
    assert booked.kind == "recheck" and booked.due_date == VISIT_DAY + timedelta(days=7)
    assert "ecg-after-stop" in booked.assess


@pytest.mark.parametrize("decision, doses_after", [("hold", [30]), ("step_down", [20])])
def test_it_still_allows_hold_and_step_down_at_once_for_a_qtc_of_505(active, clinician, decision, doses_after):
    visit, new = record(active, clinician, decision, qtc_ms=505)
    active.refresh_from_db()
    assert (new.status, active.status) == ("active", "revised")  # takes effect at once, no draft
    assert doses(new) == doses_after
    assert "visit-qtc-critical" in [c["code"] for c in new.cards]


def test_it_leaves_the_new_version_as_a_draft_on_a_new_warning(active, clinician, young_patient, with_profile):
    with_profile(young_patient, "epilepsy")
    visit, new = record(active, clinician, "step_up")
    active.refresh_from_db()
    assert new.status == "draft" and active.status == "active"


def test_it_never_brings_a_followup_forward_when_calling_later(active, clinician):
    later = active.followups.filter(status="due").order_by("due_date").last()
    today = later.due_date - timedelta(days=20)  # the visit is still three weeks ahead
    services.followup_snooze(followup=later, user=clinician, reason="Asked to call back", today=today)
    later.refresh_from_db()
    assert later.effective_date == later.due_date + timedelta(days=7)


def test_it_snoozes_and_marks_followups_missed(active, clinician):
    first, second = active.followups.filter(status="due")[:2]
    # Due on 29 December and not reached on 1 January: called again 7 days from today.
    services.followup_snooze(followup=first, user=clinician, reason="Phone engaged", today=date(2027, 1, 1))
    first.refresh_from_db()
    assert (first.status, first.snoozed_until, first.status_note) == ("snoozed", date(2027, 1, 8), "Phone engaged")
    assert first.effective_date == date(2027, 1, 8) and first.sequence == 1
    services.followup_mark_missed(followup=second, user=clinician, reason="Did not attend")
    second.refresh_from_db()
    assert (second.status, second.status_changed_by) == ("missed", clinician)
    with pytest.raises(services.PlanError):
        services.followup_mark_missed(followup=second, user=clinician, reason="again")


def visit_data(**overrides):
    data = {"visit_date": VISIT_DAY.isoformat(), "outcome_score": "6", "adherence": "all", "decision": "step_up",
            "notes": "", "side_effects": ["dry_mouth"], "mood": "usual", "self_harm_thoughts": "no"}  # fmt: skip
    data.update(overrides)
    return data


def test_it_records_and_shows_the_new_dose_on_the_visit_page(client, clinician, active):
    followup = active.followups.filter(status="due").first()
    url = reverse("plans:followup_visit", args=[followup.uuid])
    with time_machine.travel(date(2026, 12, 20)):
        client.force_login(clinician)
        assert client.get(url).status_code == 200
        response = client.post(url, visit_data())
    new = Plan.objects.get(version=2)
    assert response["Location"] == new.get_absolute_url()
    assert Visit.objects.get().side_effects == ["dry_mouth"]


@pytest.mark.parametrize(
    "overrides, field, code",
    [
        ({"outcome_score": "11"}, "outcome_score", "score_range"),
        ({"outcome_score": "-1"}, "outcome_score", "score_range"),
        ({"visit_date": "2030-01-01"}, "visit_date", "future_visit"),
        ({"visit_date": "2026-11-01"}, "visit_date", "before_plan"),
        ({"side_effects": ["other"]}, "side_effects_other", "other_missing"),
    ],
)
def test_it_treats_invalid_visits_as_field_errors(client, clinician, active, overrides, field, code):
    followup = active.followups.filter(status="due").first()
    with time_machine.travel(date(2026, 12, 20)):
        client.force_login(clinician)
        response = client.post(reverse("plans:followup_visit", args=[followup.uuid]), visit_data(**overrides))
    assert response.status_code == 200
    form = response.context["form"]
    expected = VisitForm.error_messages[code]
    if code == "score_range":
        expected = expected.format(low="0", high="10")
    assert form.errors[field] == [expected]
    assert not Visit.objects.exists() and Plan.objects.count() == 1


def test_it_scopes_visit_pages(client, outsider, colleague, active):
    followup = active.followups.filter(status="due").first()
    client.force_login(outsider)
    assert client.get(reverse("plans:followup_visit", args=[followup.uuid])).status_code == 404
    assert client.post(reverse("plans:followup_missed", args=[followup.uuid]), {"reason": "x"}).status_code == 404
    client.force_login(colleague)
    assert client.get(reverse("plans:followup_visit", args=[followup.uuid])).status_code == 200
    followup.refresh_from_db()
    assert followup.status == FollowUp.Status.DUE


def test_it_goes_on_to_periodic_reviews_after_continuing_at_the_response_visit(active, clinician):
    """Continuing at the response visit books no second "Judge response" and no new first review."""
    plan = active
    # Answer every follow-up before the response visit (continue each time), then the response visit.
    while True:
        followup = plan.followups.filter(status="due").order_by("due_date").first()
        visit, plan = services.followup_record_visit(
            followup=followup,
            user=clinician,
            visit_date=followup.due_date,
            outcome_score=None,
            side_effects=[],
            side_effects_other="",
            adherence="all",
            qtc_ms=None,
            decision="continue",
            notes="",
            mood="usual",
            self_harm_thoughts=False,
        )
        if followup.kind == "response":
            break
    kinds = list(plan.followups.filter(status="due").values_list("kind", flat=True))
    assert kinds and set(kinds) == {"periodic"}


def test_it_links_each_open_followup_to_its_visit_page(client, clinician, active):
    followup = active.followups.filter(status="due").first()
    assert followup.get_absolute_url() == reverse("plans:followup_visit", args=[followup.uuid])
    with time_machine.travel(date(2026, 12, 20)):
        client.force_login(clinician)
        plan_page = client.get(active.get_absolute_url()).content.decode()
        assert client.get(followup.get_absolute_url()).status_code == 200
    assert f'href="{followup.get_absolute_url()}"' in plan_page


def test_it_sends_a_snooze_without_a_reason_back_to_the_followup(client, clinician, active):
    followup = active.followups.filter(status="due").first()
    client.force_login(clinician)
    response = client.post(reverse("plans:followup_snooze", args=[followup.uuid]), {"reason": ""})
    assert response.status_code == 302 and response["Location"] == followup.get_absolute_url()
    followup.refresh_from_db()
    assert followup.status == "due"


def test_it_links_a_visit_to_the_visit_history_on_its_plan_page(client, clinician, active):
    visit, _ = record(active, clinician, "continue")
    page, anchor = visit.get_absolute_url().split("#")
    assert page == active.get_absolute_url()
    client.force_login(clinician)
    body = client.get(page).content.decode()
    assert f'id="{anchor}"' in body and VISIT_DAY.strftime("%-d %b %Y") in body
