"""The daily reminder sweep: one digest per clinician per day, recorded in the sent ledger."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from trialplanner.clinictime import clinic_today
from trialplanner.patients.access import memberships_for
from trialplanner.plans import worklist
from trialplanner.plans.models import Plan
from trialplanner.reminders.models import ReminderSent

logger = logging.getLogger(__name__)


@dataclass
class SweepResult:
    sent: int = 0
    already_sent: int = 0
    nothing_due: int = 0
    failed: int = 0


def due_for(user, now):
    """The user's own follow-ups (as responsible clinician) that are overdue or due today."""
    groups = worklist.worklist(user, now, clinician=user, horizon_days=0)
    return groups["overdue"] + groups["today"]


def clinician_today(user, now):
    """The clinician's today on their clinic's calendar (the earliest-joined clinic, if several)."""
    memberships = sorted(memberships_for(user), key=lambda m: m.pk)
    return clinic_today(memberships[0].clinic, now) if memberships else now.date()


def send_digests(now, day=None, clinic=None) -> SweepResult:
    """Send each clinician with due or overdue follow-ups one digest for their clinic's today (or
    `day`); only those responsible for a plan in `clinic`, if given (the scheduler sends at each
    clinic's morning). Safe to re-run: the ledger holds one row per clinician and day."""
    result = SweepResult()
    users = get_user_model().objects.filter(is_active=True, plans_responsible__status=Plan.Status.ACTIVE)
    if clinic is not None:
        users = users.filter(plans_responsible__patient__clinic=clinic)
    users = users.exclude(email="").distinct()
    for user in users.order_by("id"):
        user_day = day or clinician_today(user, now)
        rows = due_for(user, now)
        if not rows:
            result.nothing_due += 1
            continue
        try:
            with transaction.atomic():
                # The unique ledger row is taken before sending, so a second sweep (or a second
                # server running the same sweep) finds it and sends nothing; a failed send rolls it back.
                ReminderSent.objects.create(user=user, day=user_day, followup_count=len(rows))
                _send(user, rows, user_day)
        except IntegrityError:
            result.already_sent += 1
            continue
        except Exception:  # noqa: BLE001 - one failed send must not stop the others; retried next run
            logger.exception("Reminder digest to user id %s failed", user.pk)
            result.failed += 1
            continue
        result.sent += 1
    return result


def _send(user, rows, day):
    ctx = {
        "user": user,
        "rows": rows,
        "day": day,
        "overdue": sum(1 for r in rows if r.group == "overdue"),
        "worklist_url": settings.SITE_URL.rstrip("/") + reverse("plans:worklist"),
        "site_name": settings.SITE_NAME,
    }
    subject = render_to_string("reminders/digest_subject.txt", ctx).strip()
    message = EmailMultiAlternatives(
        subject, render_to_string("reminders/digest.txt", ctx), settings.DEFAULT_FROM_EMAIL, [user.email]
    )
    message.attach_alternative(render_to_string("reminders/digest.html", ctx), "text/html")
    message.send()
