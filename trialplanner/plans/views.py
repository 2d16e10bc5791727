from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from trialplanner import inputs
from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.catalog import selectors as catalog_selectors
from trialplanner.catalog.models import Indication
from trialplanner.clinictime import clinic_today
from trialplanner.engine import EngineError
from trialplanner.patients import access as patient_access
from trialplanner.patients import selectors as patient_selectors
from trialplanner.plans import access, selectors, services
from trialplanner.plans import worklist as wl
from trialplanner.plans.form_errors import service_errors
from trialplanner.plans.forms import (
    ActivateForm,
    BookForm,
    FollowUpStatusForm,
    PlanForm,
    ReasonForm,
    StopForm,
    VisitForm,
    WorklistFilterForm,
    add_engine_error,
)
from trialplanner.plans.models import FollowUp, Plan

PREVIEW_FIELDS = ("start_date", "target_mg", "tablet_strength_mg", "days_per_step")


def plan_new(request, patient_uuid):
    patient = patient_access.get_patient_for_user(request.user, patient_uuid)
    indication = catalog_selectors.indication_by_slug(request.POST.get("indication") or request.GET.get("indication"))
    if indication is None:
        indications = Indication.objects.select_related("protocol")
        return render(request, "plans/plan_pick_indication.html", {"patient": patient, "indications": indications})
    # "Update preview" posts the form with preview=1 (a GET would put the CSRF token in the URL);
    # a GET with options still previews, for links. Only a POST without preview creates a plan.
    previewing = request.method == "GET" or "preview" in request.POST
    data = request.POST if request.method == "POST" else (request.GET if "start_date" in request.GET else None)
    today = clinic_today(patient.clinic)
    form = PlanForm(data, protocol=indication.protocol, measure=indication.outcome_measure, today=today)
    # What the page showed last time, so a bad value keeps the last good preview on screen.
    shown = PlanForm(data, protocol=indication.protocol, prefix="shown", today=today) if data is not None else None
    attempted = not previewing and form.is_valid()
    if attempted:
        with service_errors(form) as call:
            plan = services.plan_create(patient=patient, indication=indication, user=request.user, **form.cleaned_data)
        if call.ok:
            messages.success(request, "Draft plan created. Check it, record reasons for any warnings, then activate.")
            return redirect(plan)
    audit_log(AuditEvent.Action.VIEW, patient, detail=f"plan preview for {indication.slug}")
    assessment, draft, options = _preview(patient, indication, form, shown, report=not attempted)
    ctx = {
        "patient": patient,
        "indication": indication,
        "form": form,
        "shown_form": PlanForm(initial=options, protocol=indication.protocol, prefix="shown", today=today),
        "assessment": assessment,
        "draft": draft,
        "rows": selectors.dose_rows_from_draft(draft, patient.clinic.dispensing_interval_days) if draft else [],
    }
    return render(request, "plans/plan_new.html", ctx)


def _options(form, fallback):
    """The form's values where they are valid, else the fallback's (the last preview, or the defaults)."""
    form.is_valid()
    cleaned = getattr(form, "cleaned_data", {})
    return {name: cleaned[name] if name in cleaned and not form.has_error(name) else fallback[name]
            for name in PREVIEW_FIELDS}  # fmt: skip


def _preview(patient, indication, form, shown, *, report):
    """Findings and a draft for the form's options; an option the engine refuses gets its message on
    its field, and the preview falls back to the last one shown. The findings are always shown."""
    defaults = {name: form.fields[name].initial if form.fields[name].initial != "" else None for name in PREVIEW_FIELDS}
    fallback = _options(shown, defaults) if shown is not None else defaults
    attempts = [_options(form, fallback) if form.is_bound else defaults, fallback, defaults]
    for number, options in enumerate(attempts):
        try:
            found, draft = services.plan_preview(patient=patient, indication=indication, **options)
        except EngineError as exc:
            if number == 0 and form.is_bound and report:
                add_engine_error(form, exc)
            continue
        return found, draft, options
    # Not even the defaults build (the findings stand in the way): show the findings alone.
    assessment = services.plan_assess(patient=patient, indication=indication, start_date=defaults["start_date"])
    return assessment, None, defaults


DIABETES = "diabetes"
PAGE_DEFER = ("engine_input", "protocol_snapshot")  # kept for rebuilding a plan, never shown on its page


def plan_detail(request, plan_uuid, forms=None):
    plan = access.get_plan_for_user(request.user, plan_uuid, related=("patient", "indication"), defer=PAGE_DEFER)
    audit_log(AuditEvent.Action.VIEW, plan, detail=f"version {plan.version}")
    return _render_plan(request, plan, forms or {})


def _render_plan(request, plan, forms, status=200):
    today = clinic_today(plan.patient.clinic)
    ctx = {
        "plan": plan,
        "patient": plan.patient,
        "rows": selectors.dose_rows_from_steps(plan.steps.all(), selectors.supply_terms(plan)),
        "followups": selectors.followups_with_names(plan),
        "acknowledgements": plan.acknowledgements.select_related("acknowledged_by"),
        "versions": selectors.series_versions(plan),
        "today": today,
        "open_statuses": FollowUp.OPEN,
    }
    ctx["next_review"] = min(
        (f for f in ctx["followups"] if f.status in FollowUp.OPEN), key=lambda f: f.effective_date, default=None
    )
    stale = selectors.stale_draft(plan)
    if stale is not None:
        ctx["stale"] = stale  # shown with a link to the current version instead of the activate form
    elif plan.status == Plan.Status.DRAFT:
        try:
            assessment = selectors.current_assessment(plan)
        except EngineError as exc:
            messages.error(request, f"The risk check could not run: {exc}")
        else:
            ctx["assessment"] = assessment
            ctx["activate_form"] = forms.get("activate") or ActivateForm(
                initial={"lock_version": plan.lock_version}, warnings=assessment.warning_cards, today=today
            )
    if plan.is_open:
        ctx["error_form"] = forms.get("error") or ReasonForm(initial={"lock_version": plan.lock_version})
    if plan.status == Plan.Status.ACTIVE and plan.kind == Plan.Kind.TITRATION:
        ctx["stop_form"] = forms.get("stop") or StopForm(
            initial={"lock_version": plan.lock_version, "stop_date": max(today, plan.start_date)}, today=today
        )
    return render(request, "plans/plan_detail.html", ctx, status=status)


@require_POST
def plan_activate(request, plan_uuid):
    plan = access.get_plan_for_user(request.user, plan_uuid)
    try:
        warnings = selectors.current_assessment(plan).warning_cards
    except EngineError as exc:
        messages.error(request, f"The risk check could not run: {exc}")
        return redirect(plan)
    form = ActivateForm(request.POST, warnings=warnings, today=clinic_today(plan.patient.clinic))
    if form.is_valid():
        try:
            services.plan_activate(
                plan=plan, user=request.user, lock_version=form.cleaned_data["lock_version"], reasons=form.reasons()
            )
        except (services.PlanError, EngineError) as exc:
            return _action_failed(request, plan, exc, {"activate": form})
        messages.success(request, "Plan activated. Its follow-ups are listed below.")
        return redirect(plan)
    return _render_plan(request, plan, {"activate": form}, status=400)


def _action_failed(request, plan, exc, forms):
    messages.error(request, str(exc))
    plan.refresh_from_db()
    status = 409 if isinstance(exc, services.PlanConflict) else 400
    # A conflict shows the plan as it is now, with fresh forms.
    return _render_plan(request, plan, {} if status == 409 else forms, status=status)


@require_POST
def plan_stop(request, plan_uuid):
    plan = access.get_plan_for_user(request.user, plan_uuid)
    form = StopForm(request.POST, today=clinic_today(plan.patient.clinic))
    if form.is_valid():
        try:
            taper = services.plan_stop(
                plan=plan,
                user=request.user,
                lock_version=form.cleaned_data["lock_version"],
                reason=form.cleaned_data["reason"],
                stop_date=form.cleaned_data["stop_date"],
                stop_reason=form.cleaned_data["stop_reason"],
            )
        except (services.PlanError, EngineError) as exc:
            return _action_failed(request, plan, exc, {"stop": form})
        messages.success(request, "Plan stopped. The taper below is now the active plan." if taper else "Plan stopped.")
        return redirect(taper or plan)
    return _render_plan(request, plan, {"stop": form}, status=400)


@require_POST
def plan_mark_error(request, plan_uuid):
    plan = access.get_plan_for_user(request.user, plan_uuid)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.plan_mark_entered_in_error(
                plan=plan,
                user=request.user,
                lock_version=form.cleaned_data["lock_version"],
                reason=form.cleaned_data["reason"],
            )
        except services.PlanError as exc:
            return _action_failed(request, plan, exc, {"error": form})
        messages.success(request, "Marked as entered in error. It stays on record.")
        return redirect(plan)
    return _render_plan(request, plan, {"error": form}, status=400)


def plan_revise(request, plan_uuid):
    plan = access.get_plan_for_user(request.user, plan_uuid)
    if not services.plan_revisable(plan):
        messages.error(request, services.REVISE_REFUSED)
        return redirect(plan)
    initial = {
        "start_date": plan.start_date,
        "target_mg": f"{plan.target_mg.normalize():f}",
        "tablet_strength_mg": f"{plan.tablet_strength_mg.normalize():f}" if plan.tablet_strength_mg else None,
        "days_per_step": plan.days_per_step,
    }
    form = PlanForm(
        request.POST or None,
        protocol=plan.indication.protocol,
        initial=initial,
        today=clinic_today(plan.patient.clinic),
    )
    lock_version = _posted_lock_version(request, plan)
    if request.method == "POST" and form.is_valid():
        with service_errors(form) as call:
            new = services.plan_revise(plan=plan, user=request.user, lock_version=lock_version, **form.cleaned_data)
        if call.conflict:
            messages.error(request, str(call.error))
            return redirect(plan)
        if call.ok:
            messages.success(request, f"Version {new.version} created as a draft; version {plan.version} is kept.")
            return redirect(new)
    ctx = {"plan": plan, "patient": plan.patient, "form": form, "lock_version": lock_version}
    return render(request, "plans/plan_revise.html", ctx)


def _posted_lock_version(request, plan):
    """The lock version the form was shown with; garbage counts as stale (a conflict)."""
    if request.method != "POST":
        return plan.lock_version
    return inputs.ascii_int(request.POST.get("lock_version", ""), default=-1)


# --- worklist and visits ----------------------------------------------------------------------


def worklist(request):
    filters = WorklistFilterForm(request.GET or None, choices=wl.filter_choices(request.user))
    chosen = filters.cleaned_data if filters.is_valid() else {}
    page = wl.page(
        request.user,
        timezone.now(),
        clinician=chosen.get("clinician"),
        indication=chosen.get("indication"),
        kind=chosen.get("kind") or None,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
    )
    where = f"page from {page.previous_cursor}" if page.previous_cursor else "first page"
    audit_log(AuditEvent.Action.VIEW, object_type="worklist", detail=where)
    query = request.GET.copy()
    for name in ("page", "after", "before"):
        query.pop(name, None)
    ctx = {
        "page": page,
        "groups": page.groups,
        "filters": filters,
        "query": query.urlencode(),
    }
    return render(request, "plans/worklist.html", ctx)


def followup_visit(request, followup_uuid):
    followup = access.get_followup_for_user(request.user, followup_uuid)
    plan = followup.plan
    measure = plan.indication.outcome_measure
    profile = patient_selectors.current_profile(plan.patient)
    has_diabetes = profile is not None and any(c.slug == DIABETES for c in profile.conditions.all())
    today = clinic_today(plan.patient.clinic)
    form = VisitForm(request.POST or None, plan=plan, measure=measure, today=today, has_diabetes=has_diabetes)
    if not services.followup_is_open(followup):
        messages.info(request, "This follow-up is no longer open.")
        return redirect(plan)
    if request.method == "POST" and form.is_valid():
        with service_errors(form) as call:
            visit, new_plan = services.followup_record_visit(followup=followup, user=request.user, **form.cleaned_data)
        if call.ok:
            if visit.findings:
                titles = "; ".join(card["title"] for card in visit.findings)
                messages.warning(request, f"Findings recorded: {titles}. Their follow-ups are booked below.")
            if visit.response_text:
                messages.info(request, visit.response_text)
            if new_plan is not None and new_plan.status == Plan.Status.DRAFT:
                messages.warning(
                    request,
                    "Visit recorded. The new version needs reasons for new warnings before it "
                    "is activated; the current plan stays active until then.",
                )
            else:
                messages.success(request, "Visit recorded and the plan updated.")
            return redirect(new_plan or plan)
    audit_log(AuditEvent.Action.VIEW, followup, patient=plan.patient, detail="visit form")
    ctx = {
        "followup": followup,
        "plan": plan,
        "patient": plan.patient,
        "measure": measure,
        "form": form,
        "current_dose": selectors.dose_on(plan, today),
        "baseline": selectors.baseline_score(plan),
        "previous_visits": plan.visits.select_related("recorded_by")[:3],
        "assess_names": [selectors.monitoring_names().get(slug, slug) for slug in followup.assess],
    }
    return render(request, "plans/visit_form.html", ctx)


def followup_book(request, followup_uuid):
    followup = access.get_followup_for_user(request.user, followup_uuid)
    plan = followup.plan
    if not services.followup_is_open(followup):
        messages.info(request, "This follow-up is no longer open.")
        return redirect(plan)
    today = clinic_today(plan.patient.clinic)
    # Back to where the clinician came from: a fixed choice, never a URL from the request.
    back = "worklist" if request.GET.get("from") == "worklist" else "plan"
    form = BookForm(request.POST or None, initial=_booking_initial(followup, today), today=today)
    status = 200
    if request.method == "POST" and form.is_valid():
        with service_errors(form) as call:
            booked = services.followup_book(followup=followup, user=request.user, **form.cleaned_data)
        if call.ok:
            at = booked.appointment_time.strftime("%H:%M") if booked.appointment_time else "all day"
            day = f"{booked.appointment_date:%a %-d %b %Y}"
            messages.success(request, f"{plan.patient.display_name}: appointment booked for {day}, {at}.")
            return redirect("plans:worklist" if back == "worklist" else plan.get_absolute_url())
        if call.conflict:
            messages.error(request, str(call.error))
            followup.refresh_from_db()
            form, status = BookForm(initial=_booking_initial(followup, today), today=today), 409
        else:
            status = 400
    elif request.method == "POST":
        status = 400
    audit_log(AuditEvent.Action.VIEW, followup, patient=plan.patient, detail="booking form")
    ctx = {"followup": followup, "plan": plan, "patient": plan.patient, "form": form, "back": back, "today": today}
    return render(request, "plans/followup_book.html", ctx, status=status)


def _booking_initial(followup, today):
    return {
        "day": followup.appointment_date or max(followup.effective_date, today),
        "time": followup.appointment_time,
        "sequence": followup.sequence,
    }


@require_POST
def followup_snooze(request, followup_uuid):
    return _followup_status(request, followup_uuid, "snooze")


@require_POST
def followup_missed(request, followup_uuid):
    return _followup_status(request, followup_uuid, "missed")


def _followup_status(request, followup_uuid, action):
    followup = access.get_followup_for_user(request.user, followup_uuid)
    form = FollowUpStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason (up to 300 characters).")
        return redirect(followup)
    try:
        if action == "snooze":
            services.followup_snooze(
                followup=followup,
                user=request.user,
                reason=form.cleaned_data["reason"],
                today=clinic_today(followup.plan.patient.clinic),
            )
            messages.success(request, f"{followup.plan.patient.display_name}: call later, back on the list in 7 days.")
        else:
            services.followup_mark_missed(followup=followup, user=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, f"{followup.plan.patient.display_name}: marked as missed.")
    except services.PlanError as exc:
        messages.error(request, str(exc))
    return redirect("home")
