from django.conf import settings
from django.utils import timezone


def site(request):
    # Pages show `product_name`: Django's auth views (login, password reset) put their own `site_name`
    # in the context, the request's host name, which would then read as the brand.
    return {"product_name": settings.SITE_NAME, "site_name": settings.SITE_NAME}


def worklist_counts(request):
    """Navigation data for signed-in users: overdue and due-today counts, and their clinics."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from trialplanner.patients.access import memberships_for
    from trialplanner.patients.models import Membership
    from trialplanner.plans import worklist

    counts = worklist.counts(user, timezone.now())
    memberships = memberships_for(user)
    section = next((name for name, prefix in NAV_SECTIONS if request.path.startswith(prefix)), "")
    return {
        "worklist_counts": counts,
        "nav_memberships": memberships,
        # The audit trail is a lead's tool; others are not shown the link (the page answers them 404).
        "nav_leads_a_clinic": any(m.role == Membership.Role.LEAD for m in memberships),
        "nav_section": section,
    }


NAV_SECTIONS = [
    ("worklist", "/worklist/"),
    ("patients", "/patients/"),
    ("library", "/library/"),
    ("outcomes", "/outcomes/"),
    ("audit", "/audit/"),
]
