"""Rebuild every trial's outcome row (now with its warnings) and the tallies summed from them."""

from django.db import migrations


def backfill(apps, schema_editor):
    # The rows are derived by the same SQL the services run (outcomes.facts.trial_facts_sql), over
    # raw tables, so the current code is the definition here too.
    from trialplanner.outcomes.services import refresh_all

    refresh_all()


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0003_trial_tally")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
