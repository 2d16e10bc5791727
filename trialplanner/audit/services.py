"""Write audit events. Call inside the transaction of the change, so both commit or neither."""

from trialplanner.audit.context import current
from trialplanner.audit.models import AuditEvent


def audit_log(action, obj=None, *, patient=None, clinic=None, object_type=None, detail="", user=None, changes=None):
    """Append one event for `obj` (or an explicit object_type) by the current request's user."""
    actor = current.get()
    if patient is None and obj is not None:
        patient = getattr(obj, "patient", None) or (obj if type(obj).__name__ == "Patient" else None)
    if clinic is None and patient is not None:
        clinic_id = patient.clinic_id
    else:
        clinic_id = clinic.pk if clinic is not None else None
    return AuditEvent.objects.create(
        user_id=user.pk if user is not None else (actor.user_id if actor else None),
        clinic_id=clinic_id,
        patient=patient,
        action=action,
        object_type=object_type or (type(obj).__name__.lower() if obj is not None else ""),
        object_id=str(getattr(obj, "uuid", None) or getattr(obj, "pk", "") or "") if obj is not None else "",
        detail=detail[:200],
        changes=changes,
        ip=actor.ip if actor else None,
        request_id=actor.request_id if actor else "",
    )
