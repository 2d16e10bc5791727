from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "trialplanner.patients"
    verbose_name = "Clinics and patients"
