"""Checks of FHIR JSON: structure with the R4B models of fhir.resources (whose MedicationRequest,
Dosage and Timing equal R4's), and the invariants that matter evaluated with fhirpathpy.

fhir.resources checks types and cardinality only (it accepts a Timing with both `when` and
`timeOfDay`), so the invariants are evaluated separately.
"""

from datetime import date

from fhir.resources.R4B.bundle import Bundle
from fhirpathpy import evaluate
from fhirpathpy.models import models
from pydantic import ValidationError

R4 = models["r4"]

# (resource type, key, FHIRPath expression that must be true). tim-*: Timing invariants of R4.
INVARIANTS = [
    ("Bundle", "bdl-7", "entry.where(fullUrl.exists()).select(fullUrl).isDistinct()"),
    ("MedicationRequest", "tim-10", "dosageInstruction.timing.repeat.all(timeOfDay.empty() or when.empty())"),
    ("MedicationRequest", "tim-1", "dosageInstruction.timing.repeat.all(duration.empty() or durationUnit.exists())"),
    ("MedicationRequest", "tim-5", "dosageInstruction.timing.repeat.all(period.empty() or period >= 0)"),
    ("MedicationRequest", "tim-6", "dosageInstruction.timing.repeat.all(periodMax.empty() or period.exists())"),
    (
        "MedicationRequest",
        "per-1",
        "dosageInstruction.timing.repeat.boundsPeriod.all(start.empty() or end.empty() or start <= end)",
    ),
    ("MedicationRequest", "dosage-text", "dosageInstruction.all(text.exists())"),
    ("MedicationRequest", "dosage-mg", "dosageInstruction.doseAndRate.doseQuantity.all(code = 'mg')"),
    (
        "Observation",
        "obs-7",
        "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()",
    ),
    ("CarePlan", "cpl-3", "activity.all(detail.empty() or reference.empty())"),
]


def structure_errors(bundle: dict) -> list[str]:
    """Messages for every structural problem, empty when the Bundle parses as FHIR R4B."""
    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        return [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
    return []


def _resources(bundle):
    yield bundle
    for entry in bundle.get("entry", []):
        resource = entry.get("resource")
        if isinstance(resource, dict):
            yield resource


def invariant_errors(bundle: dict) -> list[str]:
    """Messages for every invariant that does not hold, plus dosage order and reference checks."""
    errors = []
    for resource in _resources(bundle):
        kind = resource.get("resourceType")
        for resource_type, key, expression in INVARIANTS:
            if kind != resource_type:
                continue
            result = evaluate(resource, expression, {"resource": resource}, R4)
            if result != [True]:
                errors.append(f"{kind}/{resource.get('id', '?')}: {key} fails ({expression})")
        if kind == "MedicationRequest":
            errors.extend(_dosage_order(resource))
    errors.extend(_unresolved_references(bundle))
    return errors


def _dosage_order(request):
    """Ascending `sequence` means consecutive steps (NHS dose syntax): sequences 1..n, periods back to back."""
    rid = request.get("id", "?")
    sequences = evaluate(request, "dosageInstruction.sequence", {}, R4)
    if sequences != list(range(1, len(sequences) + 1)) or len(sequences) != len(request.get("dosageInstruction", [])):
        return [f"MedicationRequest/{rid}: dosage sequences {sequences} are not 1..n"]
    starts = evaluate(request, "dosageInstruction.timing.repeat.boundsPeriod.start", {}, R4)
    ends = evaluate(request, "dosageInstruction.timing.repeat.boundsPeriod.end", {}, R4)
    errors = []
    for n in range(1, min(len(starts), len(ends))):
        gap = (date.fromisoformat(str(starts[n])) - date.fromisoformat(str(ends[n - 1]))).days
        if gap != 1:
            errors.append(f"MedicationRequest/{rid}: step {n + 1} does not start the day after step {n} ends")
    return errors


def _unresolved_references(bundle):
    urls = {entry.get("fullUrl") for entry in bundle.get("entry", [])}
    refs = evaluate(bundle, "entry.resource.descendants().reference", {}, R4)
    dangling = [r for r in refs if str(r).startswith("urn:") and r not in urls]
    return [f"reference {r} does not resolve in the Bundle" for r in dangling]
