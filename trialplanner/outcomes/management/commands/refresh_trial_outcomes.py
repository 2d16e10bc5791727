"""Rewrite the outcome review's per-trial rows whose follow-up counts ran out (nightly), or all."""

from django.core.management.base import BaseCommand

from trialplanner.outcomes import services


class Command(BaseCommand):
    help = (
        "Rewrite the per-trial outcome rows whose follow-up counts ran out (a follow-up fell due or became "
        "late since the row was written). Run nightly, after midnight in the clinics' time zones; --all "
        "rebuilds every row."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="rebuild every trial's row")

    def handle(self, *args, **options):
        done = services.refresh_all() if options["all"] else services.refresh_expired()
        self.stdout.write(f"{done} trial rows rewritten")
