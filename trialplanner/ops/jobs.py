"""The daily jobs the scheduler runs (`manage.py run_scheduler`): what, when, and for whom.

The times are operations settings, not clinical numbers: REMINDER_HOUR (default 7, each clinic's
morning) and the nightly jobs shortly after each midnight.
"""

from datetime import time, timedelta

from django.conf import settings
from django.contrib.sessions.models import Session

from trialplanner.ops.scheduler import Job


def reminder_digest(clinic, now, day):
    from trialplanner.reminders.digest import send_digests

    # For the run's day, even when a late run starts after the clinic's midnight.
    result = send_digests(now, day=day, clinic=clinic)
    if result.failed:
        raise RuntimeError(f"{result.failed} digests failed ({result.sent} sent)")
    return f"{result.sent} sent, {result.already_sent} already sent, {result.nothing_due} with nothing due"


def refresh_outcomes(clinic, now, day):
    from trialplanner.outcomes.services import refresh_expired

    return f"{refresh_expired([clinic])} trial rows rewritten"


def housekeeping(_site, now, day):
    """Expired sessions and CDS Hooks JWT ids past their lifetime (each kept only while it can matter)."""
    from trialplanner.interop.models import CdsJwtUse

    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    jtis, _ = CdsJwtUse.objects.filter(expires_at__lt=now - timedelta(hours=1)).delete()
    return f"{sessions} expired sessions and {jtis} used JWT ids removed"


def daily_jobs():
    return [
        Job("reminder-digest", time(settings.REMINDER_HOUR), timedelta(hours=12), reminder_digest),
        Job("refresh-trial-outcomes", time(0, 30), timedelta(hours=23), refresh_outcomes),
        Job("housekeeping", time(3, 0), timedelta(hours=23), housekeeping, per_clinic=False),
    ]
