import time

from django.core.management.base import BaseCommand, CommandError

from trialplanner.catalog.models import Indication
from trialplanner.ops.seed import LOAD_PASSWORD, seed_load, vacuum_analyze


class Command(BaseCommand):
    help = "Create N deterministic load-test patients with plans, follow-ups and visits (for benchmarks)."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, required=True)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, patients, seed, **options):
        if patients < 1:
            raise CommandError("patients: must be at least 1")
        if not Indication.objects.exists():
            raise CommandError("catalog: load it first (manage.py load_catalog)")
        started = time.perf_counter()
        counts = seed_load(patients, seed)
        vacuum_analyze()
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {counts['patients']} patients, {counts['plans']} plans, {counts['steps']} steps, "
                f"{counts['followups']} follow-ups, {counts['visits']} visits in {elapsed:.1f} s "
                f"(user 'load', password {LOAD_PASSWORD})"
            )
        )
