from django.contrib import messages
from django.db.models import Q
from django.forms.models import model_to_dict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.catalog import selectors as catalog_selectors
from trialplanner.catalog.models import Indication, InteractingDrug
from trialplanner.clinictime import clinic_today
from trialplanner.engine import EngineError
from trialplanner.patients import access, selectors, services
from trialplanner.patients.forms import MedicationFormSet, PatientForm, RiskProfileForm, medication_initial
from trialplanner.plans import selectors as plan_selectors
from trialplanner.plans.worklist import clinic_days

PATIENTS_PER_PAGE = 25


def patient_list(request):
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    patients = access.patients_for(request.user)
    if query:
        patients = patients.filter(Q(display_name__icontains=query) | Q(mrn__icontains=query))
    days = clinic_days(request.user, timezone.now())
    page = selectors.patient_page(
        patients,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        size=PATIENTS_PER_PAGE,
        columns=lambda rows: plan_selectors.with_patient_list_columns(rows, days),
    )
    for patient in page.rows:
        patient.age = patient.age_on(days[patient.clinic_id])
        patient.next_visit_overdue = patient.next_visit is not None and patient.next_visit < days[patient.clinic_id]
    where = f"page from {page.rows[0].uuid}" if page.has_previous and page.rows else "first page"
    audit_log(AuditEvent.Action.VIEW, object_type="patient_list", detail=where)
    ctx = {
        "page": page,
        "query": query,
        "clinics": access.memberships_for(request.user),
        "several_clinics": len(days) > 1,
    }
    return render(request, "patients/patient_list.html", ctx)


def patient_create(request):
    clinics = access.clinics_for(request.user)
    form = PatientForm(request.POST or None, clinics=clinics)
    if request.method == "POST" and form.is_valid():
        patient = services.patient_create(user=request.user, **form.cleaned_data)
        messages.success(request, f"{patient.display_name} added. Now record their risk factors.")
        return redirect("patients:risk_profile_edit", patient.uuid)
    return render(request, "patients/patient_form.html", {"form": form, "patient": None})


def patient_edit(request, patient_uuid):
    patient = access.get_patient_for_user(request.user, patient_uuid)
    form = PatientForm(request.POST or None, instance=patient, clinics=access.clinics_for(request.user))
    if request.method == "POST" and form.is_valid():
        services.patient_update(patient=patient, user=request.user, **form.cleaned_data)
        messages.success(request, "Patient details saved.")
        return redirect(patient)
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient})


def patient_detail(request, patient_uuid):
    patient = access.get_patient_for_user(request.user, patient_uuid)
    audit_log(AuditEvent.Action.VIEW, patient)
    profile = selectors.current_profile(patient)
    today = clinic_today(patient.clinic)
    indications = Indication.objects.select_related("protocol", "outcome_measure")
    chosen = None
    slug = request.GET.get("indication")
    if slug:
        chosen = next((i for i in indications if i.slug == slug), None)
    ctx = {
        "patient": patient,
        "profile": profile,
        "versions": patient.risk_profiles.only("version", "created_at", "created_by").select_related("created_by"),
        "age": patient.age_on(today),
        "indications": indications,
        "chosen": chosen,
        "today": today,
        "plans": patient.plans.select_related("indication", "created_by").order_by("-created_at", "-version"),
    }
    if chosen is not None:
        try:
            assessment = selectors.assess(patient, profile, chosen, today)
        except EngineError as exc:
            messages.error(request, f"The risk check could not run: {exc}")
        else:
            ctx["assessment"] = assessment
            ctx["baseline_items"] = selectors.monitoring_items(assessment.baseline_checks)
            ctx["monitoring_items"] = selectors.monitoring_items(
                [k for k in assessment.monitoring if k not in assessment.baseline_checks]
            )
    return render(request, "patients/patient_detail.html", ctx)


def risk_profile_edit(request, patient_uuid):
    patient = access.get_patient_for_user(request.user, patient_uuid)
    current = selectors.current_profile(patient)
    today = clinic_today(patient.clinic)
    if request.method == "POST":
        formset = MedicationFormSet(request.POST, prefix="meds", today=today, rules=catalog_selectors.rulebook())
        form = RiskProfileForm(request.POST, today=today, medicines=formset)
    else:
        # An edit starts from the current version's values and saves a new version.
        form = RiskProfileForm(initial=model_to_dict(current) if current else None, today=today)
        formset = MedicationFormSet(
            initial=medication_initial(current), prefix="meds", today=today, rules=catalog_selectors.rulebook()
        )
        audit_log(AuditEvent.Action.VIEW, current or patient, patient=patient, detail="risk profile form")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "conditions"}
        profile = services.risk_profile_create(
            patient=patient,
            user=request.user,
            fields=fields,
            conditions=form.cleaned_data["conditions"],
            medications=formset.entries(),
        )
        messages.success(request, f"Risk profile saved as version {profile.version}.")
        return redirect(patient)
    ctx = {
        "patient": patient,
        "form": form,
        "formset": formset,
        "current": current,
        "drug_names": _drug_names(),
    }
    return render(request, "patients/risk_profile_form.html", ctx)


def _drug_names():
    names = set()
    for name, aliases in InteractingDrug.objects.values_list("name", "aliases"):
        names.add(name)
        names.update(a.strip() for a in aliases.split(",") if a.strip())
    return sorted(names, key=str.casefold)


def risk_profile_detail(request, patient_uuid, version):
    patient = access.get_patient_for_user(request.user, patient_uuid)
    profile = get_object_or_404(
        patient.risk_profiles.prefetch_related("conditions", "medications").select_related("created_by"),
        version=version,
    )
    audit_log(AuditEvent.Action.VIEW, profile, detail=f"version {profile.version}")
    latest = patient.risk_profiles.order_by("-version").values_list("version", flat=True).first()
    ctx = {"patient": patient, "profile": profile, "is_current": profile.version == latest}
    return render(request, "patients/risk_profile_detail.html", ctx)


def clinic_detail(request, clinic_uuid):
    clinic = access.get_clinic_for_user(request.user, clinic_uuid)
    memberships = clinic.memberships.select_related("user").order_by("user__last_name", "user__username")
    ctx = {
        "clinic": clinic,
        "memberships": memberships,
        "patient_count": clinic.patients.count(),
        "is_lead": access.is_clinic_lead(request.user, clinic),
    }
    return render(request, "patients/clinic_detail.html", ctx)
