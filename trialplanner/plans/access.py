"""Which plans a user may see: those of patients in the user's clinics (else 404)."""

from django.shortcuts import get_object_or_404

from trialplanner.patients.access import memberships_for
from trialplanner.plans.models import FollowUp, Plan


def _clinic_ids(user):
    return [m.clinic_id for m in memberships_for(user)]


def plans_for(user):
    return Plan.objects.filter(patient__clinic_id__in=_clinic_ids(user))


PLAN_RELATED = ("patient__clinic", "indication__protocol", "indication__outcome_measure")


def get_plan_for_user(user, plan_uuid, related=PLAN_RELATED, defer=()):
    """The plan if it belongs to a patient of the user's clinics, else 404. `related`: what to
    join (each join costs PostgreSQL planning time; the plan page needs only two); `defer`:
    columns not to load."""
    return get_object_or_404(plans_for(user).select_related(*related).defer(*defer), uuid=plan_uuid)


def get_followup_for_user(user, followup_uuid):
    return get_object_or_404(
        FollowUp.objects.filter(clinic_id__in=_clinic_ids(user)).select_related(
            "plan__patient__clinic", "plan__indication__protocol", "plan__indication__outcome_measure"
        ),
        uuid=followup_uuid,
    )
