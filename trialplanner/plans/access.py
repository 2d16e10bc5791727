"""Which plans a user may see: those of patients in the user's clinics (else 404)."""

from django.shortcuts import get_object_or_404

from trialplanner.plans.models import FollowUp, Plan


def plans_for(user):
    return Plan.objects.filter(patient__clinic__memberships__user=user)


def get_plan_for_user(user, plan_uuid):
    return get_object_or_404(
        plans_for(user).select_related("patient__clinic", "indication__protocol", "indication__outcome_measure"),
        uuid=plan_uuid,
    )


def get_followup_for_user(user, followup_uuid):
    return get_object_or_404(
        FollowUp.objects.filter(plan__patient__clinic__memberships__user=user).select_related(
            "plan__patient__clinic", "plan__indication__protocol", "plan__indication__outcome_measure"
        ),
        uuid=followup_uuid,
    )
