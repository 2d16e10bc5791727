"""Unconfirmed TOTP devices were once created by merely opening the set-up page; secrets being
enrolled now live in the session, so any such rows are leftovers that only hold secrets."""

from django.db import migrations


def drop_unconfirmed(apps, schema_editor):
    apps.get_model("otp_totp", "TOTPDevice").objects.filter(confirmed=False).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("otp_totp", "0003_add_timestamps")]

    operations = [migrations.RunPython(drop_unconfirmed, migrations.RunPython.noop)]
