from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "trialplanner.plans"
    verbose_name = "Titration plans"
