"""Filled the outcome rows of every trial on record; 0004 does it now, with the tallies that came later.

It called the current code (`refresh_all`), which now also writes `TrialTally`, a table this
migration runs before, so it is kept empty: 0004 rebuilds every row and tally."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0001_trial_outcome"), ("plans", "0010_choice_constraints")]

    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
