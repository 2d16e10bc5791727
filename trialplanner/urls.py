from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import include, path


def home(request):
    # The follow-up worklist becomes the home page once it exists; until then, the library.
    return redirect("catalog:indication_list")


urlpatterns = [
    path("", home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("library/", include("trialplanner.catalog.urls")),
    path("", include("trialplanner.patients.urls")),
    path("", include("trialplanner.plans.urls")),
    path("admin/", admin.site.urls),
]
