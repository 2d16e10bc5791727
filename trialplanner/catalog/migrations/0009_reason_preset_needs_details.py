from django.db import migrations, models

# Presets whose text asks for details; the catalog file says so too (needs_details = true), and
# load_catalog keeps it in step. Set here so a database is right before the catalog is reloaded.
ASKS_FOR_DETAILS = ["specialist-advice"]


def mark(apps, schema_editor):
    apps.get_model("catalog", "ReasonPreset").objects.filter(key__in=ASKS_FOR_DETAILS).update(needs_details=True)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0008_choice_constraints"),
    ]

    operations = [
        migrations.AddField(
            model_name="reasonpreset",
            name="needs_details",
            field=models.BooleanField(
                default=False,
                help_text="The text asks for details (such as who advised, and when): it is refused without them.",
            ),
        ),
        migrations.RunPython(mark, migrations.RunPython.noop),
    ]
