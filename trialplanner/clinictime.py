"""Clinic time: "now" and "today" as the clinic's own wall clock reads them.

Every view, form, service and command that needs today's date for a patient takes it from
the patient's clinic through these two functions, never from `timezone.localdate()` (the
server's zone): a clinic west of the server would otherwise see tomorrow in the evening.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone


def clinic_now(clinic, now: datetime | None = None) -> datetime:
    """The current time (or `now`) in the clinic's time zone."""
    return (now or timezone.now()).astimezone(ZoneInfo(clinic.time_zone))


def clinic_today(clinic, now: datetime | None = None) -> date:
    """Today's date (or `now`'s date) in the clinic's time zone."""
    return clinic_now(clinic, now).date()
