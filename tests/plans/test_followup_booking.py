"""Booking a follow-up's appointment: the service's window and rules, the form and view, and where
the booked day and time show (worklist, plan page, calendar file)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from icalendar import Calendar

from trialplanner.audit.models import AuditEvent
from trialplanner.plans import dates, services
from trialplanner.plans.forms import BookForm, ClockTimeField
from trialplanner.plans.models import FollowUp
from trialplanner.plans.services.followups import BOOK_CONFLICT, BOOK_FAR, BOOK_PAST, BOOK_TIME_PASSED

pytestmark = pytest.mark.django_db

# Noon on 10 Dec 2026 in London (GMT): the active plan started on 1 Dec.
NOON = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
TODAY = date(2026, 12, 10)


@pytest.fixture
def followup(active):
    return active.followups.filter(status=FollowUp.Status.DUE).order_by("due_date").first()


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOON, tick=False):
        yield


def book(followup, user, day, at=None, **extra):
    return services.followup_book(followup=followup, user=user, day=day, time=at, **extra)


def in_zone(plan, zone):
    clinic = plan.patient.clinic
    clinic.time_zone = zone
    clinic.save()


# --- the service ----------------------------------------------------------------------------------


def test_it_books_a_day_and_time_and_moves_the_follow_up_there(followup, clinician):
    planned, sequence = followup.due_date, followup.sequence
    day = TODAY + timedelta(days=3)
    booked = book(followup, clinician, day, time(14, 30), sequence=sequence)
    booked.refresh_from_db()
    assert (booked.appointment_date, booked.appointment_time) == (day, time(14, 30))
    assert booked.due_date == planned  # the plan's own date is kept
    assert booked.effective_date == booked.worklist_date == day
    assert booked.sequence == sequence + 1  # calendars replace the event
    event = AuditEvent.objects.filter(object_id=str(followup.uuid), action=AuditEvent.Action.UPDATE).get()
    assert event.user == clinician and event.patient == followup.plan.patient
    assert event.detail == f"follow-up booked for {day.isoformat()} 14:30 (was {planned.isoformat()})"


def test_it_clears_the_time_to_make_the_appointment_all_day_again(followup, clinician):
    day = TODAY + timedelta(days=5)
    book(followup, clinician, day, time(9, 0))
    book(followup, clinician, day, None)
    followup.refresh_from_db()
    assert (followup.appointment_date, followup.appointment_time) == (day, None)
    details = AuditEvent.objects.filter(object_id=str(followup.uuid)).values_list("detail", flat=True)
    assert f"follow-up booked for {day.isoformat()} all day (was {day.isoformat()})" in details


def test_it_books_today_and_up_to_the_window_but_not_past_it(followup, clinician):
    assert book(followup, clinician, TODAY).appointment_date == TODAY
    last = TODAY + timedelta(days=dates.BOOK_AHEAD_DAYS)
    assert book(followup, clinician, last).appointment_date == last
    with pytest.raises(services.FieldRefused) as refused:
        book(followup, clinician, last + timedelta(days=1))
    assert (refused.value.field, str(refused.value)) == ("day", BOOK_FAR)
    followup.refresh_from_db()
    assert followup.appointment_date == last


def test_it_refuses_yesterday_in_the_clinic_time_zone(followup, clinician, active):
    in_zone(active, "America/Los_Angeles")
    # 07:30 UTC on 10 Dec is still 9 Dec (23:30) in Los Angeles: 9 Dec is today there, 8 Dec is past.
    with time_machine.travel(datetime(2026, 12, 10, 7, 30, tzinfo=UTC), tick=False):
        assert book(followup, clinician, date(2026, 12, 9)).appointment_date == date(2026, 12, 9)
        with pytest.raises(services.FieldRefused) as refused:
            book(followup, clinician, date(2026, 12, 8))
    assert (refused.value.field, str(refused.value)) == ("day", BOOK_PAST)


def test_it_refuses_a_time_already_passed_today(followup, clinician):
    with pytest.raises(services.FieldRefused) as refused:
        book(followup, clinician, TODAY, time(11, 59))
    assert (refused.value.field, str(refused.value)) == ("time", BOOK_TIME_PASSED)
    followup.refresh_from_db()
    assert followup.appointment_date is None
    assert book(followup, clinician, TODAY, time(12, 0)).appointment_time == time(12, 0)
    assert book(followup, clinician, TODAY + timedelta(days=1), time(8, 0)).appointment_time == time(8, 0)


def test_it_refuses_a_closed_follow_up(followup, clinician):
    services.followup_mark_missed(followup=followup, user=clinician, reason="Did not come")
    with pytest.raises(services.PlanError):
        book(followup, clinician, TODAY + timedelta(days=1))
    followup.refresh_from_db()
    assert (followup.status, followup.appointment_date) == (FollowUp.Status.MISSED, None)


def test_it_refuses_a_follow_up_of_a_plan_no_longer_active(followup, clinician, active):
    services.plan_mark_entered_in_error(plan=active, user=clinician, lock_version=active.lock_version, reason="x")
    with pytest.raises(services.PlanError):
        book(followup, clinician, TODAY + timedelta(days=1))
    followup.refresh_from_db()
    assert followup.appointment_date is None and followup.worklist_date is None


def test_it_refuses_a_form_shown_before_someone_else_changed_the_follow_up(followup, clinician, colleague):
    shown = followup.sequence
    book(followup, colleague, TODAY + timedelta(days=2), time(10, 0), sequence=shown)
    with pytest.raises(services.PlanConflict, match="Someone else changed this follow-up"):
        book(followup, clinician, TODAY + timedelta(days=4), sequence=shown)
    followup.refresh_from_db()
    assert (followup.appointment_date, followup.appointment_time) == (TODAY + timedelta(days=2), time(10, 0))


def test_it_makes_a_call_later_due_on_the_booked_day_when_booked(followup, clinician):
    services.followup_snooze(followup=followup, user=clinician, reason="No answer", today=TODAY)
    day = TODAY + timedelta(days=2)
    booked = book(followup, clinician, day, time(11, 0))
    booked.refresh_from_db()
    assert (booked.status, booked.snoozed_until, booked.status_note) == (FollowUp.Status.DUE, None, "")
    assert booked.worklist_date == day


def test_it_clears_a_booking_on_call_later(followup, clinician):
    book(followup, clinician, TODAY + timedelta(days=2), time(11, 0))
    followup.refresh_from_db()
    services.followup_snooze(followup=followup, user=clinician, reason="Cancelled by phone", today=TODAY)
    followup.refresh_from_db()
    assert (followup.appointment_date, followup.appointment_time) == (None, None)
    # Never earlier than the visit was: 7 days on from the booked day, still ahead.
    assert followup.worklist_date == TODAY + timedelta(days=2 + services.SNOOZE_DAYS)


# --- the form and view ----------------------------------------------------------------------------


def url(followup, **query):
    base = reverse("plans:followup_book", args=[followup.uuid])
    return f"{base}?{'&'.join(f'{k}={v}' for k, v in query.items())}" if query else base


def post(client, followup, day, at="", **query):
    data = {"day": day.isoformat() if isinstance(day, date) else day, "time": at, "sequence": followup.sequence}
    return client.post(url(followup, **query), data)


def test_it_shows_the_form_to_the_clinic(client, clinician, colleague, followup):
    for user in (clinician, colleague):
        client.force_login(user)
        response = client.get(url(followup))
        assert response.status_code == 200
        form = response.context["form"]
        assert form["day"].value() == max(followup.due_date, TODAY)
        assert form["sequence"].value() == followup.sequence
        body = response.content.decode()
        assert f'min="{TODAY.isoformat()}"' in body and 'name="csrfmiddlewaretoken"' in body


def test_it_hides_another_clinics_follow_up(client, outsider, followup):
    client.force_login(outsider)
    assert client.get(url(followup)).status_code == 404
    assert post(client, followup, TODAY + timedelta(days=1), "10:00").status_code == 404
    followup.refresh_from_db()
    assert followup.appointment_date is None


def test_it_books_and_goes_back_to_the_plan_or_the_worklist(client, clinician, followup):
    client.force_login(clinician)
    response = post(client, followup, TODAY + timedelta(days=1), "09:45")
    assert response.status_code == 302 and response["Location"] == followup.plan.get_absolute_url()
    followup.refresh_from_db()
    assert (followup.appointment_date, followup.appointment_time) == (TODAY + timedelta(days=1), time(9, 45))
    response = post(client, followup, TODAY + timedelta(days=2), "", **{"from": "worklist"})
    assert response.status_code == 302 and response["Location"] == reverse("plans:worklist")
    followup.refresh_from_db()
    assert (followup.appointment_date, followup.appointment_time) == (TODAY + timedelta(days=2), None)


BAD_TIMES = ["14h30", "2:30pm", "14:3", "1430", "25:00", "14:60", "١٤:٣٠", "１４:３０", "14:30:00"]


@pytest.mark.parametrize("typed", BAD_TIMES)
def test_it_puts_a_bad_time_message_on_the_time_field(client, clinician, followup, typed):
    client.force_login(clinician)
    response = post(client, followup, TODAY + timedelta(days=1), typed)
    assert response.status_code == 400
    assert response.context["form"].errors == {"time": [ClockTimeField.default_error_messages["invalid"]]}
    assert 'href="#id_time"' in response.content.decode()  # the error summary links to the field
    followup.refresh_from_db()
    assert followup.appointment_date is None


@pytest.mark.parametrize(
    "day, at, field, message",
    [
        (TODAY - timedelta(days=1), "10:00", "day", BOOK_PAST),
        (TODAY + timedelta(days=dates.BOOK_AHEAD_DAYS + 1), "", "day", BOOK_FAR),
        (TODAY, "08:00", "time", BOOK_TIME_PASSED),
        ("2026-13-01", "", "day", BookForm.base_fields["day"].error_messages["invalid"]),
        ("", "10:00", "day", BookForm.base_fields["day"].error_messages["required"]),
    ],
)
def test_it_puts_a_refused_day_or_time_on_its_field(client, clinician, followup, day, at, field, message):
    client.force_login(clinician)
    response = post(client, followup, day, at)
    assert response.status_code == 400
    assert response.context["form"].errors == {field: [message]}
    assert "There is a problem" in response.content.decode()
    followup.refresh_from_db()
    assert followup.appointment_date is None


def test_it_treats_a_stale_form_as_a_conflict_and_shows_the_booking_as_it_is_now(
    client, clinician, colleague, followup
):
    shown = followup.sequence
    book(followup, colleague, TODAY + timedelta(days=3), time(15, 0))
    client.force_login(clinician)
    data = {"day": (TODAY + timedelta(days=1)).isoformat(), "time": "", "sequence": shown}
    response = client.post(url(followup), data)
    assert response.status_code == 409
    assert BOOK_CONFLICT in [str(m) for m in response.context["messages"]]
    assert response.context["form"]["day"].value() == TODAY + timedelta(days=3)
    followup.refresh_from_db()
    assert followup.appointment_time == time(15, 0)


def test_it_sends_the_form_of_a_closed_follow_up_back_to_the_plan(client, clinician, followup):
    services.followup_mark_missed(followup=followup, user=clinician, reason="Did not come")
    client.force_login(clinician)
    assert client.get(url(followup))["Location"] == followup.plan.get_absolute_url()


# --- where the booking shows ----------------------------------------------------------------------


def test_it_links_open_follow_ups_to_booking_and_shows_the_time_on_the_plan_page(client, clinician, active, followup):
    book(followup, clinician, TODAY + timedelta(days=2), time(16, 15))
    client.force_login(clinician)
    body = client.get(active.get_absolute_url()).content.decode()
    open_ones = active.followups.filter(status__in=FollowUp.OPEN)
    assert all(reverse("plans:followup_book", args=[f.uuid]) in body for f in open_ones)
    assert "Sat 12 Dec 2026 16:15" in body
    assert f"planned {followup.due_date:%-d %b %Y}" in body


def test_it_shows_the_booked_time_and_links_to_booking_on_the_worklist(client, clinician, followup):
    day = TODAY + timedelta(days=1)
    book(followup, clinician, day, time(14, 30))
    client.force_login(clinician)
    response = client.get(reverse("plans:worklist"))
    [row] = [r for _, _, rows, _, _ in response.context["groups"] for r in rows if r.uuid == str(followup.uuid)]
    assert (row.effective, row.time, row.booked, row.group) == (day, time(14, 30), True, "week")
    body = response.content.decode()
    assert '<span class="worklist-time">14:30</span>' in body
    assert f'href="{reverse("plans:followup_book", args=[followup.uuid])}?from=worklist"' in body


def test_it_gives_the_booked_appointment_its_day_and_time_in_the_plan_calendar(client, clinician, active, followup):
    in_zone(active, "America/New_York")
    day = TODAY + timedelta(days=6)
    book(followup, clinician, day, time(10, 30))
    client.force_login(clinician)
    cal = Calendar.from_ical(client.get(reverse("reminders:plan_ics", args=[active.uuid])).content)
    timed = [e for e in cal.walk("VEVENT") if isinstance(e.decoded("dtstart"), datetime)]
    new_york = ZoneInfo("America/New_York")
    assert [e.decoded("dtstart") for e in timed] == [datetime(2026, 12, 16, 10, 30, tzinfo=new_york)]
    assert timed[0]["dtstart"].params["TZID"] == "America/New_York"
    assert int(timed[0]["sequence"]) == active.version + followup.sequence + 1
    # Cleared, the time goes and the appointment is all day on the booked day.
    book(followup, clinician, day, None)
    cal = Calendar.from_ical(client.get(reverse("reminders:plan_ics", args=[active.uuid])).content)
    appointments = [e.decoded("dtstart") for e in cal.walk("VEVENT") if str(e["summary"]).startswith("Appointment")]
    assert day in appointments and not any(isinstance(d, datetime) for d in appointments)
