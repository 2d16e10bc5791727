"""Counts cached under each clinic's data_version: hits cost no query, and every committed write
to a clinic's patients or follow-ups makes the next read recount."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trialplanner.patients.models import Clinic
from trialplanner.plans import services, worklist

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)  # two follow-ups of the plan below are overdue


@pytest.fixture(autouse=True)
def real_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "versioned"}}
    cache.clear()  # test databases reuse ids (and never bump versions), so no key may outlive a test


def fresh(user):
    """The user as the next request sees it (its memberships and clinic versions read anew)."""
    return type(user).objects.get(pk=user.pk)


def counted(fn):
    with CaptureQueriesContext(connection) as queries:
        value = fn()
    return value, len(queries)


def test_a_new_day_recounts_without_any_write(clinician, active):
    with time_machine.travel(NOW, tick=False):
        today = worklist.counts(fresh(clinician), NOW)
    later = datetime(2027, 4, 26, 12, 0, tzinfo=UTC)  # a review falls due today
    with time_machine.travel(later, tick=False):
        assert worklist.counts(fresh(clinician), later) != today


def test_uncommitted_writes_do_not_bump_the_version(clinician, active, django_capture_on_commit_callbacks):
    version = Clinic.objects.get(pk=active.patient.clinic_id).data_version
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.followup_mark_missed(followup=active.followups.first(), user=clinician, reason="No answer")
    assert callbacks  # the bump waits for the commit (a rollback drops it)
    assert Clinic.objects.get(pk=active.patient.clinic_id).data_version == version
