from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "trialplanner.reminders"
    verbose_name = "Reminders and calendars"
