from django.core.management.base import BaseCommand
from django.utils import timezone

from trialplanner.reminders.digest import send_digests


class Command(BaseCommand):
    help = "Email each clinician one daily digest of their due and overdue follow-ups (idempotent per day)."

    def handle(self, *args, **options):
        result = send_digests(timezone.now())  # each clinician's day is their clinic's today
        self.stdout.write(
            f"Reminders: {result.sent} sent, {result.already_sent} already sent today, "
            f"{result.nothing_due} clinicians with nothing due, {result.failed} failed (retried next run)."
        )
        if result.failed:
            raise SystemExit(1)
