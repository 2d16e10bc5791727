from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "trialplanner.accounts"
    verbose_name = "Accounts and sign-in security"

    def ready(self):
        from trialplanner.accounts import signals  # noqa: F401  (audits failed log-ins)
