from django.urls import path

from trialplanner.audit import views

app_name = "audit"

urlpatterns = [
    path("audit/", views.audit_list, name="audit_list"),
    path("audit/export.csv", views.audit_csv, name="audit_csv"),
]
