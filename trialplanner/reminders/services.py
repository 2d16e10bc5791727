"""Calendar feed writes: each one transaction with its audit event."""

from django.db import transaction
from django.utils import timezone

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.reminders.models import CalendarFeed


def _revoke_live(user) -> int:
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


@transaction.atomic
def feed_create(*, user) -> CalendarFeed:
    """Give the user a new secret feed address; any earlier one stops working."""
    replaced = _revoke_live(user)
    feed = CalendarFeed.objects.create(user=user)
    audit_log(
        AuditEvent.Action.SECURITY,
        feed,
        object_type="calendar_feed",
        user=user,
        detail="calendar feed replaced" if replaced else "calendar feed created",
    )
    return feed


@transaction.atomic
def feed_revoke(*, user, actor=None, detail="calendar feed revoked") -> int:
    """Stop the user's live feed address; the number of feeds revoked (0 or 1)."""
    revoked = _revoke_live(user)
    if revoked:
        audit_log(AuditEvent.Action.SECURITY, None, object_type="calendar_feed", user=actor or user, detail=detail)
    return revoked
