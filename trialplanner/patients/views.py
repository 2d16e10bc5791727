from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone

from trialplanner.patients import access

PATIENTS_PER_PAGE = 25


def patient_list(request):
    query = request.GET.get("q", "").strip()[:100]
    patients = access.patients_for(request.user).select_related("clinic")
    if query:
        patients = patients.filter(Q(display_name__icontains=query) | Q(mrn__icontains=query))
    page = Paginator(patients.order_by("display_name", "id"), PATIENTS_PER_PAGE).get_page(request.GET.get("page"))
    ctx = {"page": page, "query": query, "today": timezone.localdate(), "clinics": access.clinics_for(request.user)}
    return render(request, "patients/patient_list.html", ctx)


def patient_detail(request, patient_uuid):
    patient = access.get_patient_for_user(request.user, patient_uuid)
    ctx = {"patient": patient, "age": patient.age_on(timezone.localdate())}
    return render(request, "patients/patient_detail.html", ctx)


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
