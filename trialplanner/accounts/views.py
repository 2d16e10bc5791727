"""The account page and two-factor sign-in: enrol, verify, recovery codes, removal."""

import base64

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from trialplanner.accounts import notify, services
from trialplanner.accounts.forms import (
    AuditedPasswordResetForm,
    EnrolForm,
    MemberResetForm,
    PasswordOnlyForm,
    VerifyForm,
)
from trialplanner.accounts.models import RecoveryCodeSet
from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.patients import access as patient_access
from trialplanner.reminders.models import CalendarFeed

PENDING_KEY = "tp_2fa_pending_key"  # the secret being enrolled lives here until it is confirmed
CODES_ONCE = "tp_recovery_codes_once"  # plain recovery codes, popped when shown
RECOVERY_USED = (
    "You signed in with a recovery code; each code works once. "
    "If you lost your phone, set up the authenticator again on the Account page."
)


class LoginView(auth_views.LoginView):
    """Django's log-in page, with each successful password log-in audited (failures: signals.py)."""

    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_log(
            AuditEvent.Action.SECURITY,
            form.get_user(),
            object_type="login",
            user=form.get_user(),
            detail="logged in with password",
        )
        return response


@login_not_required
def admin_login(request):
    """The admin's own log-in page would skip the audit: send it to the one log-in page."""
    query = request.GET.urlencode()
    return redirect(reverse("login") + (f"?{query}" if query else ""))


def _verify_url():
    return reverse("accounts:two_factor_verify")


def _qr_data_uri(text):
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()


def _needs_current_device(request):
    """A user who has a device must have verified it in this session before changing security settings."""
    return user_has_device(request.user) and not request.user.is_verified()


def account(request):
    feed = CalendarFeed.objects.filter(user=request.user, revoked_at__isnull=True).first()
    recovery = RecoveryCodeSet.objects.filter(user=request.user).first()
    ctx = {
        "feed": feed,
        "feed_url": request.build_absolute_uri(f"/calendar/{feed.token}.ics") if feed else None,
        "memberships": request.user.memberships.select_related("clinic"),
        "two_factor": TOTPDevice.objects.filter(user=request.user, confirmed=True).exists(),
        "recovery_left": recovery.remaining() if recovery else 0,
        "required": settings.REQUIRE_2FA,
        "remove_form": PasswordOnlyForm(request=request, prefix="remove"),
        "codes_form": PasswordOnlyForm(request=request, prefix="codes"),
    }
    return render(request, "accounts/account.html", ctx)


def two_factor_setup(request):
    """Enrol a first authenticator, or replace the current one from a session verified with it.

    The new secret stays in the session until a code from it and the password confirm it, so
    looking at this page changes nothing.
    """
    if _needs_current_device(request):
        return redirect(f"{_verify_url()}?next={request.path}")
    key_hex = request.session.get(PENDING_KEY)
    if not key_hex:
        key_hex = request.session[PENDING_KEY] = random_hex(20)
    form = EnrolForm(request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        last_t = services.pending_totp_matches(key_hex=key_hex, token=form.cleaned_data["token"])
        if last_t is not None:
            replacing = user_has_device(request.user)
            device, codes = services.two_factor_enrol(user=request.user, key_hex=key_hex, last_t=last_t)
            notify.security_notice(
                request.user,
                what="two-factor sign-in moved to a new app" if replacing else "two-factor sign-in turned on",
            )
            del request.session[PENDING_KEY]
            request.session.cycle_key()
            otp_login(request, device)
            request.session[CODES_ONCE] = codes
            messages.success(request, "Two-factor sign-in is on. You will be asked for a code after each log-in.")
            return redirect("accounts:recovery_codes")
        form.add_error("token", "That code did not match. Check the time on your phone and try again.")
    pending = TOTPDevice(user=request.user, name=services.DEVICE_NAME, key=key_hex)
    ctx = {
        "form": form,
        "qr": _qr_data_uri(pending.config_url),
        "secret": base64.b32encode(pending.bin_key).decode(),
        "required": settings.REQUIRE_2FA,
        "replacing": user_has_device(request.user),
    }
    return render(request, "accounts/two_factor_setup.html", ctx)


def two_factor_verify(request):
    if request.user.is_verified():
        return redirect("home")
    form = VerifyForm(request.POST or None)
    next_url = request.GET.get("next") or request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"]
        if form.kind == "recovery":
            device = services.recovery_code_use(user=request.user, code=token)
        else:
            device = next(
                (d for d in TOTPDevice.objects.filter(user=request.user, confirmed=True) if d.verify_token(token)), None
            )
        if device is not None:
            request.session.cycle_key()
            otp_login(request, device)
            if form.kind == "recovery":
                messages.warning(request, RECOVERY_USED)
                notify.security_notice(request.user, what="a recovery code was used to sign in")
            return redirect(next_url)
        # A right password with wrong codes is how a stolen password shows itself.
        audit_log(
            AuditEvent.Action.SECURITY,
            request.user,
            object_type="two_factor",
            user=request.user,
            detail="wrong recovery code" if form.kind == "recovery" else "wrong two-factor code",
        )
        form.add_error("token", "That code did not match. Try the newest code in your app.")
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": next_url})


def recovery_codes(request):
    """Show freshly issued recovery codes once; afterwards only their count is ever shown."""
    codes = request.session.pop(CODES_ONCE, None)
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


@require_POST
def recovery_codes_regenerate(request):
    if _needs_current_device(request) or not user_has_device(request.user):
        return redirect("accounts:account")
    form = PasswordOnlyForm(request.POST, request=request, prefix="codes")
    if not form.is_valid():
        messages.error(request, "Recovery codes not replaced: " + " ".join(form.errors["password"]))
        return redirect("accounts:account")
    request.session[CODES_ONCE] = services.recovery_codes_regenerate(user=request.user)
    return redirect("accounts:recovery_codes")


@require_POST
def two_factor_remove(request):
    if _needs_current_device(request):
        return redirect(f"{_verify_url()}?next={request.path}")
    form = PasswordOnlyForm(request.POST, request=request, prefix="remove")
    if not form.is_valid():
        messages.error(request, "Two-factor sign-in not turned off: " + " ".join(form.errors["password"]))
        return redirect("accounts:account")
    services.two_factor_remove(user=request.user, actor=request.user)
    notify.security_notice(request.user, what="two-factor sign-in turned off")
    required = " This installation requires it: set it up again to continue." if settings.REQUIRE_2FA else ""
    messages.success(request, "Two-factor sign-in is off." + required)
    return redirect("accounts:account")


class LogoutView(auth_views.LogoutView):
    """Log out, and say so on the page that follows (the login page)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.success(request, "You have signed out.")
        return response


def member_two_factor_reset(request, clinic_uuid):
    """A clinic lead resets the authenticator of a member who lost it (members of this clinic only)."""
    clinic = patient_access.get_clinic_for_user(request.user, clinic_uuid)
    if not patient_access.is_clinic_lead(request.user, clinic):
        raise Http404("Only the clinic's lead can do this.")
    members = [m.user for m in clinic.memberships.select_related("user").order_by("user__username")]
    eligible = [u for u in members if services.lead_may_reset(member=u, lead=request.user, clinic=clinic)]
    form = MemberResetForm(request.POST or None, request=request, members=eligible)
    if request.method == "POST" and form.is_valid():
        member = form.cleaned_data["member"]
        services.two_factor_reset_by_lead(member=member, lead=request.user, clinic=clinic)
        notify.security_notice(member, what="two-factor sign-in was reset", by=request.user, clinic=clinic)
        messages.success(
            request,
            f"Two-factor sign-in of {member.get_full_name() or member.get_username()} was "
            "reset; they set it up again at their next log-in. They have been e-mailed.",
        )
        return redirect(clinic)
    ctx = {"clinic": clinic, "form": form, "members": members, "eligible": eligible}
    return render(request, "accounts/member_two_factor_reset.html", ctx)


# --- passwords -------------------------------------------------------------------------------------


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:account")

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_log(
            AuditEvent.Action.SECURITY,
            self.request.user,
            object_type="password",
            user=self.request.user,
            detail="password changed",
        )
        notify.security_notice(self.request.user, what="your password was changed")
        messages.success(self.request, "Password changed. Your other sessions have been signed out.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """The same page whatever address is entered, so it cannot tell who has an account."""

    form_class = AuditedPasswordResetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """A new password from the e-mailed link. It never signs in, so two-factor still applies."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
    post_reset_login = False

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_log(
            AuditEvent.Action.SECURITY,
            self.user,
            object_type="password",
            user=self.user,
            detail="password reset by e-mail link",
        )
        notify.security_notice(self.user, what="your password was reset")
        return response
