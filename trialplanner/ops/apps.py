from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "trialplanner.ops"
    verbose_name = "Operations"

    def ready(self):
        from django.db.backends.signals import connection_created

        from trialplanner.ops.privatefiles import private_sqlite_file

        connection_created.connect(private_sqlite_file, dispatch_uid="ops_private_sqlite_file")
