import uuid
import zoneinfo
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


def time_zone_choices():
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class Clinic(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    phone = models.CharField(max_length=40, help_text="Shown to patients on handouts.")
    address = models.TextField(blank=True)
    time_zone = models.CharField(max_length=64, choices=time_zone_choices, default="Europe/London")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

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
        constraints = [models.UniqueConstraint(fields=["user", "clinic"], name="membership_unique_user_clinic")]

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
        ]
        indexes = [models.Index(fields=["clinic", "display_name"], name="patient_clinic_name_idx")]

    def __str__(self):
        return self.display_name

    def get_absolute_url(self):
        return reverse("patients:patient_detail", args=[self.uuid])

    def age_on(self, day: date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
