"""Fill the outcome rows of every trial already on record (the services keep them from now on)."""

from django.db import migrations


def backfill(apps, schema_editor):
    # The rows are derived by the same SQL the services run (outcomes.review.trial_facts_sql),
    # over raw tables, so the current code is the definition here too.
    from trialplanner.outcomes.services import refresh_all

    refresh_all()


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0001_trial_outcome"), ("plans", "0010_choice_constraints")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
