"""Session limits, two-factor enforcement and no-store caching for signed-in pages."""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode


def axes_username(request, credentials):
    """The username axes records: at most 150 characters, no NUL bytes (hostile input must not 500)."""
    raw = (credentials or {}).get("username") or request.POST.get("username") or ""
    return str(raw).replace("\x00", "")[:150]


SESSION_STARTED = "tp_started_at"
SESSION_SEEN = "tp_last_seen_at"
# The last-seen stamp is rewritten at most once a minute, not on every request, so a page view
# costs no session write; the idle limit then errs early (by under a minute), never late.
SESSION_TOUCH_SECONDS = 60


class SessionLimitsMiddleware:
    """Log out after SESSION_IDLE_SECONDS without a request, and after SESSION_MAX_SECONDS in all."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            started = request.session.setdefault(SESSION_STARTED, now)
            seen = request.session.get(SESSION_SEEN, now)
            if now - seen > settings.SESSION_IDLE_SECONDS or now - started > settings.SESSION_MAX_SECONDS:
                logout(request)
                return redirect(f"{reverse('login')}?next={request.path}&expired=1")
            if SESSION_SEEN not in request.session or now - seen >= SESSION_TOUCH_SECONDS:
                request.session[SESSION_SEEN] = now
        return self.get_response(request)


class NoStoreMiddleware:
    """Patient data must not linger in browser or proxy caches: no-store on every dynamic response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/" + settings.STATIC_URL.strip("/") + "/"):
            response["Cache-Control"] = "no-store, private"
        return response


class TwoFactorMiddleware:
    """Users with a device must verify it after logging in; with REQUIRE_2FA everyone must have one.

    Until then a user with a device reaches only the verify page, and a user without one only
    the enrolment page (which itself asks for the password again): nothing else, and never the
    enrolment page while a device exists but is not verified (that was a way round the device).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not user.is_verified():
            path = request.path
            if path != reverse("logout") and not path.startswith("/" + settings.STATIC_URL.strip("/") + "/"):
                from django_otp import user_has_device

                verify = reverse("accounts:two_factor_verify")
                if user_has_device(user):
                    if path != verify:
                        return redirect(f"{verify}?{urlencode({'next': path})}")
                elif settings.REQUIRE_2FA and path != reverse("accounts:two_factor_setup"):
                    return redirect(reverse("accounts:two_factor_setup"))
        return self.get_response(request)
