import base64

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

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
    ctx = {
        "feed": feed,
        "feed_url": feed_url,
        "memberships": memberships,
        "two_factor": TOTPDevice.objects.filter(user=request.user, confirmed=True).exists(),
    }
    return render(request, "reminders/account.html", ctx)


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
    followups = worklist.feed_rows(live.user)
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


# --- two-factor sign-in (TOTP) ------------------------------------------------------------------


class TokenForm(forms.Form):
    token = forms.RegexField(
        regex=r"^\d{6}$", label="6-digit code from your authenticator app",
        error_messages={"invalid": "Enter the 6 digits shown in your authenticator app."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )  # fmt: skip


def _qr_data_uri(text):
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()


def two_factor_setup(request):
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name="Authenticator app", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save()
            TOTPDevice.objects.filter(user=request.user).exclude(pk=device.pk).delete()
            otp_login(request, device)
            messages.success(request, "Two-factor sign-in is on. You will be asked for a code after each log-in.")
            return redirect("reminders:account")
        form.add_error("token", "That code did not match. Check the time on your phone and try again.")
    ctx = {
        "form": form,
        "qr": _qr_data_uri(device.config_url),
        "secret": base64.b32encode(device.bin_key).decode(),
        "required": settings.REQUIRE_2FA,
    }
    return render(request, "reminders/two_factor_setup.html", ctx)


def two_factor_verify(request):
    form = TokenForm(request.POST or None)
    next_url = request.GET.get("next") or request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    if request.method == "POST" and form.is_valid():
        for device in devices_for_user(request.user, confirmed=True):
            if device.verify_token(form.cleaned_data["token"]):
                otp_login(request, device)
                return redirect(next_url)
        form.add_error("token", "That code did not match. Try the newest code in your app.")
    return render(request, "reminders/two_factor_verify.html", {"form": form, "next": next_url})
