"""The one place that decides which clinics and patients a user may see.

Every view fetches clinic-scoped objects through these helpers, so an object of
another clinic is indistinguishable from one that does not exist (404).
"""

from django.shortcuts import get_object_or_404

from trialplanner.patients.models import Clinic, Membership, Patient


def clinics_for(user):
    return Clinic.objects.filter(memberships__user=user)


# Every signed-in page reads the memberships (navigation, scoping, cache keys), so they are read
# with one raw query of the clinics: the ORM's query building costs twice the query itself here.
# raw() still applies each field's database converters (UUIDs and datetimes on SQLite).
_MEMBERSHIPS_SQL = (
    "SELECT c.*, m.id AS membership_id, m.role AS membership_role FROM {clinic} c"
    " JOIN {membership} m ON m.clinic_id = c.id WHERE m.user_id = %s ORDER BY c.name, c.id"
)


def memberships_for(user):
    """The user's memberships with their clinics, fetched once per user object (one per request)."""
    cached = getattr(user, "_memberships_cache", None)
    if cached is None:
        sql = _MEMBERSHIPS_SQL.format(clinic=Clinic._meta.db_table, membership=Membership._meta.db_table)
        cached = []
        for clinic in Clinic.objects.raw(sql, [user.pk]):
            membership = Membership(
                id=clinic.membership_id, user_id=user.pk, clinic=clinic, role=clinic.membership_role
            )
            membership._state.adding, membership._state.db = False, clinic._state.db
            cached.append(membership)
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
