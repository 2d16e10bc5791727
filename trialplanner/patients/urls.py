from django.urls import path

from trialplanner.patients import views

app_name = "patients"

urlpatterns = [
    path("patients/", views.patient_list, name="patient_list"),
    path("patients/<uuid:patient_uuid>/", views.patient_detail, name="patient_detail"),
    path("clinics/<uuid:clinic_uuid>/", views.clinic_detail, name="clinic_detail"),
]
