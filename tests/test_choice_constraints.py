"""Every choice field is constrained in the database to its choices, so a raw update or bulk
write cannot store a value the code does not know."""

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import CheckConstraint

from trialplanner.patients.models import Patient
from trialplanner.plans.models import FollowUp, Plan, Step

# A clinic's zone is one of the server's tz database, which changes with its updates: a list frozen in
# a migration would refuse a zone the admin offers. The admin checks it against the live list.
UNCONSTRAINED = {("Clinic", "time_zone")}


def choice_fields():
    for model in apps.get_models():
        if not model.__module__.startswith("trialplanner."):
            continue
        for field in model._meta.concrete_fields:
            if field.choices is not None and (model.__name__, field.name) not in UNCONSTRAINED:
                yield model, field


def test_it_finds_the_choice_fields():
    found = {(m.__name__, f.name) for m, f in choice_fields()}
    assert {("Plan", "status"), ("FollowUp", "kind"), ("Visit", "decision"), ("AuditEvent", "action")} <= found


@pytest.mark.parametrize("model, field", [pytest.param(m, f, id=f"{m.__name__}.{f.name}") for m, f in choice_fields()])
def test_it_allows_exactly_the_choices(model, field):
    name = f"{model._meta.model_name}_{field.name}_choice"
    constraint = next((c for c in model._meta.constraints if c.name == name), None)
    assert isinstance(constraint, CheckConstraint), f"{model.__name__}.{field.name} has no {name} constraint"
    [(lookup, allowed)] = constraint.condition.children
    expected = {value for value, _ in field.flatchoices} | ({""} if field.blank else set())
    assert lookup == f"{field.name}__in"
    assert set(allowed) == expected


@pytest.mark.parametrize(
    "queryset, change",
    [
        (lambda plan: Plan.objects.filter(pk=plan.pk), {"status": "bogus"}),
        (lambda plan: Plan.objects.filter(pk=plan.pk), {"stop_reason": "bored"}),
        (lambda plan: FollowUp.objects.filter(plan=plan), {"status": "bogus"}),
        (lambda plan: Step.objects.filter(plan=plan), {"kind": "leap"}),
        (lambda plan: Patient.objects.filter(pk=plan.patient_id), {"sex": "x"}),
    ],
)
def test_it_refuses_a_raw_update_outside_the_choices(active, queryset, change):
    with pytest.raises(IntegrityError), transaction.atomic():
        queryset(active).update(**change)


def test_it_accepts_a_raw_update_inside_the_choices(active):
    assert Plan.objects.filter(pk=active.pk).update(stop_reason=Plan.StopReason.NO_RESPONSE) == 1
    assert Patient.objects.filter(pk=active.patient_id).update(sex=Patient.Sex.MALE) == 1
