from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "trialplanner.catalog"
    verbose_name = "Reference catalog"
