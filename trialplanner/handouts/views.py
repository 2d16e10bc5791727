from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import never_cache

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.clinictime import clinic_today
from trialplanner.handouts.content import LANGUAGES, PAPERS, handout_context
from trialplanner.handouts.pdf import render_pdf
from trialplanner.plans import access
from trialplanner.plans.models import Plan


def _options(request, plan):
    language = request.GET.get("lang")
    if language not in LANGUAGES:
        language = plan.patient.preferred_language if plan.patient.preferred_language in LANGUAGES else "en"
    paper = request.GET.get("paper") if request.GET.get("paper") in PAPERS else "a4"
    return language, request.GET.get("size") == "large", paper


def _render(request, plan, *, pdf):
    language, large, paper = _options(request, plan)
    with translation.override(language):
        ctx = handout_context(
            plan, language=language, large=large, paper=paper, today=clinic_today(plan.patient.clinic)
        )
        query = f"?lang={language}&size={'large' if large else 'normal'}&paper={paper}"
        ctx.update(pdf=pdf, languages=LANGUAGES, pdf_url=reverse("handouts:handout_pdf", args=[plan.uuid]) + query)
        return render_to_string("handouts/handout.html", ctx, request=None if pdf else request), language, large


def _printable(request, plan_uuid):
    plan = access.get_plan_for_user(request.user, plan_uuid)
    if plan.status != Plan.Status.ACTIVE:
        messages.error(request, "Handouts are printed from the active version of a plan.")
        return plan, redirect(plan)
    return plan, None


@never_cache
def handout(request, plan_uuid):
    plan, refused = _printable(request, plan_uuid)
    if refused:
        return refused
    html, language, large = _render(request, plan, pdf=False)
    audit_log(AuditEvent.Action.PRINT, plan, detail=f"handout print view ({language}{', large' if large else ''})")
    return HttpResponse(html)


@never_cache
def handout_pdf(request, plan_uuid):
    plan, refused = _printable(request, plan_uuid)
    if refused:
        return refused
    language, large, paper = _options(request, plan)
    pdf = render_pdf(_render(request, plan, pdf=True)[0])
    audit_log(AuditEvent.Action.PRINT, plan, detail=f"handout PDF ({language}{', large' if large else ''})")
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"amitriptyline-plan-v{plan.version}-{language}{'-large' if large else ''}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
