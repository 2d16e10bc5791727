"""Make the follow-up clinic required and index the worklist (a separate migration: PostgreSQL
cannot alter a table with deferred foreign-key checks pending from the data fill)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0002_risk_profiles"),
        ("plans", "0002_followup_worklist_fields"),
    ]

    operations = [
        migrations.AlterField(
            model_name="followup",
            name="clinic",
            field=models.ForeignKey(
                editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="patients.clinic"
            ),
        ),
        migrations.AddIndex(
            model_name="followup",
            index=models.Index(
                condition=models.Q(("worklist_date__isnull", False)),
                fields=["clinic", "worklist_date"],
                name="followup_worklist_idx",
            ),
        ),
    ]
