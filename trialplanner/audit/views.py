from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from trialplanner import inputs
from trialplanner.audit import selectors
from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.csvexport import csv_response
from trialplanner.inputs import HardenedFormMixin

EVENTS_PER_PAGE = 50
EXPORT_LIMIT = 20_000  # the newest events of a filter; narrow the dates for older ones


class AuditFilterForm(HardenedFormMixin, forms.Form):
    action = forms.ChoiceField(choices=[("", "All actions"), *AuditEvent.Action.choices], required=False)
    user = forms.CharField(required=False, max_length=150, label="User name")
    patient = forms.CharField(required=False, max_length=120, label="Patient name or MRN")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date is before the start date.")
        return data


def _filtered(request):
    """The lead's clinics' events under the filter; an invalid filter matches nothing (never everything)."""
    clinics = selectors.led_clinics(request.user)
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return form, clinics, selectors.filtered_events(clinics, {}).none()
    return form, clinics, selectors.filtered_events(clinics, form.cleaned_data if form.is_bound else {})


def _describe(form):
    if not form.is_bound or not form.is_valid():
        return "no filter"
    # The patient text is left out: audit details never carry patient names.
    used = [name for name, value in form.cleaned_data.items() if value and name != "patient"]
    if form.cleaned_data.get("patient"):
        used.append("patient")
    return "filter: " + (", ".join(used) if used else "none")


def audit_list(request):
    """A clinic lead's view of their clinics' audit trail; everyone else gets 404."""
    form, _, events = _filtered(request)
    page = Paginator(events, EVENTS_PER_PAGE).get_page(inputs.page_number(request))
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {"page": page, "form": form, "query": query.urlencode(), "export_limit": f"{EXPORT_LIMIT:,}"}
    return render(request, "audit/audit_list.html", ctx)


def audit_csv(request):
    """The filtered view as CSV (formulas neutralised); the export is itself an audit event per clinic."""
    form, clinics, events = _filtered(request)
    rows = [
        [e.at.isoformat(), e.user.username if e.user else "", e.get_action_display(), e.clinic.name if e.clinic else "",
         e.object_type, e.object_id, e.patient.display_name if e.patient else "", e.patient.mrn if e.patient else "",
         e.detail, e.ip or "", e.request_id]
        for e in events[:EXPORT_LIMIT]
    ]  # fmt: skip
    for clinic in clinics:
        audit_log(
            AuditEvent.Action.PRINT,
            clinic=clinic,
            object_type="audit_export",
            detail=f"audit CSV, {len(rows)} event{'' if len(rows) == 1 else 's'}, {_describe(form)}",
        )
    header = ["When (UTC)", "User", "Action", "Clinic", "Record type", "Record id", "Patient", "MRN", "Detail", "IP",
              "Request id"]  # fmt: skip
    return csv_response(f"audit-{timezone.now():%Y%m%d-%H%M%S}.csv", header, rows)
