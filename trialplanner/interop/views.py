import json

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.clinictime import clinic_today
from trialplanner.interop import services
from trialplanner.interop.fhir_export import plan_bundle
from trialplanner.interop.fhir_import import map_bundle
from trialplanner.interop.forms import BundleUploadForm, ConfirmBundleForm
from trialplanner.patients import access as patient_access
from trialplanner.patients.forms import PatientForm
from trialplanner.plans import access as plan_access

FHIR_JSON = "application/fhir+json"


def fhir_response(data, *, filename=""):
    response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False), content_type=FHIR_JSON)
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def plan_fhir(request, plan_uuid):
    """The plan version as a FHIR R4 Bundle; ?layout=per-step for one MedicationRequest per step."""
    plan = plan_access.get_plan_for_user(request.user, plan_uuid)
    per_step = request.GET.get("layout") == "per-step"
    audit_log(AuditEvent.Action.VIEW, plan, detail=f"FHIR export v{plan.version}{' per step' if per_step else ''}")
    download = "download" in request.GET
    return fhir_response(plan_bundle(plan, per_step=per_step), filename=f"plan-{plan.uuid}.json" if download else "")


def patient_import(request):
    """Paste or upload a FHIR Bundle, preview what maps, and create the patient only on confirmation."""
    clinics = patient_access.clinics_for(request.user)
    first_clinic = clinics.first()
    today = clinic_today(first_clinic) if first_clinic else timezone.localdate()
    if request.method == "POST" and "confirm" in request.POST:
        confirm = ConfirmBundleForm(request.POST)
        patient_form = PatientForm(request.POST, clinics=clinics, today=today, prefix="patient")
        if not confirm.is_valid():
            ctx = {"upload": BundleUploadForm(), "import_error": confirm.errors["bundle"][0]}
            return render(request, "interop/patient_import.html", ctx, status=400)
        if patient_form.is_valid():
            clinic = patient_form.cleaned_data["clinic"]
            preview = map_bundle(confirm.cleaned_data["bundle"], today=clinic_today(clinic))
            fields = {k: v for k, v in patient_form.cleaned_data.items() if k != "clinic"}
            patient = services.patient_import(user=request.user, clinic=clinic, patient_fields=fields, preview=preview)
            messages.success(request, f"{patient.display_name} imported with risk profile version 1. Check it.")
            return redirect(patient)
        preview = map_bundle(confirm.cleaned_data["bundle"], today=today)
        return _render_preview(request, preview, confirm, patient_form)
    upload = BundleUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and upload.is_valid():
        preview = map_bundle(upload.cleaned_data["bundle"], today=today)
        audit_log(AuditEvent.Action.VIEW, object_type="fhir_import", detail="preview of an incoming bundle")
        confirm = ConfirmBundleForm(initial={"bundle": upload.cleaned_data["raw"]})
        patient_form = PatientForm(initial=preview.patient, clinics=clinics, today=today, prefix="patient")
        return _render_preview(request, preview, confirm, patient_form)
    return render(request, "interop/patient_import.html", {"upload": upload})


def _render_preview(request, preview, confirm, patient_form):
    ctx = {"preview": preview, "confirm": confirm, "patient_form": patient_form}
    return render(request, "interop/patient_import_preview.html", ctx)
