from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "trialplanner.ops"
    verbose_name = "Operations"
