from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import include, path


def home(request):
    return redirect("plans:worklist")


urlpatterns = [
    path("", home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("library/", include("trialplanner.catalog.urls")),
    path("", include("trialplanner.patients.urls")),
    path("", include("trialplanner.plans.urls")),
    path("", include("trialplanner.reminders.urls")),
    path("", include("trialplanner.handouts.urls")),
    path("", include("trialplanner.audit.urls")),
    path("admin/", admin.site.urls),
]
