"""Map an incoming FHIR R4 Bundle to a new patient and risk profile, showing what mapped and what did not.

Nothing is dropped silently: medicines that match no catalog entry are kept by name (the
engine lists them as not checked), conditions and results that map to nothing are listed in
the preview and written into the profile's notes, and resources of other types are counted.
An amitriptyline order is shown as such and never entered as an interacting medicine. No
clinical judgement happens here: the engine assesses the saved profile like any other.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from trialplanner.catalog import selectors as catalog_selectors
from trialplanner.catalog.models import Condition, Drug, Indication, InteractingDrug, ObservationCode, Strength
from trialplanner.engine.medicines import read_medicine
from trialplanner.engine.types import Medication, normalise_name
from trialplanner.inputs import BIDI_CONTROLS, LINE_BREAKS, JsonInputError, read_json
from trialplanner.interop import systems as s
from trialplanner.interop.fhir_validation import structure_errors
from trialplanner.patients import forms as patient_forms

MAX_BUNDLE_BYTES = 512 * 1024
MAX_ENTRIES = 500
# A FHIR bundle of one patient is about ten levels deep; extensions add a few. Far deeper is refused
# before parsing (Python's json module fails with RecursionError near 1,000 levels).
MAX_BUNDLE_DEPTH = 32
SYSTEM_NAMES = {s.SNOMED: "SNOMED CT", s.RXNORM: "RxNorm", s.DMD: "dm+d", s.LOINC: "LOINC"}
QTC_KEYS = {"qtc", "qtc-bazett", "qtc-fridericia"}
# Units accepted per measurement, lower-cased; mEq/L equals mmol/L for the monovalent ions only.
UNITS = {
    "qtc": {"ms", "msec"},
    "potassium": {"mmol/l", "meq/l"},
    "sodium": {"mmol/l", "meq/l"},
    "magnesium": {"mmol/l"},
}
# Data-entry plausibility bounds of the risk-profile form (typo catching, not clinical thresholds).
RANGES = {
    "qtc": patient_forms.QTC_RANGE,
    "potassium": patient_forms.POTASSIUM_RANGE,
    "magnesium": patient_forms.MAGNESIUM_RANGE,
    "sodium": patient_forms.SODIUM_RANGE,
}
PROFILE_FIELD = {"qtc": "qtc_ms", "potassium": "potassium", "magnesium": "magnesium", "sodium": "sodium"}
# Resources about a patient, read only when their subject is the patient being imported or assessed.
SUBJECT_TYPES = {"Condition", "MedicationStatement", "MedicationRequest", "Observation"}
# A literal reference to a Patient: relative ("Patient/123"), absolute (".../fhir/Patient/123") or versioned.
PATIENT_REFERENCE = re.compile(r"(?:^|/)(Patient/[A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$")
MEDICINE_SKIP = {"entered-in-error", "not-taken", "cancelled"}
MEDICINE_STOPPED = {"completed", "stopped"}


class BundleError(ValueError):
    """The upload is not a Bundle this app can read; the message says why, for the clinician."""


@dataclass
class MappedCondition:
    text: str
    code: str
    condition: Condition | None = None
    indication: Indication | None = None


@dataclass
class MappedMedicine:
    text: str
    code: str
    drug: InteractingDrug | None
    name: str
    started_on: date | None = None
    stopped_on: date | None = None
    status: str = ""
    state: str = ""  # reviewed / recognised, not reviewed / not recognised (reference A.4), as the engine reads it
    read_as: str = ""  # what the engine reads the name as
    note: str = ""


@dataclass
class AmitriptylineOrder:
    text: str
    code: str
    resource_type: str
    status: str
    dosage: str


@dataclass
class MappedObservation:
    text: str
    code: str
    key: str | None
    value: Decimal | None
    unit: str
    when: date | None
    note: str = ""
    used: bool = False


@dataclass
class ImportPreview:
    patient: dict
    conditions: list[MappedCondition] = field(default_factory=list)
    medicines: list[MappedMedicine] = field(default_factory=list)
    skipped_medicines: list[MappedMedicine] = field(default_factory=list)
    amitriptyline: list[AmitriptylineOrder] = field(default_factory=list)
    observations: list[MappedObservation] = field(default_factory=list)
    # Records whose subject is not this patient: never read, listed with why.
    other_subject: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def mapped_conditions(self):
        return [c.condition for c in self.conditions if c.condition is not None]

    @property
    def unmapped_conditions(self):
        return [c for c in self.conditions if c.condition is None]

    def profile_fields(self) -> dict:
        fields = {}
        for obs in self.observations:
            if obs.used:
                fields[PROFILE_FIELD[obs.key]] = int(obs.value) if obs.key in ("qtc", "sodium") else obs.value
                if obs.key == "qtc":
                    fields["ecg_date"] = obs.when
                else:
                    # One date stands for all the bloods: the oldest used, so none looks more recent than it is.
                    fields["bloods_date"] = min(fields.get("bloods_date", obs.when), obs.when)
        fields["notes"] = self.notes()
        return fields

    def medication_entries(self) -> list[dict]:
        return [{"name": m.name, "started_on": m.started_on, "stopped_on": m.stopped_on} for m in self.medicines]

    def notes(self) -> str:
        lines = ["Imported from a FHIR bundle."]
        for order in self.amitriptyline:
            lines.append(f"Incoming amitriptyline order ({order.status}): {order.text}. {order.dosage}".strip())
        for c in self.conditions:
            if c.indication is not None and c.condition is None:
                lines.append(f"Indication on record: {c.indication.name} ({c.text}).")
        unmapped = [c for c in self.unmapped_conditions if c.indication is None]
        if unmapped:
            lines.append("Conditions not mapped to the catalog: " + "; ".join(c.text for c in unmapped) + ".")
        for obs in self.observations:
            if not obs.used:
                value = "" if obs.value is None else f" {obs.value} {obs.unit}"
                lines.append(f"Result not used: {obs.text}{value} ({obs.note}).")
        if self.other_subject:
            lines.append(f"Not imported: {len(self.other_subject)} records about another patient.")
        return "\n".join(lines)


# --- reading the upload ------------------------------------------------------------------------


def parse_bundle(raw: bytes | str) -> dict:
    """The Bundle as a dict, or BundleError saying what is wrong with it."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BUNDLE_BYTES:
        raise BundleError(f"The bundle is larger than {MAX_BUNDLE_BYTES // 1024} KB. Export only this patient.")
    try:
        data = read_json(raw, max_bytes=MAX_BUNDLE_BYTES, max_depth=MAX_BUNDLE_DEPTH)
    except JsonInputError as exc:
        raise BundleError(f"The bundle cannot be read: {str(exc).rstrip('.')}.") from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise BundleError('This JSON is not a FHIR Bundle (resourceType must be "Bundle").')
    entries = data.get("entry") or []
    if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
        raise BundleError(f"The bundle must list at most {MAX_ENTRIES} entries.")
    errors = structure_errors(data)
    if errors:
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise BundleError("The bundle is not valid FHIR: " + "; ".join(errors[:3]) + more)
    patients = [r for r in _resources(data) if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        raise BundleError(f"The bundle must hold exactly one Patient; it holds {len(patients)}.")
    return data


def _resources(bundle):
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict):
            yield resource


def _codings(concept):
    return [c for c in (concept or {}).get("coding") or [] if c.get("code")]


def _plain(value) -> str:
    """`value` as one line of text a reader can trust: bidi controls dropped, control characters and
    line breaks made spaces (the rules every form applies, trialplanner/inputs.py)."""
    text = "".join(ch for ch in str(value) if ch not in BIDI_CONTROLS)
    return "".join(" " if unicodedata.category(ch) == "Cc" or ch in LINE_BREAKS else ch for ch in text)


def _label(concept) -> str:
    parts = [f"{SYSTEM_NAMES.get(c.get('system'), c.get('system') or '?')} {c['code']}" for c in _codings(concept)]
    return _plain(", ".join(parts))


def _text(concept) -> str:
    concept = concept or {}
    if concept.get("text"):
        return _plain(concept["text"])
    for c in _codings(concept):
        if c.get("display"):
            return _plain(c["display"])
    return _label(concept) or "(no name)"


def _date(value) -> date | None:
    if not value or len(str(value)) < 10:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


class _Catalog:
    """Catalog rows by code, read once per import."""

    def __init__(self):
        self.conditions = {}
        for c in Condition.objects.all():
            self.conditions[(s.LOCAL_CONDITION, c.slug)] = c
            if c.snomed_code:
                self.conditions.setdefault((s.SNOMED, c.snomed_code), c)
        self.indications = {}
        for i in Indication.objects.all():
            self.indications[(s.LOCAL_INDICATION, i.slug)] = i
            if i.snomed_code:
                self.indications[(s.SNOMED, i.snomed_code)] = i
        self.drugs = {}
        self.by_slug = {}
        self.rules = catalog_selectors.rulebook()
        for d in InteractingDrug.objects.all():
            self.by_slug[d.slug] = d
            self.drugs[(s.LOCAL_MEDICINE, d.slug)] = d
            if d.rxnorm_code:
                self.drugs.setdefault((s.RXNORM, d.rxnorm_code), d)
            if d.dmd_vtm_code:
                self.drugs.setdefault((s.DMD, d.dmd_vtm_code), d)
        self.amitriptyline_codes = set()
        self.amitriptyline_words = {"amitriptyline"}
        for drug in Drug.objects.filter(slug="amitriptyline"):
            self.amitriptyline_codes |= {(s.RXNORM, drug.rxnorm_code), (s.DMD, drug.dmd_vtm_code)}
            self.amitriptyline_words |= {normalise_name(b) for b in drug.brand_names.split(",") if b.strip()}
        for strength in Strength.objects.filter(drug__slug="amitriptyline"):
            self.amitriptyline_codes |= {(s.RXNORM, strength.rxnorm_code), (s.DMD, strength.dmd_code)}
        self.amitriptyline_codes = {(system, code) for system, code in self.amitriptyline_codes if code}
        self.observations = {}
        for o in ObservationCode.objects.all():
            key = "qtc" if o.key in QTC_KEYS else o.key
            self.observations[(s.LOCAL_OBSERVATION, o.key)] = key
            if o.loinc_code:
                self.observations[(s.LOINC, o.loinc_code)] = key

    def lookup(self, table, concept):
        for c in _codings(concept):
            found = table.get((c.get("system"), c["code"]))
            if found is not None:
                return found
        return None

    def is_amitriptyline(self, concept) -> bool:
        if any((c.get("system"), c["code"]) in self.amitriptyline_codes for c in _codings(concept)):
            return True
        words = set(normalise_name(_text(concept)).split())
        return bool(words & self.amitriptyline_words)

    def medicine_by_name(self, text):
        """The catalog row the line reads as, read as the risk form reads it ("Bisoprolol 5mg od")."""
        reading = self.reading(text)
        if reading.drug is None or not reading.checked:
            return None
        return self.by_slug.get(reading.drug.slug)

    def reading(self, text):
        return read_medicine(self.rules, Medication(text[:120]))  # a medicine name, not a letter


class _Mapper:
    def __init__(self, bundle, today, patient_refs, fhir_base):
        self.bundle = bundle
        self.today = today
        self.catalog = _Catalog()
        self.index = {}
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") or {}
            if entry.get("fullUrl"):
                self.index[entry["fullUrl"]] = resource
            if resource.get("id"):
                self.index[f"{resource.get('resourceType')}/{resource['id']}"] = resource
        if patient_refs is None:  # an import: the bundle's one Patient, by its fullUrl or type and id
            patient_refs = set()
            for entry in bundle.get("entry") or []:
                resource = entry.get("resource") or {}
                if resource.get("resourceType") == "Patient":
                    patient_refs |= {entry.get("fullUrl"), resource.get("id") and f"Patient/{resource['id']}"}
                    match = PATIENT_REFERENCE.search(entry.get("fullUrl") or "")
                    fhir_base = fhir_base or (match and entry["fullUrl"][: match.start(1)])
        self.patient_refs = {ref for ref in patient_refs if ref}
        self.fhir_base = (fhir_base or "").rstrip("/")

    def names_patient(self, resource) -> bool:
        """Whether the resource's subject is a literal reference to the patient being read: relative, or
        absolute on the server the data came from (the same id on another server is another patient)."""
        reference = (resource.get("subject") or {}).get("reference") or ""
        if reference in self.patient_refs:
            return True
        match = PATIENT_REFERENCE.search(reference)
        if not match or match.group(1) not in self.patient_refs:
            return False
        base = reference[: match.start(1)].rstrip("/")
        return base == "" or (bool(self.fhir_base) and base == self.fhir_base)

    def is_the_patient(self, resource) -> bool:
        return f"Patient/{resource.get('id')}" in self.patient_refs

    def other_subject(self, resource, preview):
        kind = resource["resourceType"]
        if kind == "Patient":
            preview.other_subject.append(f"Patient {_plain(resource.get('id') or '(no id)')[:64]}: another patient")
            return
        concept = self.medication_concept(resource) if kind.startswith("Medication") else resource.get("code")
        subject = resource.get("subject") or {}
        about = _plain(subject.get("reference") or subject.get("display") or "")[:80] or "no patient named"
        preview.other_subject.append(f"{kind} {_text(concept)}: its subject is {about}, not this patient")

    def medication_concept(self, resource):
        if resource.get("medicationCodeableConcept"):
            return resource["medicationCodeableConcept"]
        pointer = resource.get("medicationReference") or {}
        reference = pointer.get("reference") or ""
        target = self.index.get(reference)
        if target is None and reference.startswith("#"):
            target = next((c for c in resource.get("contained") or [] if c.get("id") == reference[1:]), None)
        # Only a Medication's code names the medicine (another resource type's `code` is something else).
        code = (target or {}).get("code") if (target or {}).get("resourceType") == "Medication" else None
        return code if isinstance(code, dict) and code else {"text": pointer.get("display") or ""}

    def run(self) -> ImportPreview:
        preview = ImportPreview(patient={})
        ignored = {}
        for resource in _resources(self.bundle):
            kind = resource.get("resourceType")
            handler = getattr(self, f"read_{kind}", None)
            if handler is None:
                ignored[kind] = ignored.get(kind, 0) + 1
            elif kind in SUBJECT_TYPES and "subject" in resource and not self.names_patient(resource):
                self.other_subject(resource, preview)
            elif kind == "Patient" and not self.is_the_patient(resource):
                self.other_subject(resource, preview)  # e.g. a searchset's _include of someone else
            else:
                handler(resource, preview)
        preview.ignored = [
            f"{n} {kind} resource{'s' if n != 1 else ''}: not read" for kind, n in sorted(ignored.items())
        ]
        self.choose_observations(preview)
        return preview

    def read_Patient(self, resource, preview):  # noqa: N802 - named after the FHIR resource type
        names = resource.get("name") or []
        display = ""
        if names:
            first = names[0]
            # FHIR JSON lets a list of primitives hold null (where only an extension is given).
            given = [g for g in first.get("given") or [] if isinstance(g, str)]
            display = first.get("text") or " ".join([*given, first.get("family") or ""]).strip()
        mrn = ""
        identifiers = [i for i in resource.get("identifier") or [] if i.get("value")]
        for identifier in identifiers:
            type_ = identifier.get("type") or {}
            if any(c.get("code") == "MR" for c in _codings(type_)) or "mrn" in (type_.get("text") or "").lower():
                mrn = identifier["value"]
                break
        if not mrn:
            others = [i for i in identifiers if i.get("system") != s.PATIENT_IDENTIFIER]
            mrn = others[0]["value"] if others else ""
        gender = resource.get("gender")
        preview.patient = {
            "display_name": _plain(display)[:120] or _plain(mrn)[:120],
            "mrn": _plain(mrn)[:40],
            "date_of_birth": _date(resource.get("birthDate")),
            "sex": gender if gender in ("female", "male") else "",
        }

    def read_Condition(self, resource, preview):  # noqa: N802
        status = [c["code"] for c in _codings(resource.get("clinicalStatus"))]
        verification = [c["code"] for c in _codings(resource.get("verificationStatus"))]
        concept = resource.get("code") or {}
        mapped = MappedCondition(text=_text(concept), code=_label(concept))
        if "entered-in-error" in verification or "refuted" in verification:
            preview.ignored.append(f"Condition {mapped.text}: marked {', '.join(verification)}")
            return
        mapped.condition = self.catalog.lookup(self.catalog.conditions, concept)
        mapped.indication = self.catalog.lookup(self.catalog.indications, concept)
        if status and not set(status) & {"active", "recurrence", "relapse"}:
            # Resolved conditions still matter for several rules (e.g. a past seizure): keep, but say so.
            mapped.text += f" ({', '.join(status)})"
        preview.conditions.append(mapped)

    def read_MedicationStatement(self, resource, preview):  # noqa: N802
        period = resource.get("effectivePeriod") or {}
        start = _date(period.get("start") or resource.get("effectiveDateTime"))
        self.add_medicine(resource, preview, start, _date(period.get("end")))

    def read_MedicationRequest(self, resource, preview):  # noqa: N802
        bounds = [
            ((d.get("timing") or {}).get("repeat") or {}).get("boundsPeriod") or {}
            for d in resource.get("dosageInstruction") or []
        ]
        starts = [_date(b.get("start")) for b in bounds if _date(b.get("start"))]
        ends = [_date(b.get("end")) for b in bounds if _date(b.get("end"))]
        validity = (resource.get("dispenseRequest") or {}).get("validityPeriod") or {}
        start = min(starts) if starts else _date(validity.get("start"))
        end = max(ends) if ends else _date(validity.get("end"))
        self.add_medicine(resource, preview, start, end)

    def add_medicine(self, resource, preview, start, end):
        concept = self.medication_concept(resource)
        kind = resource["resourceType"]
        status = resource.get("status", "")
        text = _text(concept)
        if self.catalog.is_amitriptyline(concept):
            dosage = _plain("; ".join(d["text"] for d in resource.get("dosageInstruction") or [] if d.get("text")))
            preview.amitriptyline.append(AmitriptylineOrder(text, _label(concept), kind, status, dosage))
            return
        by_name = self.catalog.medicine_by_name(text)
        by_code = self.catalog.lookup(self.catalog.drugs, concept)
        drug = by_code or by_name
        # Keep the clinician's wording when it already names the same catalog entry; else the catalog name,
        # which is what the engine matches on. Unmatched text stays as written (a "not checked" medicine).
        name = text if (by_name is not None and by_name == drug) or drug is None else drug.name
        reading = self.catalog.reading(name)
        read_as = ", ".join([*(d.name for d in reading.ingredients), *reading.unreviewed])
        medicine = MappedMedicine(
            text, _label(concept), drug, name[:120], status=status, state=reading.state.value, read_as=read_as
        )
        if status in MEDICINE_SKIP:
            medicine.note = f"{kind} is {status}: not entered"
            preview.skipped_medicines.append(medicine)
            return
        if status in MEDICINE_STOPPED:
            # The same bounds as the risk-profile form: a last dose is neither in the future nor before
            # 1900. Without a believable one the medicine is entered as current, the safer reading.
            if end is None:
                medicine.note = f"{status} with no end date: entered as current so its interactions are checked"
            elif end > self.today:
                medicine.note = "stop date is in the future: entered as current so its interactions are checked"
            elif end < patient_forms.EARLIEST_BIRTH:
                medicine.note = "stop date before 1900: entered as current so its interactions are checked"
            else:
                medicine.stopped_on = end
        if start and start > self.today:
            medicine.note = "start date is in the future: left blank"
            start = None
        if start and start < patient_forms.EARLIEST_BIRTH:
            medicine.note = "start date before 1900: left blank"
            start = None
        if start and medicine.stopped_on and medicine.stopped_on < start:
            medicine.note = "stop date before start date: start date left blank"
            start = None
        medicine.started_on = start
        preview.medicines.append(medicine)

    def read_Observation(self, resource, preview):  # noqa: N802
        concept = resource.get("code") or {}
        quantity = resource.get("valueQuantity") or {}
        when = _date(resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get("start"))
        when = when or _date(resource.get("issued"))
        obs = MappedObservation(
            text=_text(concept),
            code=_label(concept),
            key=self.catalog.lookup(self.catalog.observations, concept),
            value=None,
            unit=_plain(quantity.get("code") or quantity.get("unit") or "")[:20],
            when=when,
        )
        try:
            obs.value = Decimal(str(quantity["value"])) if "value" in quantity else None
        except (InvalidOperation, ValueError):
            obs.value = None
        if obs.key is None:
            obs.note = "code not in the catalog"
        elif resource.get("status") in ("entered-in-error", "cancelled"):
            obs.note = f"status {resource['status']}"
        elif obs.value is None:
            obs.note = "no numeric value"
        elif obs.key not in UNITS or obs.key not in RANGES:
            obs.note = "a result this import does not read"  # a catalog code added without its units and range
        elif obs.unit.lower() not in UNITS[obs.key]:
            obs.note = f"unit {obs.unit or 'missing'} not accepted (expected {' or '.join(sorted(UNITS[obs.key]))})"
        elif not RANGES[obs.key][0] <= obs.value <= RANGES[obs.key][1]:
            obs.note = f"value outside {RANGES[obs.key][0]}-{RANGES[obs.key][1]}"
        elif obs.when is None:
            obs.note = "no date"
        elif obs.when > self.today:
            obs.note = "dated in the future"
        elif obs.when < patient_forms.EARLIEST_BIRTH:
            obs.note = "dated before 1900"
        else:
            obs.value = _rounded(obs.key, obs.value)
        preview.observations.append(obs)

    def choose_observations(self, preview):
        """Use the latest acceptable result for each measurement; say why the others were not used."""
        latest = {}
        for obs in preview.observations:
            if obs.note or obs.key is None:
                continue
            current = latest.get(obs.key)
            if current is None or obs.when > current.when:
                latest[obs.key] = obs
        for obs in preview.observations:
            if obs.note:
                continue
            if latest.get(obs.key) is obs:
                obs.used = True
            else:
                obs.note = "a later result is used"


def _rounded(key, value):
    if key in ("qtc", "sodium"):
        return value.quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    places = Decimal("0.1") if key == "potassium" else Decimal("0.01")
    return value.quantize(places, rounding=ROUND_HALF_UP)


def map_bundle(
    bundle: dict, *, today: date, patient_refs: set[str] | None = None, fhir_base: str | None = None
) -> ImportPreview:
    """What the Bundle maps to in this catalog (no writes).

    Conditions, medicines and results whose `subject` is not the patient are listed in
    `other_subject` and not read: `patient_refs` names the patient ("Patient/123"), by default the
    bundle's one Patient; an absolute reference counts only on `fhir_base` (the server the data came
    from; by default the Patient's fullUrl's). A record with no subject at all is read (the bundle is
    one patient's), a Patient other than the one named is not.
    """
    return _Mapper(bundle, today, patient_refs, fhir_base).run()
