from django.conf import settings
from django.utils import timezone


def site(request):
    return {"site_name": settings.SITE_NAME}


def worklist_counts(request):
    """Overdue and due-today counts for the navigation (one query), only for signed-in users."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from trialplanner.plans import worklist

    return {"worklist_counts": worklist.counts(user, timezone.now())}
