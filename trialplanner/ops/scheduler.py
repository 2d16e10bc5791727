"""One scheduler for the daily jobs, safe to run on every server: each run is claimed in the ledger.

A job runs once a day at a local time: per clinic in the clinic's time zone (the reminder digest at
07:00), or once for the site in settings.TIME_ZONE. Each tick, every job whose time has passed today
(or within its catch-up window, for a scheduler that was down) and that has no ledger row yet is
claimed by inserting its (job, scope, day) row, unique in the database, so two schedulers on two
servers never both run it, on SQLite and PostgreSQL alike, and behind PgBouncer (no advisory locks,
no session state). A claim is a lease: a scheduler that dies mid-run leaves a row another takes over
after `lease_until` (so the lease must outlast the longest job); a failed run is tried again
RETRY_AFTER later, up to MAX_ATTEMPTS in all.

Why not a task library: django-tasks has no periodic schedule, procrastinate needs PostgreSQL (the
embedded default is SQLite), and Celery beat needs a broker. The jobs are three calls a day.
"""

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from trialplanner.ops.models import ScheduledRun

log = logging.getLogger("trialplanner.scheduler")
MAX_ATTEMPTS = 3
# A failed run is tried again no sooner than this after it failed (a mail relay down for a few minutes).
RETRY_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Job:
    name: str
    at: time  # local time of day
    catch_up: timedelta  # how late a missed run may still start (a scheduler that was down)
    run: Callable  # run(scope_object, now, day) -> one-line result; `day` is the day the run is for
    per_clinic: bool = True


@dataclass(frozen=True)
class Occurrence:
    job: Job
    scope: str
    day: date
    target: object  # the clinic, or None for the site


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def due(jobs, now: datetime, clinics) -> list[Occurrence]:
    """Every occurrence whose time has passed and is still within its catch-up window (the latest only)."""
    found = []
    for job in jobs:
        targets = [(f"clinic:{c.pk}", c, ZoneInfo(c.time_zone)) for c in clinics] if job.per_clinic else []
        if not job.per_clinic:
            targets = [("", None, ZoneInfo(settings.TIME_ZONE))]
        for scope, target, zone in targets:
            local = now.astimezone(zone)
            for day in (local.date(), local.date() - timedelta(days=1)):
                scheduled = datetime.combine(day, job.at, tzinfo=zone)
                if scheduled <= now <= scheduled + job.catch_up:
                    found.append(Occurrence(job, scope, day, target))
                    break
    return found


def claim(occurrence: Occurrence, now: datetime, owner: str, lease: timedelta) -> ScheduledRun | None:
    """The ledger row, now held by `owner`, or None if another scheduler holds or finished this run."""
    key = {"job": occurrence.job.name, "scope": occurrence.scope, "day": occurrence.day}
    existing = ScheduledRun.objects.filter(**key).values_list("status", flat=True).first()
    if existing == ScheduledRun.Status.DONE:
        return None  # the common case, every tick after the run: no insert (and no duplicate-key log line)
    if existing is None:
        try:
            with transaction.atomic():
                return ScheduledRun.objects.create(**key, owner=owner, lease_until=now + lease, started_at=now)
        except IntegrityError:
            pass  # another scheduler inserted it first
    # Taken over only if its holder's lease ran out, or it failed and may be tried again. One UPDATE
    # with the condition in its WHERE: of two schedulers, only the first changes the row.
    taken = (
        ScheduledRun.objects.filter(**key)
        .filter(
            Q(status=ScheduledRun.Status.RUNNING, lease_until__lt=now)
            | Q(status=ScheduledRun.Status.FAILED, attempts__lt=MAX_ATTEMPTS, finished_at__lte=now - RETRY_AFTER)
        )
        .update(
            status=ScheduledRun.Status.RUNNING,
            owner=owner,
            lease_until=now + lease,
            started_at=now,
            finished_at=None,
            attempts=F("attempts") + 1,
        )
    )
    return ScheduledRun.objects.get(**key) if taken else None


def run_once(run: ScheduledRun, occurrence: Occurrence, now: datetime) -> ScheduledRun:
    started = timezone.now()
    try:
        detail = str(occurrence.job.run(occurrence.target, now, occurrence.day))
        run.status = ScheduledRun.Status.DONE
    except Exception as exc:  # noqa: BLE001 - a failed job is recorded and retried, never stops the scheduler
        log.exception("scheduled job %s %s %s failed", run.job, run.scope or "site", run.day)
        detail = f"failed: {exc.__class__.__name__}: {exc}"
        run.status = ScheduledRun.Status.FAILED
    elapsed = timezone.now() - started
    run.finished_at = now + elapsed  # on the tick's clock, as the lease and the retry wait are
    run.detail = detail[:2000]
    # Only the holder may finish it: a run that outlived its lease and was taken over records nothing.
    ScheduledRun.objects.filter(pk=run.pk, owner=run.owner, started_at=run.started_at).update(
        status=run.status, finished_at=run.finished_at, detail=run.detail
    )
    seconds = elapsed.total_seconds()
    log.info(
        "scheduled job %s %s %s: %s in %.1f s (attempt %d): %s",
        run.job, run.scope or "site", run.day, run.status, seconds, run.attempts, run.detail,
    )  # fmt: skip
    return run


def tick(jobs, now: datetime, *, owner: str, lease: timedelta, stop: threading.Event | None = None) -> list:
    """Claim and run every due occurrence; the runs this scheduler made."""
    from trialplanner.patients.models import Clinic

    done = []
    for occurrence in due(jobs, now, list(Clinic.objects.order_by("pk"))):
        if stop is not None and stop.is_set():
            break
        run = claim(occurrence, now, owner, lease)
        if run is not None:
            done.append(run_once(run, occurrence, now))
    return done


def run_forever(jobs, *, stop: threading.Event, interval: float, lease: timedelta, clock=timezone.now) -> None:
    """Tick every `interval` seconds until `stop` is set (SIGTERM); a run under way finishes first."""
    owner = owner_name()
    log.info("scheduler %s started: %s", owner, ", ".join(f"{j.name} at {j.at:%H:%M}" for j in jobs))
    while not stop.is_set():
        # As Django does around each request: drop a connection that broke or outlived CONN_MAX_AGE, so a
        # database restart or failover is survived instead of failing every later tick.
        close_old_connections()
        try:
            tick(jobs, clock(), owner=owner, lease=lease, stop=stop)
        except Exception as exc:  # noqa: BLE001 - e.g. the database restarting: one line, wait, try again
            log.warning("scheduler tick failed (%s: %s); trying again in %s s", exc.__class__.__name__, exc, interval)
        stop.wait(interval)
    log.info("scheduler %s stopped", owner)
