from django import forms
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from trialplanner import inputs
from trialplanner.audit.models import AuditEvent
from trialplanner.inputs import HardenedFormMixin
from trialplanner.patients.models import Clinic, Membership

EVENTS_PER_PAGE = 50


class AuditFilterForm(HardenedFormMixin, forms.Form):
    action = forms.ChoiceField(choices=[("", "All actions"), *AuditEvent.Action.choices], required=False)
    user = forms.CharField(required=False, max_length=150, label="User name")
    patient = forms.UUIDField(required=False, label="Patient id (from the patient's address)")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


def audit_list(request):
    """A clinic lead's view of their clinics' audit trail; everyone else gets 404."""
    clinics = Clinic.objects.filter(memberships__user=request.user, memberships__role=Membership.Role.LEAD)
    if not clinics.exists():
        raise Http404("Only a clinic lead can browse the audit trail.")
    events = AuditEvent.objects.filter(clinic__in=clinics).select_related("user", "patient", "clinic")
    form = AuditFilterForm(request.GET or None)
    if form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["user"]:
            events = events.filter(user__username__iexact=data["user"].strip())
        if data["patient"]:
            events = events.filter(patient__uuid=data["patient"])
        if data["since"]:
            events = events.filter(at__date__gte=data["since"])
        if data["until"]:
            events = events.filter(at__date__lte=data["until"])
    page = Paginator(events.order_by("-at", "-id"), EVENTS_PER_PAGE).get_page(inputs.page_number(request))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/audit_list.html", {"page": page, "form": form, "query": query.urlencode()})
