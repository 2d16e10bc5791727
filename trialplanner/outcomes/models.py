"""One outcome summary row per trial (plan series), kept by the plan services that write.

The clinic outcome review counts these rows instead of re-deriving every trial's course from
its versions, steps and visits on each view. A row is rewritten, from the plans, steps and
visits themselves (`outcomes.services.refresh_trials`), by each service that can change what
happened to a trial: activation, stopping, marking a version entered in error and recording a
visit, next to their audit call. `tests/outcomes/test_summary.py` checks that the rows always
match a recomputation.
"""

from django.db import models


class TrialOutcome(models.Model):
    """What happened to one trial, as the outcome review counts it (see outcomes.review)."""

    series = models.UUIDField(primary_key=True, help_text="The plan series (every version of one plan).")
    clinic = models.ForeignKey("patients.Clinic", on_delete=models.CASCADE, related_name="+")
    indication = models.ForeignKey("catalog.Indication", on_delete=models.PROTECT, related_name="+")
    started = models.DateField(help_text="Start of the first version in force (activated, not entered in error).")
    target_on = models.DateField(null=True, blank=True, help_text="First day of a target-dose step in force.")
    has_baseline = models.BooleanField(default=False)
    judged = models.BooleanField(default=False, help_text="Scored at the judgement visit, with a baseline.")
    responded = models.BooleanField(default=False, help_text="Met the response threshold at the judgement visit.")
    response_on = models.DateField(null=True, blank=True, help_text="First visit meeting the response threshold.")
    stopped = models.BooleanField(default=False)
    stop_reason = models.CharField(max_length=20, blank=True)
    had_visit = models.BooleanField(default=False, help_text="Any visit recorded on any version.")
    side_effects = models.CharField(
        max_length=500, blank=True, help_text="Side effects reported at any visit, as ',key,key,'."
    )
    # The trial's follow-ups due up to `followups_as_of` (the clinic's today when the row was
    # written), counted as the review counts them with `followups_late_days`. The counts hold for
    # any day from `followups_as_of` up to the day before `followups_valid_until` (a follow-up
    # falls due, or an open one becomes late); outside that the review counts the trial's
    # follow-ups live, and the nightly `refresh_trial_outcomes` rewrites the rows that ran out.
    followups_due = models.PositiveIntegerField(default=0)
    followups_on_time = models.PositiveIntegerField(default=0)
    followups_late = models.PositiveIntegerField(default=0)
    followups_overdue = models.PositiveIntegerField(default=0)
    followups_missed = models.PositiveIntegerField(default=0)
    followups_as_of = models.DateField()
    followups_valid_until = models.DateField(null=True, blank=True, help_text="Empty: the counts never change.")
    followups_late_days = models.PositiveIntegerField()

    class Meta:
        indexes = [
            # The review reads one clinic's trials started in a period (and an indication).
            models.Index(fields=["clinic", "started", "indication"], name="trial_outcome_cohort_idx"),
            # The rows whose follow-up counts do not hold today (counted live, rewritten nightly):
            # ran out, counted with another late-days setting, or counted after the day asked for.
            models.Index(
                fields=["clinic", "followups_late_days", "followups_valid_until"], name="trial_outcome_expiry_idx"
            ),
            models.Index(fields=["clinic", "followups_as_of"], name="trial_outcome_as_of_idx"),
        ]

    def __str__(self):
        return f"trial {self.series} started {self.started}"
