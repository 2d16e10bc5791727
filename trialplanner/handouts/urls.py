from django.urls import path

from trialplanner.handouts import views

app_name = "handouts"

urlpatterns = [
    path("plans/<uuid:plan_uuid>/handout/", views.handout, name="handout"),
    path("plans/<uuid:plan_uuid>/handout.pdf", views.handout_pdf, name="handout_pdf"),
]
