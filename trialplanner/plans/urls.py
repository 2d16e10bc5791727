from django.urls import path

from trialplanner.plans import views

app_name = "plans"

urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("followups/<uuid:followup_uuid>/visit/", views.followup_visit, name="followup_visit"),
    path("followups/<uuid:followup_uuid>/book/", views.followup_book, name="followup_book"),
    path("followups/<uuid:followup_uuid>/snooze/", views.followup_snooze, name="followup_snooze"),
    path("followups/<uuid:followup_uuid>/missed/", views.followup_missed, name="followup_missed"),
    path("patients/<uuid:patient_uuid>/plans/new/", views.plan_new, name="plan_new"),
    path("plans/<uuid:plan_uuid>/", views.plan_detail, name="plan_detail"),
    path("plans/<uuid:plan_uuid>/activate/", views.plan_activate, name="plan_activate"),
    path("plans/<uuid:plan_uuid>/revise/", views.plan_revise, name="plan_revise"),
    path("plans/<uuid:plan_uuid>/stop/", views.plan_stop, name="plan_stop"),
    path("plans/<uuid:plan_uuid>/entered-in-error/", views.plan_mark_error, name="plan_mark_error"),
]
