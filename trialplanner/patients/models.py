import uuid
import zoneinfo
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse


def time_zone_choices():
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class Clinic(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    phone = models.CharField(max_length=40, help_text="Shown to patients on handouts.")
    address = models.TextField(blank=True)
    time_zone = models.CharField(max_length=64, choices=time_zone_choices, default="Europe/London")
    dispensing_interval_days = models.PositiveSmallIntegerField(
        "Dispensing interval (days)",
        choices=[(28, "28 days"), (30, "30 days")],
        default=28,
        help_text="How many nights one prescription covers; plans show quantities per interval.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dispensing_interval_days__in=[28, 30]), name="clinic_dispensing_interval_days_choice"
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("patients:clinic_detail", args=[self.uuid])


class Membership(models.Model):
    class Role(models.TextChoices):
        CLINICIAN = "clinician", "Clinician"
        LEAD = "lead", "Clinical lead"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CLINICIAN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["clinic__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "clinic"], name="membership_unique_user_clinic"),
            models.CheckConstraint(condition=Q(role__in=["clinician", "lead"]), name="membership_role_choice"),
        ]

    def __str__(self):
        return f"{self.user} at {self.clinic} ({self.get_role_display()})"


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"

    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        SPANISH = "es", "Spanish"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    display_name = models.CharField(max_length=120, help_text="Name as the clinic uses it, or initials.")
    mrn = models.CharField("MRN", max_length=40, blank=True, help_text="Medical record number, if the clinic uses one.")
    phone = models.CharField(
        "Contact phone", max_length=40, blank=True, help_text="Optional: the number to call about follow-ups."
    )
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices, help_text="Sex used for QTc thresholds.")
    preferred_language = models.CharField(
        max_length=5, choices=Language.choices, default=Language.ENGLISH, help_text="Language of printed handouts."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "mrn"], condition=~Q(mrn=""), name="patient_unique_mrn_per_clinic"
            ),
            models.CheckConstraint(condition=Q(sex__in=["female", "male"]), name="patient_sex_choice"),
            models.CheckConstraint(
                condition=Q(preferred_language__in=["en", "es"]), name="patient_preferred_language_choice"
            ),
        ]
        indexes = [models.Index(fields=["clinic", "display_name"], name="patient_clinic_name_idx")]

    def __str__(self):
        return self.display_name

    def get_absolute_url(self):
        return reverse("patients:patient_detail", args=[self.uuid])

    def age_on(self, day: date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class RiskProfile(models.Model):
    """One version of a patient's risk factors. Saving makes a new version; old ones stay."""

    class Alcohol(models.TextChoices):
        NONE = "none", "None or occasional"
        MODERATE = "moderate", "Moderate"
        HEAVY = "heavy", "Heavy"

    class Phenotype(models.TextChoices):
        UNKNOWN = "", "Not known"
        ULTRARAPID = "ultrarapid", "Ultrarapid metaboliser"
        RAPID = "rapid", "Rapid metaboliser"
        NORMAL = "normal", "Normal metaboliser"
        INTERMEDIATE = "intermediate", "Intermediate metaboliser"
        POOR = "poor", "Poor metaboliser"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="risk_profiles")
    version = models.PositiveIntegerField()
    conditions = models.ManyToManyField("catalog.Condition", blank=True, related_name="+")
    frail = models.BooleanField(default=False)
    falls = models.BooleanField("Falls in the last year", default=False)
    pregnant = models.BooleanField(default=False)
    breastfeeding = models.BooleanField(default=False)
    alcohol = models.CharField(max_length=10, choices=Alcohol.choices, default=Alcohol.NONE)
    self_harm_last_12_months = models.BooleanField(
        "Self-harm or suicidal thoughts in the last 12 months", default=False
    )
    cyp2d6 = models.CharField("CYP2D6 phenotype", max_length=15, choices=Phenotype.choices, blank=True)
    cyp2c19 = models.CharField("CYP2C19 phenotype", max_length=15, choices=Phenotype.choices, blank=True)
    qtc_ms = models.PositiveSmallIntegerField("Latest QTc (ms)", null=True, blank=True)
    ecg_date = models.DateField("ECG date", null=True, blank=True)
    heart_rate = models.PositiveSmallIntegerField("Heart rate (beats/min)", null=True, blank=True)
    bp_lying_systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    bp_lying_diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    bp_standing_systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    bp_standing_diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    potassium = models.DecimalField("Potassium (mmol/L)", max_digits=4, decimal_places=1, null=True, blank=True)
    magnesium = models.DecimalField("Magnesium (mmol/L)", max_digits=4, decimal_places=2, null=True, blank=True)
    sodium = models.PositiveSmallIntegerField("Sodium (mmol/L)", null=True, blank=True)
    bloods_date = models.DateField(
        "Blood test date", null=True, blank=True, help_text="When potassium, magnesium and sodium were measured."
    )
    bp_date = models.DateField("Blood pressure date", null=True, blank=True)
    weight_kg = models.DecimalField("Weight (kg)", max_digits=5, decimal_places=1, null=True, blank=True)
    medicines_none = models.BooleanField(
        "Medicines reviewed: none",
        default=False,
        help_text="The patient was asked and takes no medicines (unticked with no medicines: not asked).",
    )
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["patient", "-version"]
        get_latest_by = "version"
        constraints = [
            models.UniqueConstraint(fields=["patient", "version"], name="riskprofile_unique_version"),
            models.CheckConstraint(
                condition=Q(qtc_ms__isnull=True) | Q(qtc_ms__gte=200, qtc_ms__lte=800), name="riskprofile_qtc_range"
            ),
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True) | Q(weight_kg__gte=20, weight_kg__lte=350),
                name="riskprofile_weight_range",
            ),
            # CPIC defines no "rapid" CYP2D6 metaboliser (reference 7.2); CYP2C19 has one.
            models.CheckConstraint(condition=~Q(cyp2d6="rapid"), name="riskprofile_cyp2d6_phenotype"),
            models.CheckConstraint(
                condition=Q(alcohol__in=["none", "moderate", "heavy"]), name="riskprofile_alcohol_choice"
            ),
            models.CheckConstraint(
                condition=Q(cyp2d6__in=["", "ultrarapid", "rapid", "normal", "intermediate", "poor"]),
                name="riskprofile_cyp2d6_choice",
            ),
            models.CheckConstraint(
                condition=Q(cyp2c19__in=["", "ultrarapid", "rapid", "normal", "intermediate", "poor"]),
                name="riskprofile_cyp2c19_choice",
            ),
        ]

    def __str__(self):
        return f"Risk profile v{self.version} of {self.patient}"

    def get_absolute_url(self):
        return reverse("patients:risk_profile_detail", args=[self.patient.uuid, self.version])


class MedicationEntry(models.Model):
    """A current or recently stopped medicine on one risk-profile version."""

    profile = models.ForeignKey(RiskProfile, on_delete=models.CASCADE, related_name="medications")
    name = models.CharField(max_length=120, help_text="As written; matched against the catalog's interacting drugs.")
    drug = models.ForeignKey(
        "catalog.InteractingDrug", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    confirmed_as = models.CharField(
        max_length=100,
        blank=True,
        help_text="A catalog medicine the clinician confirmed for a name the catalog did not recognise.",
    )
    this_course = models.BooleanField(
        default=False, help_text="Amitriptyline on the list that is the course being planned (not a second course)."
    )
    started_on = models.DateField(null=True, blank=True)
    stopped_on = models.DateField(null=True, blank=True, help_text="Last dose, for recently stopped medicines.")
    daily_mg = models.DecimalField(
        "daily dose (mg)",
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The clinician's correction of the daily dose read from the line (mg of its first ingredient).",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(daily_mg__isnull=True) | Q(daily_mg__gt=0), name="medication_daily_mg_positive"
            ),
            models.CheckConstraint(
                condition=Q(started_on__isnull=True) | Q(stopped_on__isnull=True) | Q(stopped_on__gte=F("started_on")),
                name="medication_stop_after_start",
            ),
        ]

    def __str__(self):
        return self.name
