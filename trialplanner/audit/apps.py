from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "trialplanner.audit"
    verbose_name = "Audit trail"
