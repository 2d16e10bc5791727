from django.apps import AppConfig


class InteropConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "trialplanner.interop"
    verbose_name = "Interoperability (FHIR, CDS Hooks)"
