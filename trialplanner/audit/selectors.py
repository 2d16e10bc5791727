"""Reads of the audit trail: the events of the clinics a user leads, filtered."""

from uuid import UUID

from django.db.models import Q
from django.http import Http404

from trialplanner.audit.models import AuditEvent
from trialplanner.patients.models import Clinic, Membership


def led_clinics(user):
    """The clinics `user` leads; 404 for anyone who leads none (the trail is a lead's tool)."""
    clinics = list(Clinic.objects.filter(memberships__user=user, memberships__role=Membership.Role.LEAD))
    if not clinics:
        raise Http404("Only a clinic lead can browse the audit trail.")
    return clinics


def _patient_match(text):
    """A patient by name (every word of `text` in it, in any order), MRN (whole, any case) or id (the UUID
    in a patient's address): "Testcase Dev" finds Dev Testcase."""
    name = Q()
    for word in text.split():
        name &= Q(patient__display_name__icontains=word)
    match = name | Q(patient__mrn__iexact=text)
    try:
        match |= Q(patient__uuid=UUID(text))
    except ValueError:
        pass
    return match


def filtered_events(clinics, data):
    """Events of `clinics` (never another clinic's) narrowed by the filter form's cleaned data, newest first."""
    events = AuditEvent.objects.filter(clinic__in=clinics)
    if data.get("action"):
        events = events.filter(action=data["action"])
    if data.get("user"):
        events = events.filter(user__username__iexact=data["user"].strip())
    if data.get("patient"):
        events = events.filter(_patient_match(data["patient"].strip()))
    if data.get("since"):
        events = events.filter(at__date__gte=data["since"])
    if data.get("until"):
        events = events.filter(at__date__lte=data["until"])
    return events.select_related("user", "patient", "clinic").order_by("-at", "-id")
