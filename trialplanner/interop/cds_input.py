"""CDS Hooks request and feedback bodies, read into typed shapes before any service looks at them.

Every body is first read by `inputs.read_json` (size, depth, finite numbers, text rules), then by
the pydantic models below (types, lengths, ranges), and the FHIR resources it carries (the draft
orders and each prefetched resource) by the R4B models of fhir.resources. Any failure is a
`BadRequest` naming the place in the body, which the view answers with 400: a hostile or broken
EHR request never reaches the mapper, the engine or the database as anything but these shapes.
"""

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from django.utils import timezone
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, Strict, StringConstraints, ValidationError

from trialplanner.inputs import JsonInputError, json_path, read_json
from trialplanner.interop.fhir_validation import resource_errors
from trialplanner.patients.forms import EARLIEST_BIRTH

MAX_BODY_BYTES = 1024 * 1024
# Context and prefetched FHIR resources are a few levels deep; far deeper would exhaust the JSON parser's stack.
MAX_BODY_DEPTH = 64
MAX_FEEDBACK_ITEMS = 100
# A feedback outcome is recorded when the clinician acts; an EHR may send it late, but not from
# before the service existed or from the future (beyond clock drift).
FEEDBACK_PAST = timedelta(days=366)
FEEDBACK_AHEAD = timedelta(minutes=5)

# FHIR's id datatype: [A-Za-z0-9\-\.]{1,64}.
FhirId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]{1,64}$")]
Short = Annotated[str, StringConstraints(max_length=300)]


class BadRequest(Exception):
    """The hook request is not of the expected shape (400); the message names where."""


class _Shape(BaseModel):
    # strict: no "1" for 1, no 1 for True; unknown members are allowed (CDS Hooks lets clients add them).
    model_config = ConfigDict(strict=True, extra="ignore")


class HookRequest(_Shape):
    hook: Short
    hookInstance: Short  # noqa: N815 - the CDS Hooks member names
    fhirServer: Short | None = None  # noqa: N815
    fhirAuthorization: dict[str, Any] | None = None  # noqa: N815
    context: dict[str, Any]
    prefetch: dict[str, dict[str, Any] | None] | None = None


class PatientViewContext(_Shape):
    userId: Short  # noqa: N815
    patientId: FhirId  # noqa: N815
    encounterId: FhirId | None = None  # noqa: N815


class OrderContext(PatientViewContext):
    selections: list[Short] = Field(default_factory=list, max_length=500)
    draftOrders: dict[str, Any]  # noqa: N815 - a FHIR Bundle, checked by the FHIR models


class Coding(_Shape):
    code: Annotated[str, StringConstraints(max_length=100)] = ""
    system: Short | None = None
    display: Short | None = None


class OverrideReason(_Shape):
    reason: Coding | None = None
    userComment: Annotated[str, StringConstraints(max_length=2000)] | None = None  # noqa: N815


class AcceptedSuggestion(_Shape):
    id: Annotated[str, StringConstraints(max_length=100)]


class FeedbackItem(_Shape):
    card: Annotated[UUID, Strict(False)]
    outcome: Literal["accepted", "overridden"]
    outcomeTimestamp: Annotated[AwareDatetime, Strict(False)]  # noqa: N815
    acceptedSuggestions: list[AcceptedSuggestion] = Field(default_factory=list, max_length=50)  # noqa: N815
    overrideReason: OverrideReason | None = None  # noqa: N815


class FeedbackBody(_Shape):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=MAX_FEEDBACK_ITEMS)


CONTEXTS = {"order-select": OrderContext, "order-sign": OrderContext, "patient-view": PatientViewContext}


def _first_error(exc: ValidationError, prefix=()) -> str:
    err = exc.errors()[0]
    where = json_path([*prefix, *err["loc"]])
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {err['msg']}{more}"


def read_body(raw: bytes, shape: type[BaseModel]):
    """The body read by read_json's rules, then typed as `shape`; BadRequest naming the place otherwise."""
    try:
        data = read_json(raw, max_bytes=MAX_BODY_BYTES, max_depth=MAX_BODY_DEPTH)
    except JsonInputError as exc:
        raise BadRequest(f"request body: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    try:
        return shape.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(_first_error(exc)) from None


def _fhir_problem(resource: dict) -> str | None:
    """The first structural problem of one FHIR resource (any type, a Bundle included), or None."""
    if not isinstance(resource.get("resourceType"), str):
        return "resourceType: missing"
    errors = resource_errors(resource)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return errors[0] + more if errors else None


def hook_request(raw: bytes, *, hook: str, today: date) -> tuple[HookRequest, PatientViewContext]:
    """The request and its hook's context, or BadRequest; FHIR resources inside are checked too."""
    request = read_body(raw, HookRequest)
    if request.hook != hook:
        raise BadRequest(f"this service answers the {hook} hook")
    try:
        context = CONTEXTS[hook].model_validate(request.context)
    except ValidationError as exc:
        raise BadRequest(_first_error(exc, ("context",))) from None
    if isinstance(context, OrderContext):
        if context.draftOrders.get("resourceType") != "Bundle":
            raise BadRequest("context.draftOrders must be a FHIR Bundle")
        problem = _fhir_problem(context.draftOrders)
        if problem:
            raise BadRequest(f"context.draftOrders: {problem}")
    for key, value in (request.prefetch or {}).items():
        if value is None:
            continue
        problem = _fhir_problem(value)
        if problem:
            raise BadRequest(f"prefetch.{key[:40]}: {problem}")
    patient = (request.prefetch or {}).get("patient")
    if patient is not None:
        _check_patient(patient, context.patientId, today)
    return request, context


def _check_patient(patient: dict, patient_id: str, today: date) -> None:
    """The prefetched Patient is the one in context, born on a believable day."""
    if patient.get("resourceType") != "Patient" or patient.get("id") != patient_id:
        raise BadRequest(
            f"prefetch.patient must be Patient/{patient_id}, the context's patientId "
            f"(it is {patient.get('resourceType', '?')}/{str(patient.get('id', '?'))[:64]})"
        )
    born = patient.get("birthDate")
    if born is None:
        return
    if not isinstance(born, str):
        raise BadRequest("prefetch.patient.birthDate: must be a FHIR date (YYYY-MM-DD)")
    try:
        day = date.fromisoformat(born) if len(born) == 10 else None
    except ValueError:
        day = None
    if day is not None and not EARLIEST_BIRTH <= day <= today:
        raise BadRequest(
            f"prefetch.patient.birthDate: {born} is not a believable date of birth "
            f"(from {EARLIEST_BIRTH.isoformat()} to today)"
        )


def feedback_items(raw: bytes) -> list[dict]:
    """The feedback items as the fields of CdsFeedback rows (plus card_uuid), or BadRequest."""
    body = read_body(raw, FeedbackBody)
    now = timezone.now()
    parsed = []
    for n, item in enumerate(body.feedback):
        when: datetime = item.outcomeTimestamp
        if not now - FEEDBACK_PAST <= when <= now + FEEDBACK_AHEAD:
            raise BadRequest(f"feedback[{n}].outcomeTimestamp: must be within the last year and not in the future")
        overridden = item.outcome == "overridden"
        override = item.overrideReason or OverrideReason()
        reason = override.reason or Coding()
        parsed.append(
            {
                "card_uuid": item.card,
                "outcome": item.outcome,
                "accepted_suggestions": [s.id for s in item.acceptedSuggestions if s.id],
                "override_code": reason.code if overridden else "",
                "override_display": (reason.display or "") if overridden else "",
                "user_comment": (override.userComment or "") if overridden else "",
                "outcome_at": when,
            }
        )
    return parsed
