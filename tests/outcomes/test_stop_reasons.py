"""Structured stop reasons: the form asks for one, Other needs text, and old free text became Other."""

import importlib
from datetime import date

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction
from django.urls import reverse

from trialplanner.plans import services
from trialplanner.plans.forms import StopForm
from trialplanner.plans.models import Plan

# The forms check the posted start and stop dates against today.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_test_now")]
migration = importlib.import_module("trialplanner.plans.migrations.0007_plan_stop_reason_baseline")


def stop(client, plan, **data):
    return client.post(
        reverse("plans:plan_stop", args=[plan.uuid]),
        {"lock_version": plan.lock_version, "stop_date": "2026-12-10", **data},
    )


def test_it_records_the_chosen_reason(client, clinician, active):
    client.force_login(clinician)
    response = stop(client, active, stop_reason="side_effect", reason="Too drowsy in the mornings")
    assert response.status_code == 302
    active.refresh_from_db()
    assert (active.status, active.stop_reason, active.end_reason) == (
        "stopped",
        "side_effect",
        "Too drowsy in the mornings",
    )


def test_it_needs_text_for_other_and_requires_a_reason(client, clinician, active):
    client.force_login(clinician)
    response = stop(client, active, stop_reason="other", reason=" ")
    assert response.status_code == 400
    assert response.context["stop_form"].errors["reason"] == [StopForm.error_messages["other_missing"]]
    response = stop(client, active, reason="No reason picked")
    assert response.context["stop_form"].errors["stop_reason"] == ["Choose why the trial is stopped."]
    active.refresh_from_db()
    assert active.status == "active"


def test_it_refuses_other_without_text_in_the_database(active):
    with pytest.raises(IntegrityError), transaction.atomic():
        Plan.objects.filter(pk=active.pk).update(status="stopped", stop_reason="other", end_reason="")


def test_it_migrates_old_free_text_reasons_to_other(active, clinician):
    services.plan_stop(
        plan=active,
        user=clinician,
        lock_version=active.lock_version,
        reason="Patient unhappy",
        stop_date=date(2026, 12, 10),
    )
    Plan.objects.filter(pk=active.pk).update(stop_reason="")  # as before the migration
    visit_stop = Plan.objects.get(kind="taper")
    Plan.objects.filter(pk=visit_stop.pk).update(
        status="stopped", end_reason="Re-planned at the visit on 2026-12-12: stop."
    )
    visit_stop.followups.refresh_worklist()
    migration.free_text_reasons_to_other(apps, None)
    assert Plan.objects.get(pk=active.pk).stop_reason == "other"
    assert Plan.objects.get(pk=visit_stop.pk).stop_reason == ""  # written by the app, not a reason
