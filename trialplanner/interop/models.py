"""CDS Hooks clients a clinic lead registered, the JWT ids they used, the cards served and the feedback."""

from uuid import uuid4

from django.conf import settings
from django.db import models
from django.db.models import Q


class CdsClient(models.Model):
    """An EHR allowed to call the CDS Hooks service for one clinic, with its public keys (JWKS)."""

    uuid = models.UUIDField(default=uuid4, unique=True, editable=False)
    clinic = models.ForeignKey("patients.Clinic", on_delete=models.PROTECT, related_name="cds_clients")
    name = models.CharField(max_length=120)
    issuer = models.CharField(max_length=300, unique=True, help_text="The JWT `iss` the EHR sends.")
    jwks = models.JSONField(help_text="The EHR's public keys as a JSON Web Key Set, pasted (never fetched).")
    patient_identifier_system = models.CharField(
        max_length=300, help_text="Identifier system whose values are this clinic's MRNs, e.g. the EHR's MRN URI."
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["clinic", "name"]

    def __str__(self):
        return f"{self.name} ({self.issuer})"


class CdsJwtUse(models.Model):
    """A `jti` already accepted from a client: a second use is a replay."""

    client = models.ForeignKey(CdsClient, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=200)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "jti"], name="cds_jti_unique_per_client")]
        indexes = [models.Index(fields=["expires_at"], name="cds_jti_expiry_idx")]

    def __str__(self):
        return self.jti


class CdsCard(models.Model):
    """A card served to a client, so feedback can name the finding it was about."""

    uuid = models.UUIDField(unique=True)
    client = models.ForeignKey(CdsClient, on_delete=models.PROTECT, related_name="cards")
    service = models.CharField(max_length=60)
    hook_instance = models.CharField(max_length=100)
    code = models.CharField(max_length=60, help_text="The engine card code, or a service's own card kind.")
    indicator = models.CharField(max_length=10)
    summary = models.CharField(max_length=140)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.code}: {self.summary}"


class CdsFeedback(models.Model):
    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        OVERRIDDEN = "overridden", "Overridden"

    client = models.ForeignKey(CdsClient, on_delete=models.PROTECT, related_name="feedback")
    service = models.CharField(max_length=60)
    card_uuid = models.UUIDField()
    card = models.ForeignKey(CdsCard, on_delete=models.PROTECT, null=True, blank=True, related_name="feedback")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    accepted_suggestions = models.JSONField(default=list, blank=True)
    override_code = models.CharField(max_length=100, blank=True)
    override_display = models.CharField(max_length=300, blank=True)
    user_comment = models.TextField(blank=True)
    outcome_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-outcome_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="overridden") | (Q(override_code="") & Q(user_comment="")),
                name="cds_feedback_override_only_when_overridden",
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=["accepted", "overridden"]), name="cdsfeedback_outcome_choice"
            ),
        ]

    def __str__(self):
        return f"{self.get_outcome_display()} {self.card_uuid}"
