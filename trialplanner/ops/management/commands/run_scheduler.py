"""Run the daily jobs (reminder digests at each clinic's morning, the nightly outcome refresh,
housekeeping) on this server; safe on every server at once (trialplanner/ops/scheduler.py)."""

import signal
import threading
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from trialplanner.ops import jobs, scheduler


class Command(BaseCommand):
    help = "Run the scheduled daily jobs until SIGTERM or SIGINT; --once runs one tick and exits."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="claim and run what is due now, then exit")
        parser.add_argument("--interval", type=float, default=60.0, help="seconds between ticks (default 60)")
        parser.add_argument("--lease-minutes", type=int, default=30, help="how long a claim holds (default 30)")

    def handle(self, *args, once, interval, lease_minutes, **options):
        lease = timedelta(minutes=lease_minutes)
        if once:
            runs = scheduler.tick(jobs.daily_jobs(), timezone.now(), owner=scheduler.owner_name(), lease=lease)
            for run in runs:
                self.stdout.write(f"{run.job} {run.scope or 'site'} {run.day}: {run.status}: {run.detail}")
            self.stdout.write(f"{len(runs)} jobs run")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        scheduler.run_forever(jobs.daily_jobs(), stop=stop, interval=interval, lease=lease)
