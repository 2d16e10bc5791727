"""The clinic outcome review page and its CSV export (clinicians and leads of the clinic)."""

from django.http import Http404
from django.shortcuts import render

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.catalog.models import Indication
from trialplanner.clinictime import clinic_today
from trialplanner.csvexport import csv_response
from trialplanner.outcomes import review as rv
from trialplanner.outcomes.forms import ReviewFilterForm
from trialplanner.patients.access import memberships_for


def _review(request):
    memberships = memberships_for(request.user)
    if not memberships:
        raise Http404("No clinic.")
    clinics = {str(m.clinic.uuid): m.clinic for m in memberships}
    indications = list(Indication.objects.select_related("outcome_measure", "protocol").order_by("display_order"))
    by_slug = {i.slug: i for i in indications}
    today = clinic_today(memberships[0].clinic)
    form = ReviewFilterForm(
        request.GET or None,
        clinics=[(key, c.name) for key, c in clinics.items()],
        indications=[(i.slug, i.name) for i in indications],
        today=today,
    )
    chosen = form.chosen()
    clinic = clinics.get(str(chosen["clinic"]), memberships[0].clinic)
    today = clinic_today(clinic)
    indication = by_slug.get(chosen.get("indication") or "")
    result = rv.clinic_review(
        clinic=clinic, indication=indication, start=chosen["start"], end=chosen["end"], today=today
    )
    return form, result


def outcome_review(request):
    form, result = _review(request)
    audit_log(AuditEvent.Action.VIEW, clinic=result.clinic, object_type="outcome_review", detail=_detail(result))
    query = request.GET.urlencode()
    ctx = {"form": form, "review": result, "query": query, "small_cell": rv.SMALL_CELL, "own_words": rv.OWN_WORDS}
    return render(request, "outcomes/review.html", ctx)


def outcome_review_csv(request):
    form, result = _review(request)
    audit_log(
        AuditEvent.Action.PRINT, clinic=result.clinic, object_type="outcome_review", detail="CSV: " + _detail(result)
    )
    header = ["Section", "Figure", "Count", "Denominator", "Percent"]
    preamble = [
        ["Clinic", result.clinic.name, "", "", ""],
        ["Indication", result.indication.name if result.indication else "All indications", "", "", ""],
        ["Trials started", f"{result.start.isoformat()} to {result.end.isoformat()}", "", "", ""],
        ["Note", f"Counts from 1 to {rv.SMALL_CELL - 1} are shown as <{rv.SMALL_CELL}.", "", "", ""],
    ]
    filename = f"outcomes-{result.start.isoformat()}-{result.end.isoformat()}.csv"
    return csv_response(filename, header, [*preamble, *rv.export_rows(result)])


def _detail(result):
    which = result.indication.slug if result.indication else "all"
    return f"{which} {result.start.isoformat()}..{result.end.isoformat()}"
