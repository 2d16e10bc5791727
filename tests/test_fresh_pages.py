"""Pages show a write on the next view: nothing is cached between requests (docs/performance.md
says why: on the realistic mix no page cache paid for itself). A real cache is switched on
here, so a page cache added back would have to show up in these tests."""

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
    cache.clear()


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


def test_it_drops_a_followup_marked_missed_from_the_worklist(
    signed_in, clinician, active, django_capture_on_commit_callbacks
):
    first = active.followups.order_by("due_date").first()
    get(signed_in, "patients:patient_list")  # the first request of a session writes it
    body, queries = get(signed_in, "plans:worklist")
    again, queries_again = get(signed_in, "plans:worklist")
    assert str(first.uuid) in body and str(first.uuid) in again
    assert queries_again == queries  # built again, not served from a cache
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(reverse("plans:followup_missed", args=[first.uuid]), {"reason": "No answer"})
    after, _ = get(signed_in, "plans:worklist")
    assert str(first.uuid) not in after


def test_it_shows_a_change_on_the_plan_page_at_once(signed_in, clinician, active, django_capture_on_commit_callbacks):
    first = active.followups.order_by("due_date").first()
    get(signed_in, "patients:patient_list")  # the first request of a session writes it
    body, queries = get(signed_in, "plans:plan_detail", active.uuid)
    _, queries_again = get(signed_in, "plans:plan_detail", active.uuid)
    assert queries_again == queries and "Missed" not in body
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(reverse("plans:followup_missed", args=[first.uuid]), {"reason": "No answer"})
    assert "Missed" in get(signed_in, "plans:plan_detail", active.uuid)[0]


def test_it_shows_a_renamed_patient_in_the_patient_list(
    signed_in, clinician, active, django_capture_on_commit_callbacks
):
    patient = active.patient
    body, _ = get(signed_in, "patients:patient_list")
    assert patient.display_name in body
    with django_capture_on_commit_callbacks(execute=True):
        patient.display_name = "Renamed Person"
        patient.save()
    body, _ = get(signed_in, "patients:patient_list")
    assert "Renamed Person" in body
    assert "Renamed Person" in get(signed_in, "plans:worklist")[0]


def test_it_rebuilds_the_worklist_on_a_new_day(client, clinician, active):
    with time_machine.travel(NOW, tick=False):
        client.force_login(clinician)
        body = client.get(reverse("plans:worklist")).content.decode()
    with time_machine.travel(datetime(2027, 4, 26, 12, 0, tzinfo=UTC), tick=False):
        client.force_login(clinician)
        later = client.get(reverse("plans:worklist")).content.decode()
    assert "Due today" in later and later != body


def test_it_renders_the_handout_pdf_on_every_download(signed_in, active, monkeypatch):
    from trialplanner.handouts import views as handout_views

    renders = []
    real = handout_views.render_pdf
    monkeypatch.setattr(handout_views, "render_pdf", lambda html: renders.append(html) or real(html))
    url = reverse("handouts:handout_pdf", args=[active.uuid])
    first = signed_in.get(url)
    again = signed_in.get(url)
    assert first.content.startswith(b"%PDF") and again.content.startswith(b"%PDF") and len(renders) == 2


def test_it_leaves_nothing_in_the_cache(signed_in, active):
    followup = active.followups.order_by("due_date").first()
    for name, args in [("plans:worklist", []), ("patients:patient_list", []), ("plans:plan_detail", [active.uuid]),
                       ("plans:followup_visit", [followup.uuid]), ("outcomes:outcome_review", [])]:  # fmt: skip
        get(signed_in, name, *args)
    signed_in.get(reverse("handouts:handout_pdf", args=[active.uuid]))
    assert cache._cache == {}  # the locmem backend's store: no page, fragment, count or PDF kept


def test_it_keeps_each_choice_in_the_filter_form(signed_in, active):
    chosen, _ = get(signed_in, "plans:worklist", kind="first-review")
    plain, _ = get(signed_in, "plans:worklist")
    assert '<option value="first-review" selected>' in chosen
    assert '<option value="first-review" selected>' not in plain and '<option value="first-review">' in plain
