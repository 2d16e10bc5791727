"""The medicines table never says "no interaction listed" beside an ingredient whose facts raise warnings."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_it_points_co_codamols_codeine_to_its_warnings(client, clinician, patient, with_profile, catalog):
    with_profile(patient, medications=["co-codamol 30/500 2 tabs qds"])
    client.force_login(clinician)
    response = client.get(patient.get_absolute_url(), {"indication": "migraine-prophylaxis"})
    body = re.sub(r"\s+", " ", response.content.decode())
    row = re.search(r"<td>(Codeine[^<]*)", body).group(1)
    assert row.startswith(
        "Codeine (allow with monitoring; see the warnings: CNS depressant, CNS-active, "
        "anticholinergic (1)) + Paracetamol (none listed in UK SmPC (amitriptyline), reviewed 25 Nov 2026)"
    )
    assert "Codeine + Paracetamol (none listed" not in body
