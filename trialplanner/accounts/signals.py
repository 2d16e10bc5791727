"""Failed log-ins are audited wherever a password is checked (log-in page, re-entry before a change)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log


@receiver(user_login_failed, dispatch_uid="accounts_audit_failed_login")
def audit_failed_login(sender, credentials, request=None, **kwargs):
    username = str((credentials or {}).get("username") or "").replace("\x00", "")[:150]
    user = get_user_model().objects.filter(username=username).first() if username else None
    # An unknown name is not stored: people type passwords into the user-name field.
    audit_log(
        AuditEvent.Action.SECURITY,
        user,
        object_type="login",
        user=user,
        detail="failed log-in" if user else "failed log-in for an unknown user name",
    )
