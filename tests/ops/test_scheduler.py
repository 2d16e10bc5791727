"""The scheduler: each job once per scope and day however many schedulers run, a missed run caught up
once, an expired lease taken over, failures retried, a clean stop on SIGTERM, a log line per run."""

import logging
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from django.db import connection

from tests.ops.test_restore import ROOT
from trialplanner.ops import jobs, scheduler
from trialplanner.ops.models import ScheduledRun
from trialplanner.patients.models import Clinic

LEASE = timedelta(minutes=30)
# 07:30 in London (winter: UTC), 02:30 in New York.
MORNING = datetime(2026, 12, 8, 7, 30, tzinfo=UTC)


class Counting:
    """Jobs that count their runs per scope (and can be told to fail)."""

    def __init__(self, fail_times=0):
        self.runs, self.days, self.fail_times, self.lock = [], [], fail_times, threading.Lock()

    def __call__(self, target, now, day):
        with self.lock:
            self.runs.append(getattr(target, "pk", "site"))
            self.days.append(day)
            if self.fail_times:
                self.fail_times -= 1
                raise RuntimeError("mail server down")
        return "ok"

    def jobs(self, at=time(7, 0), catch_up=timedelta(hours=12)):
        return [
            scheduler.Job("per-clinic", at, catch_up, self),
            scheduler.Job("site", time(3, 0), timedelta(hours=23), self, per_clinic=False),
        ]


@pytest.fixture
def clinics(clinic, other_clinic):
    return clinic, other_clinic  # Europe/London and America/New_York


@pytest.mark.django_db
def test_it_runs_each_job_at_the_local_time_of_each_clinic(clinics):
    london, new_york = clinics
    counting = Counting()
    scheduler.tick(counting.jobs(), MORNING, owner="a:1", lease=LEASE)
    assert sorted(counting.runs, key=str) == sorted([london.pk, "site"], key=str)  # not yet 07:00 in New York
    scheduler.tick(counting.jobs(), MORNING + timedelta(hours=5), owner="a:1", lease=LEASE)
    assert counting.runs.count(new_york.pk) == 1 and counting.runs.count(london.pk) == 1
    days = set(ScheduledRun.objects.values_list("scope", "day", "status"))
    assert (f"clinic:{new_york.pk}", MORNING.date(), "done") in days


@pytest.mark.django_db
def test_it_runs_a_job_once_however_many_schedulers_tick(clinics):
    counting = Counting()
    for owner in ("server-1:10", "server-2:20", "server-1:10"):
        scheduler.tick(counting.jobs(), MORNING, owner=owner, lease=LEASE)
    assert len(counting.runs) == 2
    assert ScheduledRun.objects.filter(status="done").count() == 2


# SQLite takes one writer at a time (IMMEDIATE transactions), so its claims cannot race; the test
# database there is shared-cache in memory, whose table locks ignore the busy timeout.
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a race between connections: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_it_runs_a_job_once_when_four_schedulers_tick_at_the_same_moment(clinics):
    """Four schedulers (threads, each with its own database connection) race for the same claims."""
    from django.db import connections

    counting, start = Counting(), threading.Barrier(4)
    errors = []

    def scheduler_thread(owner):
        try:
            start.wait(timeout=30)
            for _ in range(3):
                scheduler.tick(counting.jobs(), MORNING + timedelta(hours=5), owner=owner, lease=LEASE)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler_thread, args=(f"server-{n}:1",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted(counting.runs, key=str) == sorted([clinics[0].pk, clinics[1].pk, "site"], key=str)


@pytest.mark.django_db
def test_it_catches_up_a_run_missed_while_down_once_and_skips_stale_ones(clinics):
    london, _ = clinics
    counting = Counting()
    # Down from 05:00 to 11:00: the 07:00 run starts when the scheduler returns, once.
    for hour in (11, 12):
        scheduler.tick(counting.jobs(), MORNING.replace(hour=hour), owner="a:1", lease=LEASE)
    assert counting.runs.count(london.pk) == 1
    # Down until 06:00 the next day: yesterday's 07:00 digest is past its 12-hour window, so not sent late.
    counting.runs.clear()
    next_morning = MORNING.replace(hour=6) + timedelta(days=1)
    scheduler.tick(counting.jobs(), next_morning, owner="a:1", lease=LEASE)
    assert london.pk not in counting.runs
    assert counting.runs == ["site"]  # the 03:00 site job of that day: 3 hours late, within its window


@pytest.mark.django_db
def test_it_runs_a_late_run_for_its_own_day_after_the_clinics_midnight(clinics):
    """A 20:00 job whose scheduler was down until 00:30 runs for the day before, not the new day."""
    london, _ = clinics
    counting = Counting()
    evening = scheduler.Job("evening", time(20, 0), timedelta(hours=12), counting)
    scheduler.tick([evening], MORNING.replace(hour=0, minute=30) + timedelta(days=1), owner="a:1", lease=LEASE)
    assert counting.days[counting.runs.index(london.pk)] == MORNING.date()


@pytest.mark.django_db
def test_it_takes_over_an_expired_lease_but_not_a_live_one(clinics):
    london, _ = clinics
    counting = Counting()
    key = {"job": "per-clinic", "scope": f"clinic:{london.pk}", "day": MORNING.date()}
    held = ScheduledRun.objects.create(**key, owner="dead:1", lease_until=MORNING + timedelta(minutes=5),
                                       started_at=MORNING - timedelta(minutes=25))  # fmt: skip
    scheduler.tick(counting.jobs()[:1], MORNING, owner="b:2", lease=LEASE)
    assert counting.runs == []  # its holder may still be running it
    scheduler.tick(counting.jobs()[:1], MORNING + timedelta(minutes=10), owner="b:2", lease=LEASE)
    held.refresh_from_db()
    assert counting.runs == [london.pk]
    assert (held.status, held.owner, held.attempts) == ("done", "b:2", 2)


@pytest.mark.django_db
def test_it_retries_a_failed_run_on_later_ticks_up_to_the_limit(clinics, caplog):
    counting = Counting(fail_times=10)
    job = counting.jobs()[1:]  # the site job
    with caplog.at_level(logging.INFO, logger="trialplanner.scheduler"):
        for minutes in (0, 1, 5):  # within RETRY_AFTER of the failure: not tried again yet
            scheduler.tick(job, MORNING + timedelta(minutes=minutes), owner="a:1", lease=LEASE)
        assert len(counting.runs) == 1
        for minutes in range(20, 120, 20):
            scheduler.tick(job, MORNING + timedelta(minutes=minutes), owner="a:1", lease=LEASE)
    run = ScheduledRun.objects.get()
    assert len(counting.runs) == scheduler.MAX_ATTEMPTS
    assert (run.status, run.attempts) == ("failed", scheduler.MAX_ATTEMPTS)
    assert "RuntimeError: mail server down" in run.detail
    lines = [r.getMessage() for r in caplog.records if ": failed in" in r.getMessage()]
    assert len(lines) == scheduler.MAX_ATTEMPTS and lines[0].startswith("scheduled job site site 2026-12-08")


@pytest.mark.django_db
def test_it_sends_the_reminder_digest_at_each_clinics_morning(active, clinician, settings):
    """The real job list: the London clinic's digest goes at 07:00 London time, once."""
    due_day = active.followups.order_by("due_date").first().due_date
    morning = datetime.combine(due_day, time(7, 5), tzinfo=UTC)
    for minutes in (0, 30):
        scheduler.tick(jobs.daily_jobs(), morning + timedelta(minutes=minutes), owner="a:1", lease=LEASE)
    assert [m.to for m in mail.outbox] == [[clinician.email]]
    run = ScheduledRun.objects.get(job="reminder-digest")
    assert run.status == "done" and run.detail.startswith("1 sent")
    assert set(ScheduledRun.objects.values_list("job", flat=True)) == {
        "reminder-digest", "refresh-trial-outcomes", "housekeeping"
    }  # fmt: skip


@pytest.mark.django_db
def test_it_stops_between_ticks_when_told():
    stop, ticks = threading.Event(), []

    def clock():
        ticks.append(1)
        if len(ticks) == 2:
            stop.set()
        return MORNING

    thread = threading.Thread(target=scheduler.run_forever, args=([],),
                              kwargs={"stop": stop, "interval": 0.01, "lease": LEASE, "clock": clock})  # fmt: skip
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive() and len(ticks) == 2


@pytest.mark.skipif(connection.vendor != "sqlite", reason="runs the command on a throwaway SQLite file")
def test_it_exits_cleanly_on_sigterm(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL"}}
    env.update(DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
               DJANGO_SETTINGS_MODULE="trialplanner.settings")  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_scheduler", "--interval", "0.2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        log = ""
        while "scheduler tick failed" not in log and datetime.now(UTC) < deadline:  # it runs, and ticks
            log += process.stderr.readline()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    # No tables in that file: every tick fails with one line, and SIGTERM still ends it cleanly.
    assert process.returncode == 0
    assert "scheduler tick failed (OperationalError" in log + err and "stopped" in err
    assert "Traceback" not in log + err


def test_it_documents_every_job_in_the_deploy_guide():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for job in jobs.daily_jobs():
        assert f"`{job.name}`" in guide


def test_it_keeps_clinic_zones_valid():
    assert {"Europe/London", "America/New_York"} <= {z for z, _ in Clinic._meta.get_field("time_zone").choices}
