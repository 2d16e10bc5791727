"""The daily digest (idempotent per day) and the iCalendar feeds."""

from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from icalendar import Calendar

from tests.plans.test_worklist import due, make_plan
from trialplanner.patients.models import Patient
from trialplanner.plans.models import FollowUp
from trialplanner.reminders.models import CalendarFeed, ReminderSent

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(patient, clinician, indication):
    return make_plan(patient, clinician, indication)


def sweep(instant):
    out = StringIO()
    with time_machine.travel(instant, tick=False):
        call_command("send_followup_reminders", stdout=out)
    return out.getvalue()


def test_it_sends_one_digest_per_clinician_per_day(plan, clinician, colleague, indication):
    due(plan, date(2026, 6, 9))  # overdue
    due(plan, date(2026, 6, 10))  # today
    due(plan, date(2026, 6, 20))  # later: not in the digest
    # The colleague's plan is for another patient: one patient has one active course at a time.
    their_patient = Patient.objects.create(
        clinic=plan.patient.clinic,
        display_name="Second Patient",
        date_of_birth=date(1970, 1, 1),
        sex="male",
        created_by=colleague,
    )
    their = make_plan(their_patient, colleague, indication)
    due(their, date(2026, 6, 10))
    first = sweep(datetime(2026, 6, 10, 7, 0, tzinfo=UTC))
    assert "2 sent" in first
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.org", "bob@example.org"]
    again = sweep(datetime(2026, 6, 10, 18, 0, tzinfo=UTC))
    assert "0 sent, 2 already sent today" in again
    assert len(mail.outbox) == 2
    next_day = sweep(datetime(2026, 6, 11, 7, 0, tzinfo=UTC))
    assert "2 sent" in next_day and len(mail.outbox) == 4
    assert ReminderSent.objects.count() == 4


def test_it_names_patients_only_in_the_digest(plan, clinician):
    due(plan, date(2026, 6, 9))
    due(plan, date(2026, 6, 10))
    sweep(datetime(2026, 6, 10, 7, 0, tzinfo=UTC))
    message = mail.outbox[0]
    assert message.subject == "trialplanner: 2 follow-ups due (1 overdue)"
    assert "Pat Example: overdue since 9 Jun 2026" in message.body
    assert "Pat Example: due today" in message.body
    html = message.alternatives[0].content
    assert "<strong>overdue</strong> since 9 Jun 2026" in html
    assert "http://127.0.0.1:8000/worklist/" in message.body
    for clinical in ["neuropathic", "mg", "amitriptyline", plan.patient.mrn]:
        assert clinical not in message.body.lower().replace("amitriptyline-demo", "")
        assert clinical not in html.lower()


def test_it_sends_nothing_when_nothing_is_due(plan):
    due(plan, date(2026, 7, 1))
    assert "0 sent" in sweep(datetime(2026, 6, 10, 7, 0, tzinfo=UTC))
    assert mail.outbox == []


def test_it_retries_a_failed_send_next_run(plan, monkeypatch):
    due(plan, date(2026, 6, 10))
    from trialplanner.reminders import digest

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(digest, "_send", broken)
    with pytest.raises(SystemExit):
        sweep(datetime(2026, 6, 10, 7, 0, tzinfo=UTC))
    assert not ReminderSent.objects.exists()
    monkeypatch.undo()
    assert "1 sent" in sweep(datetime(2026, 6, 10, 8, 0, tzinfo=UTC))


# --- calendars -------------------------------------------------------------------------------------


def test_it_serves_a_feed_that_parses_round_trips_and_is_revocable(client, clinician, plan):
    f = due(plan, date(2026, 6, 10))
    due(plan, date(2026, 6, 12), status=FollowUp.Status.DONE)
    client.force_login(clinician)
    client.post(reverse("reminders:feed_create"))
    feed = CalendarFeed.objects.get(user=clinician)
    client.logout()
    response = client.get(reverse("reminders:feed", args=[feed.token]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert "no-store" in response["Cache-Control"]
    cal = Calendar.from_ical(response.content)
    events = cal.walk("VEVENT")
    assert [str(e["uid"]) for e in events] == [f"followup-{f.uuid}@trialplanner"]
    assert events[0].decoded("dtstart") == date(2026, 6, 10)
    assert str(events[0]["summary"]) == "Follow-up: Pat Example"
    assert Calendar.from_ical(cal.to_ical()).to_ical() == cal.to_ical()
    client.force_login(clinician)
    client.post(reverse("reminders:feed_revoke"))
    client.logout()
    assert client.get(reverse("reminders:feed", args=[feed.token])).status_code == 404
    assert client.get(reverse("reminders:feed", args=["made-up-token"])).status_code == 404


def test_it_moves_the_event_with_a_higher_sequence_on_a_snooze(client, clinician, plan):
    from trialplanner.plans import services

    f = due(plan, date(2026, 6, 10))
    feed = CalendarFeed.objects.create(user=clinician)
    before = Calendar.from_ical(client.get(reverse("reminders:feed", args=[feed.token])).content).walk("VEVENT")[0]
    services.followup_snooze(followup=f, user=clinician, reason="away", today=date(2026, 6, 10))
    after = Calendar.from_ical(client.get(reverse("reminders:feed", args=[feed.token])).content).walk("VEVENT")[0]
    assert after["uid"] == before["uid"]
    assert after["sequence"] > before["sequence"]
    assert after.decoded("dtstart") == date(2026, 6, 17)


def test_it_lists_dose_changes_and_appointments_in_the_plan_calendar(
    client, clinician, outsider, young_patient, with_profile, indication
):
    from tests.plans.conftest import START
    from trialplanner.plans import services

    with_profile(young_patient)
    plan = services.plan_create(
        patient=young_patient, indication=indication, user=clinician, start_date=START, tablet_strength_mg=Decimal(10)
    )
    services.plan_activate(plan=plan, user=clinician, lock_version=plan.lock_version, reasons={})
    plan.refresh_from_db()
    client.force_login(clinician)
    cal = Calendar.from_ical(client.get(reverse("reminders:plan_ics", args=[plan.uuid])).content)
    summaries = [str(e["summary"]) for e in cal.walk("VEVENT")]
    assert "Amitriptyline: 20 mg each night (2 × 10 mg tablets)" in summaries
    assert "Appointment: First review" in summaries
    uids = {str(e["uid"]) for e in cal.walk("VEVENT")}
    revised = services.plan_revise(
        plan=plan, user=clinician, lock_version=plan.lock_version, start_date=START, target_mg=Decimal(30)
    )
    services.plan_activate(plan=revised, user=clinician, lock_version=revised.lock_version, reasons={})
    cal2 = Calendar.from_ical(client.get(reverse("reminders:plan_ics", args=[revised.uuid])).content)
    step2 = next(e for e in cal2.walk("VEVENT") if str(e["uid"]).endswith("-step-2@trialplanner"))
    assert str(step2["uid"]) in uids and step2["sequence"] == 2
    client.force_login(outsider)
    assert client.get(reverse("reminders:plan_ics", args=[plan.uuid])).status_code == 404


def test_it_shows_the_feed_on_the_account_page(client, clinician):
    client.force_login(clinician)
    assert "Create my calendar feed" in client.get(reverse("accounts:account")).content.decode()
    client.post(reverse("reminders:feed_create"))
    client.post(reverse("reminders:feed_create"))
    assert CalendarFeed.objects.filter(user=clinician, revoked_at__isnull=True).count() == 1
    assert "/calendar/" in client.get(reverse("accounts:account")).content.decode()


def test_it_audits_creating_replacing_and_revoking_a_feed(client, clinician):
    from trialplanner.audit.models import AuditEvent

    client.force_login(clinician)
    client.post(reverse("reminders:feed_create"))
    client.post(reverse("reminders:feed_create"))
    client.post(reverse("reminders:feed_revoke"))
    client.post(reverse("reminders:feed_revoke"))  # nothing left to revoke: no event
    details = list(
        AuditEvent.objects.filter(action="security", object_type="calendar_feed")
        .order_by("id")
        .values_list("user__username", "detail")
    )
    assert details == [
        ("alice", "calendar feed created"),
        ("alice", "calendar feed replaced"),
        ("alice", "calendar feed revoked"),
    ]


def test_it_stops_a_feed_when_two_factor_is_required_and_its_owner_has_no_device(client, clinician, settings):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    feed = CalendarFeed.objects.create(user=clinician)  # made before two-factor became required
    url = reverse("reminders:feed", args=[feed.token])
    assert client.get(url).status_code == 200
    settings.REQUIRE_2FA = True
    assert client.get(url).status_code == 404
    TOTPDevice.objects.create(user=clinician, name="phone", confirmed=True)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("status", ["draft", "revised", "stopped", "entered_in_error"])
def test_it_offers_a_calendar_file_only_for_the_active_plan(
    client, clinician, young_patient, with_profile, indication, status
):
    from tests.plans.conftest import START
    from trialplanner.plans import services

    with_profile(young_patient)
    plan = services.plan_create(patient=young_patient, indication=indication, user=clinician, start_date=START)
    if status != "draft":
        services.plan_activate(plan=plan, user=clinician, lock_version=plan.lock_version, reasons={})
        plan.refresh_from_db()
    if status == "revised":
        draft = services.plan_revise(plan=plan, user=clinician, lock_version=plan.lock_version, start_date=START)
        services.plan_activate(plan=draft, user=clinician, lock_version=draft.lock_version, reasons={})
    elif status == "stopped":
        services.plan_stop(
            plan=plan, user=clinician, lock_version=plan.lock_version, reason="Side effects", stop_date=START
        )
    elif status == "entered_in_error":
        services.plan_mark_entered_in_error(plan=plan, user=clinician, lock_version=plan.lock_version, reason="Wrong")
    plan.refresh_from_db()
    assert plan.status == status
    client.force_login(clinician)
    response = client.get(reverse("reminders:plan_ics", args=[plan.uuid]), follow=True)
    assert response.redirect_chain == [(plan.get_absolute_url(), 302)]
    assert "text/calendar" not in response["Content-Type"]
    assert "Calendar files are made from the active version of a plan." in response.content.decode()


# --- times and reminder alarms ---------------------------------------------------------------------


def _plan_events(client, plan):
    cal = Calendar.from_ical(client.get(reverse("reminders:plan_ics", args=[plan.uuid])).content)
    return cal, cal.walk("VEVENT")


def test_it_gives_a_booked_appointment_its_clinic_time_and_a_reminder_the_day_before(client, clinician, active):
    from datetime import time, timedelta
    from zoneinfo import ZoneInfo

    active.patient.clinic.time_zone = "America/New_York"
    active.patient.clinic.save()
    booked, unbooked = active.followups.order_by("due_date")[:2]
    booked.appointment_time = time(14, 30)
    booked.save()
    client.force_login(clinician)
    cal, events = _plan_events(client, active)
    by_day = {e.decoded("dtstart"): e for e in events if str(e["summary"]).startswith("Appointment")}

    timed = next(e for e in by_day.values() if isinstance(e.decoded("dtstart"), datetime))
    start = timed.decoded("dtstart")
    assert start == datetime.combine(booked.due_date, time(14, 30), tzinfo=ZoneInfo("America/New_York"))
    assert timed["dtstart"].params["TZID"] == "America/New_York"
    assert [str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")] == ["America/New_York"]
    assert timed.decoded("dtend") - start == timedelta(minutes=30)
    [alarm] = timed.walk("VALARM")
    assert str(alarm["action"]) == "DISPLAY" and alarm.decoded("trigger") == timedelta(days=-1)

    all_day = by_day[unbooked.due_date]
    assert all_day.decoded("dtend") == unbooked.due_date + timedelta(days=1)
    [alarm] = all_day.walk("VALARM")
    # An all-day event has no time to count back from: the alarm rings at 09:00 clinic time the day before.
    eve = datetime.combine(unbooked.due_date - timedelta(days=1), time(9), tzinfo=ZoneInfo("America/New_York"))
    assert alarm.decoded("trigger") == eve and alarm["trigger"].params["VALUE"] == "DATE-TIME"
    assert all(len(e.walk("VALARM")) == 1 for e in by_day.values())


def test_it_reminds_the_patient_on_the_morning_each_new_dose_starts(client, clinician, active):
    from datetime import time
    from zoneinfo import ZoneInfo

    client.force_login(clinician)
    _, events = _plan_events(client, active)
    doses = [e for e in events if str(e["summary"]).startswith("Amitriptyline")]
    steps = list(active.steps.order_by("number"))
    assert [e.decoded("dtstart") for e in doses] == [s.start_date for s in steps]
    for event, step in zip(doses, steps, strict=True):
        [alarm] = event.walk("VALARM")
        assert alarm.decoded("trigger") == datetime.combine(step.start_date, time(8), tzinfo=ZoneInfo("Europe/London"))
        assert str(alarm["description"]).startswith("From tonight: Amitriptyline")


def test_it_shows_a_booked_time_in_the_clinic_zone_in_the_clinician_feed(client, clinician, plan):
    from datetime import time
    from zoneinfo import ZoneInfo

    f = due(plan, date(2026, 6, 10))
    f.appointment_time = time(9, 15)
    f.save()
    feed = CalendarFeed.objects.create(user=clinician)
    [event] = Calendar.from_ical(client.get(reverse("reminders:feed", args=[feed.token])).content).walk("VEVENT")
    assert event.decoded("dtstart") == datetime(2026, 6, 10, 9, 15, tzinfo=ZoneInfo("Europe/London"))
    assert event["dtstart"].params["TZID"] == "Europe/London"
