import json

from django.http import HttpResponse
from django.views.decorators.http import require_GET

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.interop.fhir_export import plan_bundle
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
