"""Checks of FHIR JSON: structure with the R4B models of fhir.resources (whose MedicationRequest,
Dosage and Timing equal R4's), and the invariants that matter evaluated with fhirpathpy.

fhir.resources checks types and cardinality only (it accepts a Timing with both `when` and
`timeOfDay`), so the invariants are evaluated separately.
"""

import re
from datetime import date

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource
from fhirpathpy import evaluate
from fhirpathpy.models import models
from pydantic import ValidationError

from trialplanner.inputs import json_path

R4 = models["r4"]
RESOURCE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}")

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
    return resource_errors(bundle, Bundle)


def resource_errors(resource: dict, model=None) -> list[str]:
    """Messages for every structural problem of one resource of any type (of `model`, if given)."""
    errors = _resource_type_errors(resource)
    if errors:
        return errors
    if model is None:
        model = get_fhir_model_class(resource["resourceType"])
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        return [f"{json_path(err['loc'])}: {err['msg']}" for err in exc.errors()]
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # fhir.resources failing on odd input
        return [f"not readable as FHIR R4 ({exc.__class__.__name__})"]
    return []


def _resource_type_errors(data) -> list[str]:
    """Every `resourceType` must name a FHIR resource (fhir.resources fails with TypeError on others), and
    every entry's or contained resource must have one (fhir.resources reads one without as a bare Resource)."""
    errors, stack = [], [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            holds_resource = path[-1:] == ("resource",) or path[-2:-1] == ("contained",)
            if holds_resource and "resourceType" not in value:
                errors.append(f"{json_path([*path, 'resourceType'])}: missing")
            elif "resourceType" in value:
                kind = value["resourceType"]
                if not (isinstance(kind, str) and _is_resource(kind)):
                    shown = kind[:40] if isinstance(kind, str) else type(kind).__name__
                    errors.append(f"{json_path([*path, 'resourceType'])}: {shown!r} is not a FHIR R4 resource type")
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, n), v) for n, v in enumerate(value))
    return errors


def _is_resource(kind: str) -> bool:
    if not RESOURCE_NAME.fullmatch(kind):
        return False
    try:
        return issubclass(get_fhir_model_class(kind), Resource)  # "Coding" is a data type, not a resource
    except ValueError:
        return False


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
