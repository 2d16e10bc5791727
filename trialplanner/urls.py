from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import include, path
from django.views.decorators.http import require_GET

from trialplanner.accounts import views as account_views


def home(request):
    return redirect("plans:worklist")


@login_not_required
@require_GET
def healthz(request):
    """Liveness for load balancers and the benchmark's floor: the full middleware, no database."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("login/", account_views.LoginView.as_view(), name="login"),
    path("logout/", account_views.LogoutView.as_view(), name="logout"),
    path("", include("trialplanner.accounts.urls")),
    path("library/", include("trialplanner.catalog.urls")),
    path("", include("trialplanner.patients.urls")),
    path("", include("trialplanner.plans.urls")),
    path("", include("trialplanner.reminders.urls")),
    path("", include("trialplanner.handouts.urls")),
    path("", include("trialplanner.audit.urls")),
    path("", include("trialplanner.outcomes.urls")),
    path("", include("trialplanner.interop.urls")),
    path("admin/login/", account_views.admin_login),
    path("admin/", admin.site.urls),
]
