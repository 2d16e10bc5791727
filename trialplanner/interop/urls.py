from django.urls import path

from trialplanner.interop import views

app_name = "interop"

urlpatterns = [
    path("plans/<uuid:plan_uuid>/fhir", views.plan_fhir, name="plan_fhir"),
    path("patients/import/", views.patient_import, name="patient_import"),
]
