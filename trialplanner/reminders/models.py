import secrets

from django.conf import settings
from django.db import models


class ReminderSent(models.Model):
    """The sent ledger: one digest per clinician per day, whatever runs the sweep."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    followup_count = models.PositiveIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="reminder_once_per_user_per_day")]

    def __str__(self):
        return f"Digest to {self.user} on {self.day}"


def new_token():
    return secrets.token_urlsafe(32)


class CalendarFeed(models.Model):
    """A private iCalendar feed of a clinician's follow-ups, reached by a secret token URL."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds")
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(revoked_at__isnull=True), name="one_live_calendar_feed_per_user"
            )
        ]

    def __str__(self):
        return f"Calendar feed of {self.user}"
