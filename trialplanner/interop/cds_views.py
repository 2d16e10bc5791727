"""CDS Hooks endpoints (JWT-authenticated, no session) and the clinic lead's client registry page."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.clinictime import clinic_today
from trialplanner.interop import cds, cds_input
from trialplanner.interop.cds_auth import NotAuthorised, authenticate
from trialplanner.interop.forms import CdsClientForm
from trialplanner.interop.models import CdsCard, CdsClient, CdsFeedback
from trialplanner.patients.access import memberships_for
from trialplanner.patients.models import Membership

log = logging.getLogger(__name__)
HOOKS = {"order-select": cds.order_hook, "order-sign": cds.order_hook, "patient-view": cds.patient_view_hook}


def _base_url(request):
    return request.build_absolute_uri("/").rstrip("/")


def _error(status, message):
    response = JsonResponse({"error": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="cds-services"'
    return response


def _caller(request):
    """The authenticated client, or None (the reason is logged, the caller just gets 401)."""
    try:
        return authenticate(request.headers.get("Authorization", ""), audience=request.build_absolute_uri())
    except NotAuthorised as exc:
        log.warning("CDS Hooks request refused: %s", exc)
        return None


@csrf_exempt
@login_not_required
@require_GET
def discovery(request):
    caller = _caller(request)
    if caller is None:
        return _error(401, "a valid CDS Hooks JWT is required")
    audit_log(
        AuditEvent.Action.VIEW,
        object_type="cds_discovery",
        clinic=caller.client.clinic,
        detail=f"discovery by {caller.client.name}",
    )
    return JsonResponse(cds.discovery(_base_url(request)))


@csrf_exempt
@login_not_required
@require_POST
def service(request, service_id):
    if service_id not in cds.SERVICES:
        return _error(404, "no such CDS service")
    caller = _caller(request)
    if caller is None:
        return _error(401, "a valid CDS Hooks JWT is required")
    spec = cds.SERVICES[service_id]
    try:
        hook_request, context = cds_input.hook_request(
            request.body, hook=spec["hook"], today=clinic_today(caller.client.clinic)
        )
        with transaction.atomic():
            result, patient = HOOKS[spec["hook"]](service_id, hook_request, context, caller, _base_url(request))
            audit_log(
                AuditEvent.Action.VIEW,
                object_type="cds_call",
                clinic=caller.client.clinic,
                patient=patient,
                detail=f"{service_id} by {caller.client.name}: {len(result['cards'])} cards",
            )
    except cds.PrefetchMissing as exc:
        return _error(412, str(exc))
    except cds_input.BadRequest as exc:
        return _error(400, str(exc))
    return JsonResponse(result)


@csrf_exempt
@login_not_required
@require_POST
def feedback(request, service_id):
    if service_id not in cds.SERVICES:
        return _error(404, "no such CDS service")
    caller = _caller(request)
    if caller is None:
        return _error(401, "a valid CDS Hooks JWT is required")
    try:
        items = cds_input.feedback_items(request.body)
    except cds_input.BadRequest as exc:
        return _error(400, str(exc))
    listed = [i["card_uuid"] for i in items]
    if len(set(listed)) != len(listed):
        return _error(400, "each card may be listed once")
    # Only cards this client was served by this service.
    cards = {c.uuid: c for c in CdsCard.objects.filter(client=caller.client, service=service_id, uuid__in=listed)}
    unknown = [str(i["card_uuid"]) for i in items if i["card_uuid"] not in cards]
    if unknown:
        return _error(400, f"unknown card {', '.join(unknown)}")
    with transaction.atomic():
        for item in items:
            CdsFeedback.objects.create(client=caller.client, service=service_id, card=cards[item["card_uuid"]], **item)
        audit_log(
            AuditEvent.Action.CREATE,
            object_type="cds_feedback",
            clinic=caller.client.clinic,
            detail=f"{service_id} feedback by {caller.client.name}: {len(items)} items",
        )
    return JsonResponse({})


# --- the clinic lead's registry ---------------------------------------------------------------------


def _lead_clinic(user, clinic_uuid):
    """The clinic if the user leads it, else 404 (clinicians and outsiders alike)."""
    for membership in memberships_for(user):
        if str(membership.clinic.uuid) == str(clinic_uuid) and membership.role == Membership.Role.LEAD:
            return membership.clinic
    raise Http404("No such clinic")


@require_http_methods(["GET", "POST"])
def cds_clients(request, clinic_uuid):
    clinic = _lead_clinic(request.user, clinic_uuid)
    form = CdsClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            client = CdsClient.objects.create(clinic=clinic, created_by=request.user, **form.cleaned_data)
            audit_log(AuditEvent.Action.CREATE, client, clinic=clinic, detail=f"CDS client {client.issuer}")
        messages.success(request, f"{client.name} can now call the CDS Hooks service for {clinic.name}.")
        return redirect("interop:cds_clients", clinic.uuid)
    audit_log(AuditEvent.Action.VIEW, object_type="cds_clients", clinic=clinic, detail="CDS clients and feedback")
    ctx = {
        "clinic": clinic,
        "form": form,
        "clients": CdsClient.objects.filter(clinic=clinic),
        "feedback": CdsFeedback.objects.filter(client__clinic=clinic).select_related("client", "card")[:200],
        "service_base": request.build_absolute_uri("/cds-services"),
    }
    return render(request, "interop/cds_clients.html", ctx)


@require_POST
def cds_client_deactivate(request, clinic_uuid, client_uuid):
    clinic = _lead_clinic(request.user, clinic_uuid)
    client = get_object_or_404(CdsClient, clinic=clinic, uuid=client_uuid)
    with transaction.atomic():
        client.is_active = False
        client.save(update_fields=["is_active"])
        audit_log(AuditEvent.Action.UPDATE, client, clinic=clinic, detail=f"CDS client {client.issuer} deactivated")
    messages.success(request, f"{client.name} can no longer call the service.")
    return redirect("interop:cds_clients", clinic.uuid)
