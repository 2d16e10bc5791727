"""The patient search (name or MRN containing the query) can use the trigram indexes on PostgreSQL."""

from datetime import date

import pytest
from django.db import connection
from django.db.models import Q

from trialplanner.patients.models import Patient

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes exist on PostgreSQL only")
@pytest.mark.parametrize(
    ("lookup", "index"), [("display_name", "patient_name_trgm_idx"), ("mrn", "patient_mrn_trgm_idx")]
)
def test_it_matches_the_search_expression_to_the_trigram_index(clinician, clinic, lookup, index):
    Patient.objects.bulk_create(
        Patient(
            clinic=clinic,
            display_name=f"Person {i}",
            mrn=f"M{i:05d}",
            date_of_birth=date(1970, 1, 1),
            sex="female",
            created_by=clinician,
        )
        for i in range(50)
    )
    # The same lookup the patient list runs (access.patients_for adds the clinic filter).
    query = Patient.objects.filter(Q(**{f"{lookup}__icontains": "son 1"}))
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would otherwise be scanned
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan
