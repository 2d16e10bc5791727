"""Titration plans and their versions, steps, follow-ups and acknowledgements.

A plan is a series of versions sharing `series`; revising makes a new version and
keeps the old one. Nothing is deleted: plans end as completed, stopped (with a
taper) or entered-in-error, each with who, when and why.
"""

from uuid import uuid4

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from trialplanner.catalog.models import MG
from trialplanner.engine.types import card_key


class Plan(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        REVISED = "revised", "Replaced by a newer version"
        COMPLETED = "completed", "Completed"
        STOPPED = "stopped", "Stopped"
        ENTERED_IN_ERROR = "entered_in_error", "Entered in error"

    class Kind(models.TextChoices):
        TITRATION = "titration", "Titration"
        TAPER = "taper", "Taper to stop"
        STOP_NOW = "stop_now", "Stopped at once (no taper)"

    class StopReason(models.TextChoices):
        SIDE_EFFECT = "side_effect", "Side effects"
        NO_RESPONSE = "no_response", "No response"
        PATIENT_CHOICE = "patient_choice", "Patient's choice"
        FINDING = "finding", "A finding at a visit (e.g. ECG, sodium)"
        OTHER = "other", "Other"

    uuid = models.UUIDField(default=uuid4, unique=True, editable=False)
    series = models.UUIDField(default=uuid4, editable=False, help_text="Shared by every version of one plan.")
    version = models.PositiveIntegerField(default=1)
    previous = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    built_from = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The active version this one was built from (none for a new plan): a draft may be "
        "activated only while that version is still the current one.",
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="plans")
    indication = models.ForeignKey("catalog.Indication", on_delete=models.PROTECT, related_name="+")
    risk_profile = models.ForeignKey(
        "patients.RiskProfile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.TITRATION)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    start_date = models.DateField()
    end_date = models.DateField()
    start_mg = models.DecimalField(**MG)
    target_mg = models.DecimalField(**MG)
    ceiling_mg = models.DecimalField(**MG)
    days_per_step = models.PositiveSmallIntegerField()
    tablet_strength_mg = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    supply_limit_days = models.PositiveSmallIntegerField(null=True, blank=True)
    supply_limit_mg = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True, help_text="Most amitriptyline in one supply (mg)."
    )
    target_date = models.DateField()
    response_date = models.DateField()
    protocol_snapshot = models.JSONField(help_text="The protocol row as it was when the plan was built.")
    engine_input = models.JSONField(help_text="Everything the engine was given, so the plan can be rebuilt.")
    cards = models.JSONField(default=list)
    adjustments = models.JSONField(default=list)
    monitoring = models.JSONField(default=list)
    lock_version = models.PositiveIntegerField(default=0)
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="plans_responsible",
        help_text="The responsible clinician: gets the reminders and the calendar entries.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.TextField(blank=True)
    stop_reason = models.CharField(
        max_length=20, choices=StopReason.choices, blank=True, help_text="Why the trial was stopped (stopped only)."
    )
    baseline_score = models.DecimalField(
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="Outcome score before the first dose, on the indication's measure; carried to every version.",
    )

    class Meta:
        ordering = ["-created_at", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["series", "version"], name="plan_unique_series_version"),
            models.UniqueConstraint(
                fields=["series"], condition=Q(status="active"), name="plan_one_active_version_per_series"
            ),
            # One amitriptyline course at a time (duplicate therapy): a taper counts, it is a course too.
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status="active"), name="plan_one_active_per_patient"
            ),
            models.CheckConstraint(condition=Q(target_mg__lte=F("ceiling_mg")), name="plan_target_lte_ceiling"),
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="plan_end_after_start"),
            models.CheckConstraint(
                condition=~Q(stop_reason="other") | ~Q(end_reason=""), name="plan_stop_reason_other_has_text"
            ),
            models.CheckConstraint(condition=Q(kind__in=["titration", "taper", "stop_now"]), name="plan_kind_choice"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "active", "revised", "completed", "stopped", "entered_in_error"]),
                name="plan_status_choice",
            ),
            models.CheckConstraint(
                condition=Q(stop_reason__in=["", "side_effect", "no_response", "patient_choice", "finding", "other"]),
                name="plan_stop_reason_choice",
            ),
        ]
        indexes = [models.Index(fields=["patient", "status"], name="plan_patient_status_idx")]

    def __str__(self):
        return f"{self.indication} plan v{self.version} for {self.patient}"

    def get_absolute_url(self):
        return reverse("plans:plan_detail", args=[self.uuid])

    @property
    def is_open(self):
        return self.status in (self.Status.DRAFT, self.Status.ACTIVE)


class Step(models.Model):
    class Kind(models.TextChoices):
        TITRATION = "titration", "Titration"
        TARGET = "target", "Target dose"
        HOLD = "hold", "Hold at start dose"
        TAPER = "taper", "Taper"
        STOP = "stop", "Stop"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    start_date = models.DateField()
    end_date = models.DateField()
    dose_mg = models.DecimalField(**MG)
    tablets = models.JSONField(default=list, help_text='[{"strength_mg": "10", "count": 2}] per night')
    liquid_ml = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    liquid_label = models.CharField(max_length=60, blank=True)
    awaits = models.JSONField(
        default=list,
        blank=True,
        help_text="Catalog monitoring slugs whose result the clinic confirms before the patient takes this step.",
    )

    class Meta:
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="step_unique_number"),
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="step_end_after_start"),
            models.CheckConstraint(condition=Q(dose_mg__gte=0), name="step_dose_not_negative"),
            models.CheckConstraint(
                condition=Q(kind__in=["titration", "target", "hold", "taper", "stop"]), name="step_kind_choice"
            ),
        ]

    def __str__(self):
        return f"Step {self.number}: {self.dose_mg} mg"

    @property
    def nights(self):
        return (self.end_date - self.start_date).days + 1

    @property
    def total_tablets(self):
        return [{"strength_mg": t["strength_mg"], "count": t["count"] * self.nights} for t in self.tablets]

    @property
    def total_liquid_ml(self):
        return None if self.liquid_ml is None else self.liquid_ml * self.nights


class FollowUpQuerySet(models.QuerySet):
    def refresh_worklist(self):
        """Recompute `worklist_date` for these rows in one UPDATE (after a plan or status change)."""
        active = Plan.objects.filter(pk=models.OuterRef("plan_id"), status=Plan.Status.ACTIVE)
        return self.update(
            worklist_date=models.Case(
                models.When(~models.Exists(active), then=None),
                models.When(status=FollowUp.Status.SNOOZED, snoozed_until__isnull=False, then=F("snoozed_until")),
                models.When(status__in=FollowUp.OPEN, appointment_date__isnull=False, then=F("appointment_date")),
                models.When(status__in=FollowUp.OPEN, then=F("due_date")),
                default=None,
            )
        )


class FollowUp(models.Model):
    class Kind(models.TextChoices):
        BASELINE = "baseline", "Baseline checks"
        FIRST_REVIEW = "first-review", "First review"
        AT_TARGET = "at-target", "Review at target dose"
        RESPONSE = "response", "Judge response"
        PERIODIC = "periodic", "Periodic review"
        TAPER_REVIEW = "taper-review", "Review after stopping"
        RECHECK = "recheck", "Recheck after a visit finding"
        CHECK = "check", "Check asked for by a risk card"
        RISE_REVIEW = "rise-review", "Review before a rise (phone or visit)"

    class Status(models.TextChoices):
        DUE = "due", "Due"
        DONE = "done", "Done"
        MISSED = "missed", "Missed"
        SNOOZED = "snoozed", "Snoozed"
        CANCELLED = "cancelled", "Cancelled"

    uuid = models.UUIDField(default=uuid4, unique=True, editable=False)
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="followups")
    due_date = models.DateField(help_text="The day the plan set for it; kept when an appointment is booked.")
    # A booked appointment moves the day it falls on (its effective date) and may give it a time;
    # a booked day without a time is an all-day appointment.
    appointment_date = models.DateField(
        null=True, blank=True, help_text="Clinic date of the booked appointment, when one is booked."
    )
    appointment_time = models.TimeField(
        null=True, blank=True, help_text="Clinic time of the booked appointment, when one is booked."
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    assess = models.JSONField(default=list, help_text="Catalog monitoring slugs to check at this visit.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DUE)
    snoozed_until = models.DateField(null=True, blank=True)
    status_note = models.CharField(max_length=300, blank=True, help_text="Why it was snoozed or missed.")
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    sequence = models.PositiveIntegerField(default=0, help_text="Calendar SEQUENCE: rises on every change.")
    # Denormalised for the worklist, which must stay fast at tens of thousands of follow-ups:
    # the patient's clinic, and the day the follow-up sits on the worklist (the snooze date
    # when snoozed), or NULL when it is not on it (closed, or its plan is not active).
    # save() keeps both in step; services call refresh_worklist() when a plan's status changes.
    clinic = models.ForeignKey("patients.Clinic", on_delete=models.PROTECT, related_name="+", editable=False)
    worklist_date = models.DateField(null=True, blank=True, editable=False)

    OPEN = (Status.DUE, Status.SNOOZED)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [
            models.Index(fields=["status", "due_date"], name="followup_status_due_idx"),
            # The clinic outcome review counts follow-ups due in a period.
            models.Index(fields=["clinic", "due_date"], name="followup_clinic_due_idx"),
            # The worklist's order: a page is an ordered range of it, a count an index-only scan.
            models.Index(
                fields=["clinic", "worklist_date", "id"],
                condition=Q(worklist_date__isnull=False),
                name="followup_worklist_order_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "baseline",
                        "first-review",
                        "at-target",
                        "response",
                        "periodic",
                        "taper-review",
                        "recheck",
                        "check",
                        "rise-review",
                    ]
                ),
                name="followup_kind_choice",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["due", "done", "missed", "snoozed", "cancelled"]), name="followup_status_choice"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} due {self.due_date}"

    def save(self, *args, **kwargs):
        self.fill_worklist_fields()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "worklist_date"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("plans:followup_visit", args=[self.uuid])

    def fill_worklist_fields(self, plan=None):
        """Set the denormalised clinic and worklist date from the plan (also used before bulk_create)."""
        plan = plan or self.plan
        if self.clinic_id is None:
            self.clinic_id = plan.patient.clinic_id
        open_ = plan.status == Plan.Status.ACTIVE and self.status in self.OPEN
        self.worklist_date = self.effective_date if open_ else None

    @property
    def effective_date(self):
        """The day it is due: the snooze date when snoozed, else the booked day, else the planned one."""
        if self.status == self.Status.SNOOZED and self.snoozed_until:
            return self.snoozed_until
        return self.appointment_date or self.due_date

    @property
    def is_booked(self):
        return self.appointment_date is not None


class Visit(models.Model):
    """What happened at a follow-up, and the decision that re-planned from it."""

    class Decision(models.TextChoices):
        CONTINUE = "continue", "Continue as planned"
        STEP_UP = "step_up", "Step up one step"
        HOLD = "hold", "Hold at the current dose"
        STEP_DOWN = "step_down", "Step down one step"
        STOP = "stop", "Stop (taper off)"
        STOP_NOW = "stop_now", "Stop now, no taper (critical finding)"

    class Mood(models.TextChoices):
        USUAL = "usual", "Usual for them"
        LOW = "low", "Low or anxious"
        HIGH = "high", "Elated or agitated (possible mania)"

    class Adherence(models.TextChoices):
        ALL = "all", "Took every dose"
        MOST = "most", "Missed a few doses"
        SOME = "some", "Missed many doses"
        NONE = "none", "Not taking it"

    class SideEffect(models.TextChoices):
        DROWSINESS = "drowsiness", "Daytime drowsiness"
        DRY_MOUTH = "dry_mouth", "Dry mouth"
        CONSTIPATION = "constipation", "Constipation"
        DIZZINESS = "dizziness", "Dizziness or orthostatic symptoms"
        URINARY = "urinary", "Difficulty passing urine"
        WEIGHT_GAIN = "weight_gain", "Weight gain"
        ANXIETY = "anxiety", "Anxiety or agitation"
        PALPITATIONS = "palpitations", "Palpitations"
        CONFUSION = "confusion", "Confusion"
        OTHER = "other", "Other"

    uuid = models.UUIDField(default=uuid4, unique=True, editable=False)
    followup = models.OneToOneField(FollowUp, on_delete=models.PROTECT, related_name="visit")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="visits")
    new_plan = models.ForeignKey(Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    visit_date = models.DateField()
    dose_mg = models.DecimalField(**MG, help_text="The dose being taken at the visit.")
    outcome_score = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    response_text = models.TextField(blank=True)
    side_effects = models.JSONField(default=list)
    side_effects_other = models.CharField(max_length=200, blank=True)
    adherence = models.CharField(max_length=10, choices=Adherence.choices)
    qtc_ms = models.PositiveSmallIntegerField(null=True, blank=True)
    # Findings measured or asked at the visit (reference A.3); empty when not recorded.
    ecg_date = models.DateField(null=True, blank=True)
    heart_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    bp_lying_systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    bp_lying_diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    bp_standing_systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    bp_standing_diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    sodium = models.PositiveSmallIntegerField(null=True, blank=True)
    potassium = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    magnesium = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    glucose_mmol = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    fall = models.BooleanField(default=False)
    confusion = models.BooleanField(default=False)
    urinary_retention = models.BooleanField(default=False)
    cardiac_symptoms = models.BooleanField(default=False)
    hyponatraemia_symptoms = models.BooleanField(default=False)
    serotonin_symptoms = models.BooleanField(default=False)
    self_harm_thoughts = models.BooleanField(null=True, help_text="Asked at every visit; empty on older records.")
    mood = models.CharField(max_length=10, choices=Mood.choices, blank=True)
    findings = models.JSONField(default=list, help_text="The finding cards of reference A.3, as recorded.")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-visit_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(qtc_ms__isnull=True) | Q(qtc_ms__gte=200, qtc_ms__lte=800), name="visit_qtc_range"
            ),
            models.CheckConstraint(
                condition=Q(sodium__isnull=True) | Q(sodium__gte=100, sodium__lte=200), name="visit_sodium_range"
            ),
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True) | Q(weight_kg__gte=20, weight_kg__lte=350),
                name="visit_weight_range",
            ),
            models.CheckConstraint(
                condition=Q(adherence__in=["all", "most", "some", "none"]), name="visit_adherence_choice"
            ),
            models.CheckConstraint(condition=Q(mood__in=["", "usual", "low", "high"]), name="visit_mood_choice"),
            models.CheckConstraint(
                condition=Q(decision__in=["continue", "step_up", "hold", "step_down", "stop", "stop_now"]),
                name="visit_decision_choice",
            ),
        ]

    def __str__(self):
        return f"Visit on {self.visit_date}: {self.get_decision_display()}"

    def get_absolute_url(self):
        """A visit has no page of its own: it is listed in the visit history of its plan's page."""
        return f"{self.plan.get_absolute_url()}#visit-history-heading"

    @property
    def side_effect_labels(self):
        labels = dict(self.SideEffect.choices)
        return [labels.get(key, key) for key in self.side_effects]


class Acknowledgement(models.Model):
    """A clinician's recorded reason for going ahead despite a warning card."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="acknowledgements")
    card_code = models.SlugField(max_length=60)
    card_key = models.CharField(
        max_length=80, blank=True, help_text="The card's stable identity (engine Card.key): which rule, about what."
    )
    card_summary = models.CharField(max_length=140)
    subjects = models.JSONField(
        default=list,
        blank=True,
        help_text="What the finding was about (medicines, conditions, values), as the card named them.",
    )
    reason = models.TextField()
    # For a card whose only accepted reason is specialist advice (high QT risk): who gave it and when.
    advice_by = models.CharField("Specialist advice from", max_length=200, blank=True)
    advice_on = models.DateField("Advice given on", null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan", "card_code"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "card_code"], name="ack_unique_card_per_plan"),
            models.CheckConstraint(
                condition=Q(advice_by="", advice_on__isnull=True) | (~Q(advice_by="") & Q(advice_on__isnull=False)),
                name="ack_advice_by_and_on_together",
            ),
        ]

    def __str__(self):
        return f"{self.card_code}: {self.reason[:40]}"

    @property
    def finding(self) -> str:
        """The finding this reason answers: the card's key (its rule and what it is about, docs/plan-request.md);
        for a reason recorded before keys were stored, the key of its code and subjects."""
        return self.card_key or card_key(self.card_code, self.subjects)
