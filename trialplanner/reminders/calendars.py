"""iCalendar output with stable UIDs and rising SEQUENCE, so updates move existing events.

A follow-up with a booked time is a timed event in the clinic's time zone (TZID with its
VTIMEZONE, so a phone in another zone still shows the clinic's wall-clock time); without one it
is an all-day event. The patient's plan calendar carries reminder alarms: the day before each
appointment, and on the morning each new dose starts.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from icalendar import Alarm, Calendar, Event

from trialplanner.engine import dosetext

PRODID = "-//trialplanner//follow-ups//EN"

# Calendar conveniences, not clinical values: how long a booked appointment blocks in the
# calendar, and the clinic-time hours the reminders ring.
APPOINTMENT_LENGTH = timedelta(minutes=30)
DAY_BEFORE_REMINDER_AT = time(9, 0)
DOSE_CHANGE_REMINDER_AT = time(8, 0)


def _calendar(name):
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    return cal


def _event(uid, summary, sequence, description=""):
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", timezone.now())
    event.add("summary", summary)
    event.add("sequence", sequence)
    if description:
        event.add("description", description)
    return event


def _all_day(uid, day, summary, sequence, description=""):
    event = _event(uid, summary, sequence, description)
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    return event


def _alarm(trigger, text):
    """A display alarm; `trigger` is a timedelta from the event's start or an aware datetime."""
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", text)
    if isinstance(trigger, datetime):
        # An absolute trigger must be UTC (RFC 5545 3.8.6.3).
        alarm.add("trigger", trigger.astimezone(ZoneInfo("UTC")), parameters={"VALUE": "DATE-TIME"})
    else:
        alarm.add("trigger", trigger)
    return alarm


def _clinic_time(day, at, zone):
    return datetime.combine(day, at, tzinfo=zone)


def _visit(uid, followup, zone, summary, sequence, description="", *, remind=False):
    """A timed event when the appointment has a time, else all-day; `remind`: an alarm the day before."""
    day = followup.effective_date
    if followup.appointment_time is not None:
        start = _clinic_time(day, followup.appointment_time, zone)
        event = _event(uid, summary, sequence, description)
        event.add("dtstart", start)
        event.add("dtend", start + APPOINTMENT_LENGTH)
        trigger = timedelta(days=-1)
    else:
        event = _all_day(uid, day, summary, sequence, description)
        trigger = _clinic_time(day - timedelta(days=1), DAY_BEFORE_REMINDER_AT, zone)
    if remind:
        event.add_component(_alarm(trigger, f"Tomorrow: {summary}"))
    return event


def _finish(cal):
    cal.add_missing_timezones()  # a VTIMEZONE for every TZID the events use
    return cal.to_ical()


def clinician_feed(user, followups):
    """A clinician's open follow-ups: patient display names and dates only, no clinical details."""
    cal = _calendar("trialplanner follow-ups")
    for f in followups:
        summary = f"Follow-up: {f.plan.patient.display_name}"
        zone = ZoneInfo(f.clinic.time_zone)
        cal.add_component(_visit(f"followup-{f.uuid}@trialplanner", f, zone, summary, f.sequence))
    return _finish(cal)


def plan_calendar(plan, steps, followups, kind_labels):
    """The patient's dose changes (reminded that morning) and appointments (reminded the day before)."""
    clinic = plan.patient.clinic
    zone = ZoneInfo(clinic.time_zone)
    cal = _calendar(f"Amitriptyline plan ({clinic.name})")
    contact = f"{clinic.name}, {clinic.phone}"
    for step in steps:
        tablets = [(t["strength_mg"], t["count"]) for t in step.tablets]
        how = dosetext.per_night_text(tablets, step.liquid_ml, step.liquid_label)
        if step.dose_mg == 0:
            summary = "Amitriptyline: stop taking it"
        else:
            summary = f"Amitriptyline: {step.dose_mg.normalize():f} mg each night ({how})"
        uid = f"plan-{plan.series}-step-{step.number}@trialplanner"
        event = _all_day(uid, step.start_date, summary, plan.version, f"Questions: {contact}")
        morning = _clinic_time(step.start_date, DOSE_CHANGE_REMINDER_AT, zone)
        event.add_component(_alarm(morning, f"From tonight: {summary}"))
        cal.add_component(event)
    seen = {}
    for f in followups:
        seen[f.kind] = seen.get(f.kind, 0) + 1
        uid = f"plan-{plan.series}-{f.kind}-{seen[f.kind]}@trialplanner"
        summary = f"Appointment: {kind_labels.get(f.kind, f.kind)}"
        cal.add_component(_visit(uid, f, zone, summary, plan.version + f.sequence, f"With {contact}", remind=True))
    return _finish(cal)
