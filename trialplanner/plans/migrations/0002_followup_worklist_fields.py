"""Denormalise each follow-up's clinic and worklist date, so the worklist is one index scan."""

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):
    FollowUp = apps.get_model("plans", "FollowUp")
    Plan = apps.get_model("plans", "Plan")
    FollowUp.objects.update(
        clinic_id=models.Subquery(Plan.objects.filter(pk=models.OuterRef("plan_id")).values("patient__clinic_id")[:1])
    )
    active = Plan.objects.filter(pk=models.OuterRef("plan_id"), status="active")
    FollowUp.objects.update(
        worklist_date=models.Case(
            models.When(~models.Exists(active), then=None),
            models.When(status="snoozed", snoozed_until__isnull=False, then=models.F("snoozed_until")),
            models.When(status__in=["due", "snoozed"], then=models.F("due_date")),
            default=None,
        )
    )
    if schema_editor.connection.vendor == "postgresql":
        # Run the deferred foreign-key checks now, so the clinic index can be built in this migration.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0001_initial"),
        ("plans", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="followup",
            name="clinic",
            field=models.ForeignKey(
                editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                to="patients.clinic",
            ),
        ),
        migrations.AddField(
            model_name="followup",
            name="worklist_date",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
