"""The scheduler's ledger: which scheduled job ran for which scope and day, and who holds it."""

from django.db import models
from django.db.models import Q


class ScheduledRun(models.Model):
    """One run of a scheduled job for one scope (a clinic, or the whole site) and one day.

    The unique (job, scope, day) row is the claim: a scheduler that inserts it runs the job, and
    every other scheduler, on this server or another, finds it and does not. A claim is a lease:
    if its holder dies, another scheduler takes it over once `lease_until` has passed.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    job = models.CharField(max_length=60)
    scope = models.CharField(max_length=60, blank=True, help_text='"clinic:<id>", or empty for the whole site.')
    day = models.DateField(help_text="The day the run is for, on its scope's calendar.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    owner = models.CharField(max_length=200, help_text="host:pid of the scheduler that holds (or held) the claim.")
    lease_until = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    detail = models.TextField(blank=True, help_text="The job's one-line result, or why it failed.")

    class Meta:
        ordering = ["-day", "job", "scope"]
        constraints = [
            models.UniqueConstraint(fields=["job", "scope", "day"], name="scheduledrun_once_per_job_scope_day"),
            models.CheckConstraint(
                condition=Q(status__in=["running", "done", "failed"]), name="scheduledrun_status_choice"
            ),
        ]

    def __str__(self):
        return f"{self.job} {self.scope or 'site'} {self.day}: {self.status}"
