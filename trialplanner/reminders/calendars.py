"""iCalendar output with stable UIDs and rising SEQUENCE, so updates move existing events."""

from datetime import timedelta

from django.utils import timezone
from icalendar import Calendar, Event

from trialplanner.engine import dosetext

PRODID = "-//trialplanner//follow-ups//EN"


def _calendar(name):
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    return cal


def _all_day(uid, day, summary, sequence, description=""):
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", summary)
    event.add("sequence", sequence)
    if description:
        event.add("description", description)
    return event


def clinician_feed(user, followups):
    """A clinician's open follow-ups: patient display names and dates only, no clinical details."""
    cal = _calendar("trialplanner follow-ups")
    for f in followups:
        summary = f"Follow-up: {f.plan.patient.display_name}"
        cal.add_component(_all_day(f"followup-{f.uuid}@trialplanner", f.effective_date, summary, f.sequence))
    return cal.to_ical()


def plan_calendar(plan, steps, followups, kind_labels):
    """The patient's dose changes and appointments for one plan version."""
    cal = _calendar(f"Amitriptyline plan ({plan.patient.clinic.name})")
    contact = f"{plan.patient.clinic.name}, {plan.patient.clinic.phone}"
    for step in steps:
        tablets = [(t["strength_mg"], t["count"]) for t in step.tablets]
        how = dosetext.per_night_text(tablets, step.liquid_ml, step.liquid_label)
        if step.dose_mg == 0:
            summary = "Amitriptyline: stop taking it"
        else:
            summary = f"Amitriptyline: {step.dose_mg.normalize():f} mg each night ({how})"
        uid = f"plan-{plan.series}-step-{step.number}@trialplanner"
        cal.add_component(_all_day(uid, step.start_date, summary, plan.version, f"Questions: {contact}"))
    seen = {}
    for f in followups:
        seen[f.kind] = seen.get(f.kind, 0) + 1
        uid = f"plan-{plan.series}-{f.kind}-{seen[f.kind]}@trialplanner"
        summary = f"Appointment: {kind_labels.get(f.kind, f.kind)}"
        cal.add_component(_all_day(uid, f.effective_date, summary, plan.version + f.sequence, f"With {contact}"))
    return cal.to_ical()
