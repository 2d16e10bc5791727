"""CDS Hooks 2.0 services: the engine's cards and a low-dose titration plan inside the EHR.

Only prefetched data is read (the service never calls the EHR's FHIR server); a missing
required prefetch key is answered with 412. The clinical work is the engine's: this module maps
FHIR in (through the import mapper) and engine cards out (CDS Hooks card JSON).
"""

import logging
import uuid
from datetime import date

from django.urls import reverse
from django.utils import timezone

from trialplanner import engine
from trialplanner.catalog import selectors as catalog
from trialplanner.catalog.models import Indication, Source
from trialplanner.clinictime import clinic_today
from trialplanner.engine.types import Sex
from trialplanner.interop.cds_input import BadRequest, HookRequest, OrderContext
from trialplanner.interop.fhir_export import draft_medication_request
from trialplanner.interop.fhir_import import PATIENT_REFERENCE, _Catalog, _text, map_bundle
from trialplanner.interop.models import CdsCard
from trialplanner.patients.models import Patient
from trialplanner.plans.models import FollowUp, Plan, Step

log = logging.getLogger(__name__)
OVERRIDE_SYSTEM = "urn:trialplanner:override-reason"
PATIENT = "Patient/{{context.patientId}}"
# CDS Hooks 2.0 card.summary: "One-sentence, <140-character summary message" (strictly fewer than 140).
SUMMARY_LIMIT = 140
ORDER_PREFETCH = {
    "patient": PATIENT,
    "conditions": "Condition?patient={{context.patientId}}&clinical-status=active",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
    "statements": "MedicationStatement?patient={{context.patientId}}",
    "qtc": "Observation?patient={{context.patientId}}&code=http://loinc.org|8636-3&_sort=-date&_count=1",
    "potassium": "Observation?patient={{context.patientId}}&code=http://loinc.org|2823-3&_sort=-date&_count=1",
    "magnesium": "Observation?patient={{context.patientId}}&code=http://loinc.org|2601-3&_sort=-date&_count=1",
    "sodium": "Observation?patient={{context.patientId}}&code=http://loinc.org|2951-2&_sort=-date&_count=1",
}
# Without these the assessment would silently miss risks: answer 412 instead.
ORDER_REQUIRED = ("patient", "conditions", "medications")

SERVICES = {
    "amitriptyline-order-select": {
        "hook": "order-select",
        "title": "Low-dose amitriptyline checks",
        "description": "Cited safety cards for an amitriptyline order, and a low-dose titration plan to replace a "
        "fixed dose.",
        "prefetch": ORDER_PREFETCH,
        "required": ORDER_REQUIRED,
    },
    "amitriptyline-order-sign": {
        "hook": "order-sign",
        "title": "Low-dose amitriptyline checks before signing",
        "description": "The same cited safety cards when an amitriptyline order is signed.",
        "prefetch": ORDER_PREFETCH,
        "required": ORDER_REQUIRED,
    },
    "amitriptyline-follow-up": {
        "hook": "patient-view",
        "title": "Amitriptyline trial follow-up",
        "description": "Reports a due or overdue follow-up of an active low-dose amitriptyline plan.",
        "prefetch": {"patient": PATIENT},
        "required": ("patient",),
    },
}

# Reasons offered when overriding a card, by the rule's action (catalog Rule.action).
OVERRIDE_REASONS = {
    "avoid": [
        ("benefit-outweighs-risk", "Benefit outweighs the risk; discussed with the patient"),
        ("specialist-advice", "Specialist advice obtained"),
        ("not-applicable", "Does not apply to this patient"),
    ],
    "adjust": [
        ("dose-adjusted", "Dose or timing adjusted as advised"),
        ("benefit-outweighs-risk", "Benefit outweighs the risk; discussed with the patient"),
        ("not-applicable", "Does not apply to this patient"),
    ],
    "monitor": [
        ("monitoring-arranged", "Monitoring arranged"),
        ("already-monitored", "Already monitored elsewhere"),
        ("not-applicable", "Does not apply to this patient"),
    ],
}


class PrefetchMissing(Exception):
    """Required prefetch data is absent (412)."""


def discovery(base_url: str) -> dict:
    return {
        "services": [
            {
                "hook": spec["hook"],
                "title": spec["title"],
                "description": spec["description"],
                "id": service_id,
                "prefetch": spec["prefetch"],
            }
            for service_id, spec in SERVICES.items()
        ]
    }


def _check_prefetch(service_id, request: HookRequest) -> dict:
    """The prefetched values of the expected types. A required key that is missing, or that holds anything
    else (an OperationOutcome from a failed search), is 412: the checks would silently lack its data.
    An optional key of the wrong type is left out."""
    prefetch = request.prefetch or {}
    required = SERVICES[service_id]["required"]
    missing = [key for key in required if prefetch.get(key) is None]
    if missing:
        raise PrefetchMissing(f"missing prefetch: {', '.join(missing)}")
    kept = {}
    for key, value in prefetch.items():
        wanted = "Patient" if key == "patient" else "Bundle"
        if value is None:
            continue
        if value.get("resourceType") != wanted:
            if key in required:
                raise PrefetchMissing(f"prefetch {key} is a {value.get('resourceType')}, not a {wanted}")
            log.warning("CDS Hooks: optional prefetch %s left out (a %s)", key, value.get("resourceType"))
            continue
        kept[key] = value
    return kept


def _prefetch_bundle(prefetch) -> dict:
    """The prefetched resources as one collection Bundle, for the import mapper."""
    entries = []
    for value in prefetch.values():
        if not isinstance(value, dict):
            continue
        if value.get("resourceType") == "Bundle":
            for entry in value.get("entry") or []:
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                    entries.append({"resource": entry["resource"]})
        elif value.get("resourceType"):
            entries.append({"resource": value})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _engine_profile(preview, on: date) -> engine.PatientProfile:
    born, sex = preview.patient.get("date_of_birth"), preview.patient.get("sex")
    if born is None or not sex:
        raise BadRequest("the prefetched Patient needs birthDate and a gender of female or male")
    fields = preview.profile_fields()
    return engine.PatientProfile(
        age=_age(born, on),
        sex=Sex(sex),
        conditions=frozenset(c.slug for c in preview.mapped_conditions),
        medications=tuple(engine.Medication(m.name, m.stopped_on) for m in preview.medicines),
        qtc_ms=fields.get("qtc_ms"),
        potassium=fields.get("potassium"),
        magnesium=fields.get("magnesium"),
        sodium=fields.get("sodium"),
        ecg_on=fields.get("ecg_date"),
        bloods_on=fields.get("bloods_date"),
    )


def _source(card, base_url):
    if not card.sources:
        return {"label": "trialplanner catalog", "url": base_url + reverse("catalog:source_list")}
    first = card.sources[0]
    url = Source.objects.filter(key=first.key).values_list("url", flat=True).first() or ""
    return {"label": first.label, "url": url or base_url + reverse("catalog:source_list") + f"#source-{first.key}"}


def _detail(card) -> str:
    lines = [card.detail]
    if card.folded:  # the single-factor cards a stacked card summarises: one card, one override reason
        lines.append("")
        lines.append("**Covers:**")
        lines += [f"- {f.title}" + (f" ({', '.join(f.subjects)})" if f.subjects else "") for f in card.folded]
    if card.sources:
        lines.append("")
        lines.append(
            "**Sources:** "
            + "; ".join(f"{s.label}" + (f" ({s.identifier})" if s.identifier else "") for s in card.sources)
        )
    return "\n".join(lines)


class _Response:
    def __init__(self, caller, service_id, request: HookRequest, base_url):
        self.caller = caller
        self.service_id = service_id
        self.hook_instance = request.hookInstance[:100]
        self.base_url = base_url
        self.cards = []

    def add(self, code, indicator, summary, **extra):
        card_uuid = uuid.uuid4()
        if len(summary) >= SUMMARY_LIMIT:
            summary = summary[: SUMMARY_LIMIT - 2].rstrip() + "…"
        CdsCard.objects.create(
            uuid=card_uuid,
            client=self.caller.client,
            service=self.service_id,
            hook_instance=self.hook_instance,
            code=code[:60],
            indicator=indicator,
            summary=summary,
        )
        card = {"uuid": str(card_uuid), "summary": summary, "indicator": indicator, **extra}
        card.setdefault("source", {"label": "trialplanner", "url": self.base_url + "/"})
        self.cards.append(card)
        return card

    def engine_card(self, card):
        extra = {"detail": _detail(card), "source": _source(card, self.base_url)}
        if card.indicator.value != "info":
            extra["overrideReasons"] = [
                {"code": code, "system": OVERRIDE_SYSTEM, "display": display}
                for code, display in OVERRIDE_REASONS[card.action.value]
            ]
        return self.add(card.code, card.indicator.value, card.summary, **extra)


def _amitriptyline_orders(context: OrderContext, lookup):
    """The draft amitriptyline orders for the patient in context (a draft naming anyone else is left out)."""
    orders = []
    for entry in context.draftOrders.get("entry") or []:
        resource = (entry or {}).get("resource") or {}
        if resource.get("resourceType") != "MedicationRequest":
            continue
        subject = (resource.get("subject") or {}).get("reference") or ""
        if not _names(subject, context.patientId):
            log.warning("CDS Hooks: a draft MedicationRequest about another patient was ignored")
            continue
        if lookup.is_amitriptyline(resource.get("medicationCodeableConcept") or {}):
            orders.append(resource)
    return orders


def _names(reference: str, patient_id: str) -> bool:
    match = PATIENT_REFERENCE.search(reference)
    return bool(match) and match.group(1) == f"Patient/{patient_id}"


def _indication(order, lookup):
    for reason in order.get("reasonCode") or []:
        found = lookup.lookup(lookup.indications, reason)
        if found is not None:
            return found
    return None


def _suggestion(order, indication, assessment, today, patient_id):
    """Replace a fixed-dose order with the engine's low-dose titration plan, as an update action."""
    if len(order.get("dosageInstruction") or []) > 1:
        return None
    indication = Indication.objects.select_related("protocol").get(pk=indication.pk)
    from trialplanner.plans.services import plan_options

    try:
        draft = engine.build_plan(
            catalog.protocol_facts(indication.protocol), assessment, today, plan_options(), catalog.rulebook()
        )
    except engine.EngineError:
        return None
    plan = Plan(indication=indication, status=Plan.Status.DRAFT, supply_limit_days=draft.supply_limit_days)
    plan.created_at = timezone.now()
    steps = [
        Step(
            number=s.number,
            kind=s.kind.value,
            start_date=s.start,
            end_date=s.end,
            dose_mg=s.dose_mg,
            tablets=[{"strength_mg": f"{t.strength_mg.normalize():f}", "count": t.count} for t in s.tablets],
            liquid_ml=s.liquid_ml,
            liquid_label=s.dispense.liquid_strength.label if s.dispense.liquid_strength else "",
        )
        for s in draft.steps
    ]
    resource = draft_medication_request(plan, steps, subject_reference=f"Patient/{patient_id}")
    if resource is None:
        return None
    resource.pop("identifier", None)
    resource.pop("authoredOn", None)
    resource["id"] = order.get("id") or resource["id"]
    resource["status"] = order.get("status") or "draft"
    resource["intent"] = order.get("intent") or "order"
    first, last = draft.steps[0], draft.steps[-1]
    return {
        "label": (
            f"Use the low-dose plan: {first.dose_mg.normalize():f} mg at night rising to "
            f"{draft.target_mg.normalize():f} mg over {len(draft.steps)} steps (to {last.end:%d %b %Y})"
        ),
        "uuid": str(uuid.uuid4()),
        "isRecommended": True,
        "actions": [
            {
                "type": "update",
                "description": f"Replace the fixed dose with a titration for {indication.name}",
                "resource": resource,
            }
        ],
    }


def order_hook(service_id, request: HookRequest, context: OrderContext, caller, base_url) -> dict:
    """order-select / order-sign: cards for the amitriptyline draft orders, from prefetched data only.

    Prefetched records about anyone but the patient in context are not read: the service logs how
    many and says so on an info card, since the checks then ran on what is left.
    """
    lookup = _Catalog()
    orders = _amitriptyline_orders(context, lookup)
    if not orders:
        return {"cards": []}, None
    prefetch = _check_prefetch(service_id, request)
    patient_id = context.patientId
    today = clinic_today(caller.client.clinic)
    preview = map_bundle(
        _prefetch_bundle(prefetch), today=today, patient_refs={f"Patient/{patient_id}"}, fhir_base=request.fhirServer
    )
    profile = _engine_profile(preview, today)  # checked by assess_risk below
    response = _Response(caller, service_id, request, base_url)
    if preview.other_subject:
        log.warning("CDS Hooks: %d prefetched records about another patient were ignored", len(preview.other_subject))
        response.add(
            "prefetch-other-patient",
            "warning",
            f"{len(preview.other_subject)} prefetched records named another patient and were not checked",
            detail="The EHR sent records whose subject is not this patient. They were left out, so these checks "
            "ran without them: confirm this patient's medicines, conditions and results in the chart.",
        )
    rulebook = catalog.rulebook()
    for order in orders:
        indication = _indication(order, lookup)
        if indication is None:
            response.add(
                "indication-not-recognised",
                "info",
                "Add a reason for this amitriptyline order to get the low-dose checks and titration plan.",
                detail="The order's reasonCode matched no indication in the trialplanner catalog "
                f"({'; '.join(_text(r) for r in order.get('reasonCode') or []) or 'no reason given'}).",
            )
            continue
        indication = Indication.objects.select_related("protocol").get(pk=indication.pk)
        try:
            assessment = engine.assess_risk(
                profile,
                catalog.indication_facts(indication),
                catalog.protocol_facts(indication.protocol),
                rulebook,
                today,
            )
        except engine.EngineInputError as exc:
            raise BadRequest(f"prefetched data the checks cannot use: {exc}") from None
        for card in assessment.cards:
            response.engine_card(card)
        if assessment.unrecognised_medications:
            names = ", ".join(assessment.unrecognised_medications)
            response.add(
                "medicines-not-checked",
                "info",
                f"Not checked against amitriptyline: {names}",
                detail="These medicines matched nothing in the catalog, so no interaction check ran for them.",
            )
        if service_id == "amitriptyline-order-select":
            suggestion = _suggestion(order, indication, assessment, today, patient_id)
            if suggestion is not None:
                response.add(
                    "low-dose-titration",
                    "info",
                    f"Low-dose titration plan available for {indication.name}",
                    detail="Start low, go slow: the plan below steps the nightly dose up within the catalog's "
                    "range for this indication, with one dosage per step.",
                    suggestions=[suggestion],
                    selectionBehavior="at-most-one",
                )
    return {"cards": response.cards}, None


def patient_view_hook(service_id, request: HookRequest, context, caller, base_url) -> dict:
    """patient-view: a due or overdue follow-up of an active plan, matched by the client's identifier system."""
    prefetch = _check_prefetch(service_id, request)
    patient = prefetch["patient"]
    values = [
        i.get("value")
        for i in patient.get("identifier") or []
        if i.get("system") == caller.client.patient_identifier_system and i.get("value")
    ]
    clinic = caller.client.clinic
    match = Patient.objects.filter(clinic=clinic, mrn__in=values).first() if values else None
    response = _Response(caller, service_id, request, base_url)
    if match is None:
        return {"cards": []}, None
    today = clinic_today(clinic)
    followup = (
        FollowUp.objects.filter(plan__patient=match, plan__status=Plan.Status.ACTIVE, worklist_date__lte=today)
        .select_related("plan")
        .order_by("worklist_date")
        .first()
    )
    if followup is None:
        return {"cards": []}, match
    overdue = followup.worklist_date < today
    when = f"overdue since {followup.worklist_date:%d %b %Y}" if overdue else "due today"
    response.add(
        "follow-up-overdue" if overdue else "follow-up-due",
        "warning" if overdue else "info",
        f"Amitriptyline trial: {followup.get_kind_display().lower()} {when}",
        detail=f"Record the review in trialplanner: {followup.get_kind_display()} of the active plan.",
        links=[
            {
                "label": "Open the plan in trialplanner",
                "url": base_url + followup.plan.get_absolute_url(),
                "type": "absolute",
            }
        ],
    )
    return {"cards": response.cards}, match
