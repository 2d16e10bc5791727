from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "trialplanner.outcomes"
    verbose_name = "Outcomes"
