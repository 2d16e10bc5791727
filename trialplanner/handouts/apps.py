from django.apps import AppConfig


class HandoutsConfig(AppConfig):
    name = "trialplanner.handouts"
    verbose_name = "Patient handouts"
