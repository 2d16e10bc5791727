"""Dates within reason, per field, on the patient's clinic's calendar; the engine never overflows."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from trialplanner.engine import EngineInputError
from trialplanner.patients.forms import MedicationForm
from trialplanner.plans import dates, services
from trialplanner.plans.forms import PlanForm, StopForm, VisitForm
from trialplanner.plans.models import Plan, Visit
from trialplanner.plans.preview import RequestError, preview

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)  # 20 Dec 2026 in London


def visit_data(day, **overrides):
    data = {"visit_date": day.isoformat(), "outcome_score": "", "adherence": "all", "decision": "hold", "notes": "",
            "mood": "usual", "self_harm_thoughts": "no"}  # fmt: skip
    data.update(overrides)
    return data


def in_zone(plan, zone):
    clinic = plan.patient.clinic
    clinic.time_zone = zone
    clinic.save()


# --- clinic time -----------------------------------------------------------------------------------


def test_it_takes_today_from_a_clinic_west_of_utc_in_its_evening(client, clinician, active):
    in_zone(active, "America/Los_Angeles")
    followup = active.followups.filter(status="due").first()
    url = reverse("plans:followup_visit", args=[followup.uuid])
    # 23:30 on 15 December in Los Angeles is already 16 December in UTC (the server's zone).
    with time_machine.travel(datetime(2026, 12, 16, 7, 30, tzinfo=UTC), tick=False):
        client.force_login(clinician)
        assert client.get(url).context["form"]["visit_date"].initial == date(2026, 12, 15)
        response = client.post(url, visit_data(date(2026, 12, 16)))
    assert response.context["form"].errors["visit_date"] == [VisitForm.error_messages["future_visit"]]
    assert not Visit.objects.exists()


def test_it_takes_today_from_a_clinic_east_of_utc_after_its_midnight(client, clinician, active):
    in_zone(active, "Asia/Tokyo")
    followup = active.followups.filter(status="due").first()
    url = reverse("plans:followup_visit", args=[followup.uuid])
    # 00:30 on 16 December in Tokyo is still 15 December in UTC.
    with time_machine.travel(datetime(2026, 12, 15, 15, 30, tzinfo=UTC), tick=False):
        client.force_login(clinician)
        assert client.get(url).context["form"]["visit_date"].initial == date(2026, 12, 16)
        response = client.post(url, visit_data(date(2026, 12, 16)))
    assert response.status_code == 302
    assert Visit.objects.get().visit_date == date(2026, 12, 16)


def test_it_uses_the_clinic_day_on_the_plan_page_and_new_plan_form(client, clinician, active):
    in_zone(active, "Asia/Tokyo")
    with time_machine.travel(datetime(2026, 12, 15, 15, 30, tzinfo=UTC), tick=False):
        client.force_login(clinician)
        page = client.get(active.get_absolute_url())
        assert page.context["today"] == date(2026, 12, 16)
        assert page.context["stop_form"]["stop_date"].initial == date(2026, 12, 16)
        new = client.get(reverse("plans:plan_new", args=[active.patient.uuid]), {"indication": "insomnia"})
        assert new.context["form"]["start_date"].initial == date(2026, 12, 16)


# --- date windows per field ---------------------------------------------------------------------------


def plan_form(start, protocol, today):
    data = {"start_date": start.isoformat(), "target_mg": f"{protocol.default_target_mg.normalize():f}",
            "tablet_strength_mg": "10"}  # fmt: skip
    return PlanForm(data, protocol=protocol, today=today)


@pytest.mark.parametrize(
    "offset, error",
    [
        (-dates.PLAN_START_PAST_DAYS - 1, "past_start"),
        (-dates.PLAN_START_PAST_DAYS, None),
        (0, None),
        (dates.PLAN_START_AHEAD_DAYS, None),
        (dates.PLAN_START_AHEAD_DAYS + 1, "far_start"),
    ],
)
def test_it_starts_a_plan_within_its_window(indication, offset, error):
    today = date(2026, 12, 20)
    form = plan_form(today + timedelta(days=offset), indication.protocol, today)
    if error is None:
        assert form.is_valid(), form.errors
    else:
        assert form.errors["start_date"] == [PlanForm.error_messages[error]]


def test_it_treats_far_future_start_dates_as_field_errors_not_crashes(indication):
    form = plan_form(date(9999, 12, 31), indication.protocol, date(2026, 12, 20))
    assert form.errors["start_date"] == [PlanForm.error_messages["far_start"]]


@pytest.mark.parametrize(
    "day, error",
    [
        (date(2026, 12, 19), "past_stop"),
        (date(2026, 12, 20), None),
        (date(2027, 3, 20), None),
        (date(2027, 3, 21), "far_stop"),
        (date(2100, 1, 1), "far_stop"),
        (date(9999, 12, 31), "far_stop"),
    ],
)
def test_it_takes_a_stop_date_from_today_to_90_days_ahead(day, error):
    form = StopForm(
        {"stop_reason": "side_effect", "reason": "", "lock_version": 0, "stop_date": day.isoformat()},
        today=date(2026, 12, 20),
    )
    if error is None:
        assert form.is_valid(), form.errors
    else:
        assert form.errors["stop_date"] == [StopForm.error_messages[error]]


def test_it_treats_a_stop_date_of_9999_through_the_page_as_a_field_error(client, clinician, active):
    data = {"lock_version": active.lock_version, "stop_reason": "side_effect", "reason": "", "stop_date": "9999-12-31"}
    with time_machine.travel(NOON, tick=False):
        client.force_login(clinician)
        response = client.post(reverse("plans:plan_stop", args=[active.uuid]), data)
    assert response.status_code == 400
    assert response.context["stop_form"].errors["stop_date"] == [StopForm.error_messages["far_stop"]]
    active.refresh_from_db()
    assert active.status == "active" and not Plan.objects.filter(kind="taper").exists()


@pytest.mark.parametrize("days_ago, error", [(30, None), (31, "old_visit")])
def test_it_takes_a_visit_date_at_most_30_days_old(client, clinician, active, days_ago, error):
    followup = active.followups.filter(status="due").first()
    today = date(2027, 1, 20)
    with time_machine.travel(datetime(2027, 1, 20, 12, 0, tzinfo=UTC), tick=False):
        client.force_login(clinician)
        response = client.post(
            reverse("plans:followup_visit", args=[followup.uuid]), visit_data(today - timedelta(days=days_ago))
        )
    if error is None:
        assert response.status_code == 302
    else:
        assert response.context["form"].errors["visit_date"] == [VisitForm.error_messages[error]]


def test_it_takes_a_medicines_last_dose_not_in_the_future():
    today = date(2026, 12, 20)
    later = MedicationForm({"name": "phenelzine", "stopped_on": "2026-12-21"}, today=today)
    assert later.errors["stopped_on"] == [MedicationForm.error_messages["future_stop"]]
    assert MedicationForm({"name": "phenelzine", "stopped_on": "2026-12-20"}, today=today).is_valid()


# --- the engine and the JSON request never overflow ------------------------------------------------------


def request(start="2026-12-01", **patient):
    import json

    return json.dumps(
        {
            "indication": "peripheral-neuropathic-pain",
            "start_date": start,
            "patient": {"age": 40, "sex": "female", **patient},
        }
    )


@pytest.mark.parametrize("start", ["1999-12-31", "2101-01-01", "9999-12-31", "0001-01-01"])
def test_it_takes_preview_start_dates_from_2000_to_2100(catalog, start):
    with pytest.raises(RequestError) as exc:
        preview(request(start))
    assert str(exc.value) == "start_date: must be from 2000-01-01 to 2100-12-31"


@pytest.mark.parametrize("start", ["2000-01-01", "2100-12-31"])
def test_it_accepts_the_ends_of_the_preview_range(catalog, start):
    assert preview(request(start))["steps"][0]["start"] == start


def test_it_treats_a_preview_with_a_medicine_stopped_in_9999_as_an_input_error(catalog):
    import json

    body = json.loads(request())
    body["medications"] = [{"name": "phenelzine", "stopped_on": "9999-12-31"}]
    with pytest.raises(RequestError) as exc:
        preview(json.dumps(body))
    assert str(exc.value).startswith("medications: must be a date from")


def test_it_treats_a_stop_in_9999_through_the_service_as_an_input_error_not_an_overflow(active, clinician):
    with pytest.raises(EngineInputError) as exc:
        services.plan_stop(
            plan=active, user=clinician, lock_version=active.lock_version, reason="x", stop_date=date(9999, 12, 31)
        )
    assert exc.value.field == "start_date"
    active.refresh_from_db()
    assert active.status == "active"  # rolled back
