from django.urls import path

from trialplanner.patients import views

app_name = "patients"

urlpatterns = [
    path("patients/", views.patient_list, name="patient_list"),
    path("patients/new/", views.patient_create, name="patient_create"),
    path("patients/<uuid:patient_uuid>/", views.patient_detail, name="patient_detail"),
    path("patients/<uuid:patient_uuid>/edit/", views.patient_edit, name="patient_edit"),
    path("patients/<uuid:patient_uuid>/risk/edit/", views.risk_profile_edit, name="risk_profile_edit"),
    path("patients/<uuid:patient_uuid>/risk/v<int:version>/", views.risk_profile_detail, name="risk_profile_detail"),
    path("clinics/<uuid:clinic_uuid>/", views.clinic_detail, name="clinic_detail"),
]
