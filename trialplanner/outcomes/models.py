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
    warnings = models.JSONField(
        default=list,
        blank=True,
        help_text="Acknowledged warnings: [[card code, preset reason's key or '' for own words]].",
    )

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


class TrialTally(models.Model):
    """The outcome rows of one clinic's trials of one indication that started on one day, or in one month, summed.

    The review reads one tally per month of its period, and one per day of the part-months at
    its edges, instead of one row per trial: what it reads does not grow with the patients.
    `counts` is flat, {name: number of trials}: "trials", "reached", "baseline", "judged",
    "responded", "responded_any", "visited", "fu:<due|on_time|late|overdue|missed>" (follow-ups),
    "stop:<reason>", "effect:<side effect>", "warning:<card code>", "reason:<code>\\x1f<preset key>";
    zeros are left out. The days to target and to the first
    response (for the medians) are dense lists, `target_days` and `response_days`: their length
    is bounded by how long a trial lasts, not by how many trials there are. Like the trial rows,
    the counts hold from `as_of` up to the day before `valid_until` (a target is reached, a
    follow-up falls due or becomes late); outside that the review counts the tally's trials from
    their rows. `outcomes.tally` keeps it: each write adds
    the trial's new row and takes away its old one; the nightly command rebuilds those that ran out.
    """

    class Span(models.TextChoices):
        DAY = "day", "Day"
        MONTH = "month", "Month"

    clinic = models.ForeignKey("patients.Clinic", on_delete=models.CASCADE, related_name="+")
    indication = models.ForeignKey("catalog.Indication", on_delete=models.PROTECT, related_name="+")
    span = models.CharField(max_length=5, choices=Span.choices)
    first_day = models.DateField(help_text="The day, or the first day of the month, the trials started.")
    counts = models.JSONField(default=dict, blank=True)
    target_days = models.JSONField(
        default=list,
        blank=True,
        help_text="How many trials reached the target after each number of days: [first, n, n, ...].",
    )
    response_days = models.JSONField(
        default=list,
        blank=True,
        help_text="How many first met the response threshold after each number of days, as above.",
    )
    as_of = models.DateField()
    valid_until = models.DateField(null=True, blank=True, help_text="Empty: the counts never change.")
    late_days = models.PositiveIntegerField()

    class Meta:
        constraints = [
            # One tally per bucket; it is also the index the review reads a period by.
            models.UniqueConstraint(fields=["clinic", "span", "first_day", "indication"], name="trial_tally_bucket"),
            models.CheckConstraint(condition=models.Q(span__in=["day", "month"]), name="trialtally_span_choice"),
        ]
        indexes = [
            # The tallies that ran out (rebuilt nightly).
            models.Index(fields=["clinic", "valid_until"], name="trial_tally_expiry_idx"),
        ]

    def __str__(self):
        return f"{self.span} tally from {self.first_day}"
