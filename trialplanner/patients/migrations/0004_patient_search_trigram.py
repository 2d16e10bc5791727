"""Trigram indexes for the patient search on PostgreSQL (name or MRN containing the query).

Django's icontains is UPPER(column::text) LIKE UPPER('%query%'), which a btree cannot serve; a
pg_trgm GIN index on the same expression can, for queries of three characters or more. SQLite
has no such index and scans (fine at the sizes SQLite is for). If the database user may not
create the pg_trgm extension, the migration says so and goes on without the indexes.
"""

from django.db import migrations, transaction

INDEXES = [
    ("patient_name_trgm_idx", "display_name"),
    ("patient_mrn_trgm_idx", "mrn"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # noqa: BLE001 - a missing privilege must not block the deployment
        print(f"\n  pg_trgm unavailable ({exc}); the patient search will scan instead of using an index.")
        return
    for name, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON patients_patient USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, _ in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("patients", "0003_clinic_data_version")]

    operations = [migrations.RunPython(create, drop)]
