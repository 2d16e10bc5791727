from django.urls import path

from trialplanner.interop import cds_views, views

app_name = "interop"

urlpatterns = [
    path("plans/<uuid:plan_uuid>/fhir", views.plan_fhir, name="plan_fhir"),
    path("patients/import/", views.patient_import, name="patient_import"),
    path("cds-services", cds_views.discovery, name="cds_discovery"),
    path("cds-services/<slug:service_id>", cds_views.service, name="cds_service"),
    path("cds-services/<slug:service_id>/feedback", cds_views.feedback, name="cds_feedback"),
    path("clinics/<uuid:clinic_uuid>/cds-clients/", cds_views.cds_clients, name="cds_clients"),
    path(
        "clinics/<uuid:clinic_uuid>/cds-clients/<uuid:client_uuid>/deactivate/",
        cds_views.cds_client_deactivate,
        name="cds_client_deactivate",
    ),
]
