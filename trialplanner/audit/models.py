"""Append-only audit events: who saw or changed which patient record, when, from where."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class AppendOnlyError(Exception):
    """Audit events are never changed or deleted by the application."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        CREATE = "create", "Created"
        UPDATE = "update", "Changed"
        PRINT = "print", "Printed or downloaded"
        FEED = "feed", "Calendar feed read"
        SECURITY = "security", "Account security"

    at = models.DateTimeField(default=timezone.now, db_index=True, help_text="UTC.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    clinic = models.ForeignKey("patients.Clinic", on_delete=models.PROTECT, null=True, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, null=True, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=200, blank=True, help_text="What happened, without patient details.")
    changes = models.JSONField(
        null=True, blank=True, help_text="Reference-data changes: {field: [before, after]}. Never patient data."
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["clinic", "-at"], name="audit_clinic_at_idx"),
            models.Index(fields=["patient", "-at"], name="audit_patient_at_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=["view", "create", "update", "print", "feed", "security"]),
                name="auditevent_action_choice",
            ),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.user_id} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Audit events cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted.")
