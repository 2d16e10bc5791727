"""Pages cached under version keys (worklist, plan page, patient list) change as soon as a write
commits: the production cache is switched on here and on-commit callbacks run."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)  # the first review (29 Dec) and response (26 Jan) are overdue


@pytest.fixture(autouse=True)
def real_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages"}}
    cache.clear()  # test databases reuse ids (and never bump versions), so no key may outlive a test


@pytest.fixture
def signed_in(client, clinician):
    with time_machine.travel(NOW, tick=False):
        client.force_login(clinician)
        yield client


def get(client, name, *args, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(name, args=args), params)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_the_worklist_drops_a_followup_marked_missed(signed_in, clinician, active, django_capture_on_commit_callbacks):
    first = active.followups.order_by("due_date").first()
    body, _ = get(signed_in, "plans:worklist")
    again, cached_queries = get(signed_in, "plans:worklist")
    assert str(first.uuid) in body and str(first.uuid) in again
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(reverse("plans:followup_missed", args=[first.uuid]), {"reason": "No answer"})
    after, queries = get(signed_in, "plans:worklist")
    assert str(first.uuid) not in after
    assert queries > cached_queries  # rebuilt, not served from the cache


def test_the_plan_page_shows_a_change_at_once(signed_in, clinician, active, django_capture_on_commit_callbacks):
    first = active.followups.order_by("due_date").first()
    body, queries = get(signed_in, "plans:plan_detail", active.uuid)
    _, cached_queries = get(signed_in, "plans:plan_detail", active.uuid)
    assert cached_queries < queries and "Missed" not in body
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(reverse("plans:followup_missed", args=[first.uuid]), {"reason": "No answer"})
    assert "Missed" in get(signed_in, "plans:plan_detail", active.uuid)[0]


def test_the_patient_list_shows_a_renamed_patient(signed_in, clinician, active, django_capture_on_commit_callbacks):
    patient = active.patient
    body, _ = get(signed_in, "patients:patient_list")
    assert patient.display_name in body
    with django_capture_on_commit_callbacks(execute=True):
        patient.display_name = "Renamed Person"
        patient.save()
    body, _ = get(signed_in, "patients:patient_list")
    assert "Renamed Person" in body
    assert "Renamed Person" in get(signed_in, "plans:worklist")[0]


def test_a_new_day_rebuilds_the_worklist(client, clinician, active):
    with time_machine.travel(NOW, tick=False):
        client.force_login(clinician)
        body = client.get(reverse("plans:worklist")).content.decode()
    with time_machine.travel(datetime(2027, 4, 26, 12, 0, tzinfo=UTC), tick=False):
        client.force_login(clinician)
        later = client.get(reverse("plans:worklist")).content.decode()
    assert "Due today" in later and later != body


def test_a_handout_pdf_is_rendered_once_until_the_plan_changes(signed_in, clinician, active, monkeypatch,
                                                                django_capture_on_commit_callbacks):  # fmt: skip
    from trialplanner.handouts import views as handout_views

    renders = []
    real = handout_views.render_pdf
    monkeypatch.setattr(handout_views, "render_pdf", lambda html: renders.append(html) or real(html))
    url = reverse("handouts:handout_pdf", args=[active.uuid])
    first = signed_in.get(url)
    again = signed_in.get(url)
    assert first.content == again.content and first.content.startswith(b"%PDF") and len(renders) == 1
    signed_in.get(url, {"size": "large"})
    assert len(renders) == 2  # other options, another document
    later = active.followups.order_by("due_date").last()
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(reverse("plans:followup_missed", args=[later.uuid]), {"reason": "Moved away"})
    signed_in.get(url)
    assert len(renders) == 3


def test_the_cached_filter_form_keeps_each_choice(signed_in, active):
    chosen, _ = get(signed_in, "plans:worklist", kind="first-review")
    plain, _ = get(signed_in, "plans:worklist")
    assert '<option value="first-review" selected>' in chosen
    assert '<option value="first-review" selected>' not in plain and '<option value="first-review">' in plain
