"""The one place that decides which clinics and patients a user may see.

Every view fetches clinic-scoped objects through these helpers, so an object of
another clinic is indistinguishable from one that does not exist (404).
"""

from django.shortcuts import get_object_or_404

from trialplanner.patients.models import Clinic, Membership, Patient


def clinics_for(user):
    return Clinic.objects.filter(memberships__user=user)


def memberships_for(user):
    """The user's memberships with their clinics, fetched once per user object (one per request)."""
    cached = getattr(user, "_memberships_cache", None)
    if cached is None:
        cached = list(user.memberships.select_related("clinic").order_by("clinic__name"))
        user._memberships_cache = cached
    return cached


def get_clinic_for_user(user, clinic_uuid):
    return get_object_or_404(clinics_for(user), uuid=clinic_uuid)


def is_clinic_lead(user, clinic):
    return Membership.objects.filter(user=user, clinic=clinic, role=Membership.Role.LEAD).exists()


def patients_for(user):
    # By clinic id rather than a join on memberships, so PostgreSQL can walk the
    # (clinic, display_name) index in order instead of sorting every patient.
    return Patient.objects.filter(clinic_id__in=[m.clinic_id for m in memberships_for(user)])


def get_patient_for_user(user, patient_uuid):
    return get_object_or_404(patients_for(user).select_related("clinic"), uuid=patient_uuid)
