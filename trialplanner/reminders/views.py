from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import user_has_device

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.plans import access as plan_access
from trialplanner.plans import worklist
from trialplanner.plans.models import FollowUp, Plan
from trialplanner.reminders import calendars, services
from trialplanner.reminders.models import CalendarFeed

ICS = "text/calendar; charset=utf-8"


@require_POST
def feed_create(request):
    services.feed_create(user=request.user)
    messages.success(request, "New calendar feed created. Any earlier feed address no longer works.")
    return redirect("accounts:account")


@require_POST
def feed_revoke(request):
    revoked = services.feed_revoke(user=request.user)
    messages.success(request, "Calendar feed revoked." if revoked else "There was no feed to revoke.")
    return redirect("accounts:account")


@login_not_required
@never_cache
def feed(request, token):
    """The secret-URL feed: calendar apps cannot log in, so the token is the credential."""
    live = CalendarFeed.objects.filter(token=token, revoked_at__isnull=True).select_related("user").first()
    if live is None or not live.user.is_active:
        raise Http404("No such calendar.")
    # The token stands in for a sign-in, so it is no stronger than one: where two-factor is
    # required, an owner without a device gets nothing (the feed works again once they enrol).
    if settings.REQUIRE_2FA and not user_has_device(live.user):
        raise Http404("No such calendar.")
    followups = worklist.feed_rows(live.user)
    audit_log(AuditEvent.Action.FEED, live, object_type="calendar_feed", user=live.user, detail="calendar feed read")
    return HttpResponse(calendars.clinician_feed(live.user, followups), content_type=ICS)


@never_cache
def plan_ics(request, plan_uuid):
    plan = plan_access.get_plan_for_user(request.user, plan_uuid)
    if plan.status != Plan.Status.ACTIVE:
        # Like the handout: a patient's calendar follows the plan being taken, never a draft or an ended one.
        messages.error(request, "Calendar files are made from the active version of a plan.")
        return redirect(plan)
    body = calendars.plan_calendar(
        plan,
        plan.steps.all(),
        plan.followups.exclude(status=FollowUp.Status.CANCELLED),
        dict(FollowUp.Kind.choices),
    )
    audit_log(AuditEvent.Action.PRINT, plan, detail="plan calendar file")
    response = HttpResponse(body, content_type=ICS)
    response["Content-Disposition"] = f'attachment; filename="amitriptyline-plan-v{plan.version}.ics"'
    return response
