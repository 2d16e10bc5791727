"""Security notices to a user's own address: a change they did not make is a change they should hear of."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string


def security_notice(user, *, what: str, by=None, clinic=None) -> bool:
    """Email `user` that `what` happened to their account (plain text, no patient data)."""
    if not user.email:
        return False
    ctx = {"user": user, "what": what, "by": by, "clinic": clinic, "site_name": settings.SITE_NAME,
           "site_url": settings.SITE_URL}  # fmt: skip
    subject = render_to_string("accounts/email/security_notice_subject.txt", ctx).strip()
    body = render_to_string("accounts/email/security_notice.txt", ctx)
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email], fail_silently=True) == 1
