"""The JSON plan request of docs/plan-request.md: parse, validate, build, serialise.

No database writes: the catalog is read, the engine builds, the result is printed.
"""

import json
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from trialplanner import engine
from trialplanner.catalog import selectors as catalog
from trialplanner.catalog.models import Condition, Indication
from trialplanner.engine.checks import without_checks_on_file
from trialplanner.engine.risk import BASELINE_ECG, ELECTROLYTES, LYING_STANDING_BP, SODIUM
from trialplanner.engine.types import PHENOTYPES_BY_GENE, Alcohol, Phenotype, Sex
from trialplanner.inputs import nesting_depth, text_problem
from trialplanner.patients.selectors import with_profile_findings
from trialplanner.plans import dates, services

# A real request is a few kilobytes and three levels deep; anything far beyond is refused
# before parsing, so a huge or deeply nested file cannot exhaust memory or the parser's stack.
MAX_REQUEST_CHARS = 100_000
MAX_DEPTH = 10

PATIENT_FLAGS = ["frail", "falls", "pregnant", "breastfeeding", "self_harm_last_12_months"]

# Unknown keys are never silently dropped: the response lists them under `ignored_fields` and the
# command prints a warning naming each, so a misspelt risk factor is seen, while an extra field
# (a case id, a note) does not stop the plan from being built.
REQUEST_KEYS = {
    "indication", "start_date", "patient", "conditions", "medications", "qtc_ms", "previous_qtc_ms",
    "ecg_date", "cyp2d6", "cyp2c19", "potassium_mmol_l", "potassium", "magnesium_mmol_l", "magnesium",
    "sodium_mmol_l", "sodium", "bloods_date", "blood_pressure", "options",
}  # fmt: skip
PATIENT_KEYS = {"age", "sex", "alcohol", "weight_kg", *PATIENT_FLAGS}
OPTION_KEYS = {"target_mg", "strength_mg"}
BP_KEYS = {
    "lying_systolic": "bp_lying_systolic", "lying_diastolic": "bp_lying_diastolic",
    "standing_systolic": "bp_standing_systolic", "standing_diastolic": "bp_standing_diastolic",
}  # fmt: skip


class RequestError(Exception):
    """The request is invalid; the message names the field."""

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")


def _date(field, raw):
    if not isinstance(raw, str):
        raise RequestError(field, "must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise RequestError(field, f"{raw!r} is not a date as YYYY-MM-DD") from None


def _decimal(field, raw):
    if isinstance(raw, bool) or not isinstance(raw, int | float | str) or (isinstance(raw, str) and not raw.isascii()):
        raise RequestError(field, "must be a number (digits 0-9)")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise RequestError(field, f"{raw!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise RequestError(field, "must be a positive number")
    return value


def _choice(field, raw, enum, allow_none=False):
    if raw is None and allow_none:
        return None
    try:
        return enum(raw)
    except ValueError:
        allowed = ", ".join(repr(e.value) for e in enum)
        raise RequestError(field, f"must be one of {allowed}{' or null' if allow_none else ''}") from None


NOT_WORDS = {"a", "an", "and", "incl", "of", "or", "the", "with"}


def _words(text):
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in NOT_WORDS}


def read_as(field, entered, names, notes):
    """The catalog slug an entry names: the slug itself (any case, spaces or underscores), the
    catalog name, its initials ("IBS"), or the one entry whose words hold every word given
    ("migraine", "heart failure"). Anything else, or a word that fits several, is refused naming
    the choices; a reading other than the slug itself is reported in `notes` (the response's
    `read_as`).
    """
    if not isinstance(entered, str) or not entered.strip():
        raise RequestError(field, f"must be one of {', '.join(names)}")
    text = entered.strip()
    slug = re.sub(r"[\s_]+", "-", text.lower())
    if slug in names:
        return slug
    given = _words(text)
    exact = [s for s, name in names.items() if given in (_words(name), _words(re.sub(r"\(.*?\)", "", name)))]
    initials = [s for s in names if len(text) > 1 and text.lower() == "".join(w[0] for w in s.split("-"))]
    within = [s for s, name in names.items() if given and given <= (_words(name) | _words(s))]
    for found in (exact, initials, within):
        if len(found) == 1:
            notes.append(f"{field}: {text!r} read as {found[0]}")
            return found[0]
    choices = ", ".join((exact or initials or within) or names)
    raise RequestError(field, f"unknown {text!r}; use one of {choices}")


def _unknown_keys(field, given, allowed, ignored):
    """Record each key the request format does not have (as `field.key`) in `ignored`."""
    prefix = f"{field}." if field else ""
    ignored.extend(f"{prefix}{key}" for key in sorted(set(given) - allowed, key=str))


def _whole(field, raw, low, high, unit):
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise RequestError(field, f"must be a whole number of {unit} from {low} to {high}, or null")
    return raw


def _phenotype(gene, raw, allowed):
    if raw is None:
        return None
    if raw not in [p.value for p in allowed]:
        names = ", ".join(repr(p.value) for p in allowed)
        raise RequestError(gene, f"must be one of {names} or null (the {gene.upper()} phenotypes)")
    return Phenotype(raw)


def check_size(text: str) -> None:
    if len(text) > MAX_REQUEST_CHARS:
        raise RequestError("request", f"too large (more than {MAX_REQUEST_CHARS:,} characters)")
    if nesting_depth(text) > MAX_DEPTH:
        raise RequestError("request", f"nested too deeply (more than {MAX_DEPTH} levels of [ and {{)")


def _text(field, raw):
    problem = text_problem(raw)
    if problem:
        raise RequestError(field, problem[0].lower() + problem[1:])
    return raw


def parse(text: str):
    """Return (indication, start_date, profile, options, measured, (ignored, readings)) from a JSON request.

    `ignored` lists the fields the request format does not have (reported, never silently dropped);
    `readings` how an indication or condition not given as its slug was read.
    """
    check_size(text)
    try:
        request = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestError("request", f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError):  # e.g. an integer of thousands of digits
        raise RequestError("request", "not a plan request: a value is far too large") from None
    if not isinstance(request, dict):
        raise RequestError("request", "must be a JSON object")
    ignored = []
    patient = request.get("patient")
    if patient is None and "age" in request:
        patient = {}  # the patient's fields written at the top level
    if isinstance(patient, dict):
        # A patient field written at the top level ("self_harm_last_12_months": true) is read as one.
        patient = {**{k: request[k] for k in PATIENT_KEYS if k in request}, **patient}
    _unknown_keys("", request, REQUEST_KEYS | PATIENT_KEYS, ignored)
    names = dict(Indication.objects.values_list("slug", "name"))
    readings = []
    slug = read_as("indication", request.get("indication"), names, readings)
    indication = catalog.indication_by_slug(slug)
    start_date = _date("start_date", request.get("start_date"))
    if not dates.PREVIEW_EARLIEST <= start_date <= dates.PREVIEW_LATEST:
        raise RequestError(
            "start_date", f"must be from {dates.PREVIEW_EARLIEST.isoformat()} to {dates.PREVIEW_LATEST.isoformat()}"
        )

    if not isinstance(patient, dict):
        raise RequestError("patient", "must be an object with age and sex")
    _unknown_keys("patient", patient, PATIENT_KEYS, ignored)
    age = patient.get("age")
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 130:
        raise RequestError("patient.age", "must be a whole number from 0 to 130")
    fields = {"age": age, "sex": _choice("patient.sex", patient.get("sex"), Sex)}
    for flag in PATIENT_FLAGS:
        value = patient.get(flag, False)
        if not isinstance(value, bool):
            raise RequestError(f"patient.{flag}", "must be true or false")
        fields[flag] = value
    fields["alcohol"] = _choice("patient.alcohol", patient.get("alcohol", "none"), Alcohol)
    weight = patient.get("weight_kg")
    fields["weight_kg"] = None if weight is None else _decimal("patient.weight_kg", weight)
    if fields["weight_kg"] is not None and not 1 <= fields["weight_kg"] <= 400:
        raise RequestError("patient.weight_kg", "must be a weight in kg from 1 to 400")

    conditions = request.get("conditions", [])
    if not isinstance(conditions, list) or not all(isinstance(c, str) for c in conditions):
        raise RequestError("conditions", "must be a list of condition slugs")
    known = dict(Condition.objects.values_list("slug", "name"))
    fields["conditions"] = frozenset(
        read_as(f"conditions[{i}]", _text(f"conditions[{i}]", c), known, readings) for i, c in enumerate(conditions)
    )
    fields["medications"] = tuple(_medications(request.get("medications", []), ignored))
    qtc = request.get("qtc_ms")
    if qtc is not None and (isinstance(qtc, bool) or not isinstance(qtc, int)):
        raise RequestError("qtc_ms", "must be a whole number of ms or null")
    fields["qtc_ms"] = qtc
    fields["previous_qtc_ms"] = _whole("previous_qtc_ms", request.get("previous_qtc_ms"), 200, 800, "ms")
    for gene, allowed in PHENOTYPES_BY_GENE.items():
        fields[gene] = _phenotype(gene, request.get(gene), allowed)
    for name in ("potassium", "magnesium"):
        # Latest measured level in mmol/L; the unit-less key is accepted as the same field.
        key = f"{name}_mmol_l" if f"{name}_mmol_l" in request else name
        raw = request.get(key)
        fields[name] = None if raw is None else _decimal(key, raw)

    raw_options = request.get("options", {})
    if not isinstance(raw_options, dict):
        raise RequestError("options", "must be an object")
    _unknown_keys("options", raw_options, OPTION_KEYS, ignored)
    options = {}
    if raw_options.get("target_mg") is not None:
        options["target_mg"] = _decimal("options.target_mg", raw_options["target_mg"])
    if raw_options.get("strength_mg") is not None:
        options["tablet_strength_mg"] = _decimal("options.strength_mg", raw_options["strength_mg"])
    sodium, pressures, on_file, dated = _measured(request, start_date, ignored)
    fields["sodium"] = sodium
    # A result supplied without its date counts as taken on the start date (docs/plan-request.md).
    fields["ecg_on"] = dated["ecg_date"] if qtc is not None else None
    fields["bloods_on"] = dated["bloods_date"]
    return indication, start_date, engine.PatientProfile(**fields), options, (pressures, on_file), (ignored, readings)


def _measured(request, start_date, ignored):
    """Sodium, lying/standing blood pressure and the dates of results on file (reference A.3, checks)."""
    key = "sodium_mmol_l" if "sodium_mmol_l" in request else "sodium"
    sodium = _whole(key, request.get(key), 100, 200, "mmol/L")
    bp = request.get("blood_pressure") or {}
    if not isinstance(bp, dict):
        raise RequestError("blood_pressure", "must be an object of lying and standing mmHg values")
    _unknown_keys("blood_pressure", bp, set(BP_KEYS), ignored)
    pressures = {BP_KEYS[k]: _whole(f"blood_pressure.{k}", bp.get(k), 20, 300, "mmHg") for k in BP_KEYS}
    dated = {}
    for field in ("ecg_date", "bloods_date"):
        raw = request.get(field)
        dated[field] = start_date if raw is None else _date(field, raw)
        if dated[field] > start_date:
            raise RequestError(field, "must not be after the start date")
    on_file = {}
    if request.get("qtc_ms") is not None:  # the QTc supplied comes from an ECG on file
        on_file[BASELINE_ECG] = dated["ecg_date"]
    if (
        request.get("potassium_mmol_l", request.get("potassium")) is not None
        and request.get("magnesium_mmol_l", request.get("magnesium")) is not None
    ):
        on_file[ELECTROLYTES] = dated["bloods_date"]
    if sodium is not None:
        on_file[SODIUM] = dated["bloods_date"]
    if all(v is not None for v in pressures.values()):
        on_file[LYING_STANDING_BP] = start_date
    return sodium, pressures, on_file, dated


MEDICATION_KEYS = {"name", "stopped_on", "confirmed_as", "this_course", "daily_mg"}


def _medications(raw, ignored):
    if not isinstance(raw, list):
        raise RequestError("medications", "must be a list of lines or {name, stopped_on, ...} objects")
    for i, item in enumerate(raw):
        if isinstance(item, str) and item.strip():
            yield engine.Medication(_text(f"medications[{i}]", item.strip()))
        elif isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"].strip():
            _unknown_keys(f"medications[{i}]", item, MEDICATION_KEYS, ignored)
            stopped = item.get("stopped_on")
            confirmed = item.get("confirmed_as") or ""
            if not isinstance(confirmed, str):
                raise RequestError(f"medications[{i}].confirmed_as", "must be a catalog medicine name")
            this_course = item.get("this_course", False)
            if not isinstance(this_course, bool):
                raise RequestError(f"medications[{i}].this_course", "must be true or false")
            daily = item.get("daily_mg")
            daily_mg = None if daily is None else _decimal(f"medications[{i}].daily_mg", daily)
            if daily_mg is not None and not 0 < daily_mg < 100_000:
                raise RequestError(f"medications[{i}].daily_mg", "must be a daily dose in mg above 0")
            yield engine.Medication(
                _text(f"medications[{i}].name", item["name"].strip()),
                _date(f"medications[{i}].stopped_on", stopped) if stopped else None,
                confirmed_as=confirmed.strip(),
                this_course=this_course,
                daily_mg=daily_mg,
            )
        else:
            raise RequestError(f"medications[{i}]", "must be a line of text or an object with a name")


ENGINE_FIELD_NAMES = {
    "target_mg": "options.target_mg",
    "strength_mg": "options.strength_mg",
    "age": "patient.age",
    "potassium": "potassium_mmol_l",
    "magnesium": "magnesium_mmol_l",
    "weight_kg": "patient.weight_kg",
}


def preview(text: str) -> dict:
    """Build the plan described by a JSON request and return the response as a dict."""
    indication, start_date, profile, options, (pressures, on_file), (ignored, readings) = parse(text)
    rules = catalog.rulebook()
    try:
        assessment = engine.assess_risk(
            profile,
            catalog.indication_facts(indication),
            catalog.protocol_facts(indication.protocol),
            rules,
            start_date,
        )
        # Reference A.3 applied to the blood pressure supplied, as on a risk profile.
        measured = engine.VisitFindings(sex=profile.sex, **pressures)
        assessment = with_profile_findings(assessment, engine.assess_findings(measured, rules))
        assessment = without_checks_on_file(assessment, on_file, catalog.check_validity(), start_date)
        draft = None
        if not assessment.blocked:
            draft = engine.build_plan(
                catalog.protocol_facts(indication.protocol),
                assessment,
                start_date,
                services.plan_options(**options),
                rules,
            )
    except engine.EngineInputError as exc:
        raise RequestError(ENGINE_FIELD_NAMES.get(exc.field, exc.field), exc.message) from None
    return {**services.draft_json(assessment, draft), "ignored_fields": ignored, "read_as": readings}
