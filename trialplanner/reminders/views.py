from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.plans import access as plan_access
from trialplanner.plans import worklist
from trialplanner.plans.models import FollowUp
from trialplanner.reminders import calendars
from trialplanner.reminders.models import CalendarFeed

ICS = "text/calendar; charset=utf-8"


def account(request):
    feed = CalendarFeed.objects.filter(user=request.user, revoked_at__isnull=True).first()
    feed_url = request.build_absolute_uri(f"/calendar/{feed.token}.ics") if feed else None
    memberships = request.user.memberships.select_related("clinic")
    return render(request, "reminders/account.html", {"feed": feed, "feed_url": feed_url, "memberships": memberships})


@require_POST
def feed_create(request):
    CalendarFeed.objects.filter(user=request.user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    CalendarFeed.objects.create(user=request.user)
    messages.success(request, "New calendar feed created. Any earlier feed address no longer works.")
    return redirect("reminders:account")


@require_POST
def feed_revoke(request):
    revoked = CalendarFeed.objects.filter(user=request.user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    messages.success(request, "Calendar feed revoked." if revoked else "There was no feed to revoke.")
    return redirect("reminders:account")


@login_not_required
@never_cache
def feed(request, token):
    """The secret-URL feed: calendar apps cannot log in, so the token is the credential."""
    live = CalendarFeed.objects.filter(token=token, revoked_at__isnull=True).select_related("user").first()
    if live is None or not live.user.is_active:
        raise Http404("No such calendar.")
    followups = (
        worklist.open_followups(live.user)
        .filter(plan__clinician=live.user)
        .select_related("plan__patient")
        .order_by("effective", "id")
    )
    audit_log(AuditEvent.Action.FEED, live, object_type="calendar_feed", user=live.user, detail="calendar feed read")
    return HttpResponse(calendars.clinician_feed(live.user, followups), content_type=ICS)


@never_cache
def plan_ics(request, plan_uuid):
    plan = plan_access.get_plan_for_user(request.user, plan_uuid)
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
