"""A saved plan version as a FHIR R4 Bundle: what an EHR needs to prescribe and follow it up.

One MedicationRequest carries one dosageInstruction per step (HL7 R4 example
medicationrequest0303, a tapering order); `per_step=True` instead writes one MedicationRequest
per step, linked by groupIdentifier and priorPrescription, for receivers that keep only the
first dosage. Nothing here decides a dose: every number comes from the saved plan and profile.
"""

import uuid
from decimal import Decimal

from trialplanner.catalog.models import Drug, ObservationCode, Strength
from trialplanner.clinictime import clinic_now
from trialplanner.engine import dosetext
from trialplanner.interop import systems as s
from trialplanner.plans.models import FollowUp, Plan

MEDICATION_REQUEST_STATUS = {
    Plan.Status.DRAFT: "draft",
    Plan.Status.ACTIVE: "active",
    Plan.Status.REVISED: "stopped",
    Plan.Status.COMPLETED: "completed",
    Plan.Status.STOPPED: "stopped",
    Plan.Status.ENTERED_IN_ERROR: "entered-in-error",
}
CARE_PLAN_STATUS = {
    Plan.Status.DRAFT: "draft",
    Plan.Status.ACTIVE: "active",
    Plan.Status.REVISED: "revoked",
    Plan.Status.COMPLETED: "completed",
    Plan.Status.STOPPED: "revoked",
    Plan.Status.ENTERED_IN_ERROR: "entered-in-error",
}
SERVICE_REQUEST_STATUS = {
    FollowUp.Status.DUE: "active",
    FollowUp.Status.SNOOZED: "active",
    FollowUp.Status.DONE: "completed",
    FollowUp.Status.MISSED: "revoked",
    FollowUp.Status.CANCELLED: "revoked",
}
OBSERVATION_FIELDS = (("qtc", "qtc_ms"), ("potassium", "potassium"), ("magnesium", "magnesium"), ("sodium", "sodium"))


def _num(value):
    """A Decimal as a JSON number without trailing zeros (int when whole)."""
    value = Decimal(value).normalize()
    return int(value) if value == value.to_integral() else float(value)


def _text(value) -> str:
    return f"{Decimal(value).normalize():f}"


def coding(system, code, display=""):
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def ref(entry) -> dict:
    return {"reference": entry["fullUrl"]}


class _Builder:
    def __init__(self, plan: Plan):
        self.plan = plan
        self.entries = []

    @property
    def patient(self):
        return self.plan.patient

    @property
    def profile(self):
        return self.plan.risk_profile

    def add(self, resource_type, key, resource) -> dict:
        rid = str(uuid.uuid5(self.plan.uuid, f"{resource_type}/{key}"))
        entry = {"fullUrl": f"urn:uuid:{rid}", "resource": {"resourceType": resource_type, "id": rid, **resource}}
        self.entries.append(entry)
        return entry

    # --- who and what is known about them -------------------------------------------------------

    def patient_entry(self):
        identifiers = [{"system": s.PATIENT_IDENTIFIER, "value": str(self.patient.uuid)}]
        if self.patient.mrn:
            identifiers.insert(
                0, {"system": s.mrn_system(self.patient.clinic), "value": self.patient.mrn, "type": {"text": "MRN"}}
            )
        return self.add(
            "Patient",
            "patient",
            {
                "identifier": identifiers,
                "gender": self.patient.sex,
                "birthDate": self.patient.date_of_birth.isoformat(),
            },
        )

    def recorded_on(self):
        return clinic_now(self.patient.clinic, self.profile.created_at).date().isoformat()

    def condition_entries(self, subject):
        if self.profile is None:
            return []
        entries = []
        for condition in self.profile.conditions.all():
            codings = [coding(s.SNOMED, condition.snomed_code, condition.name)] if condition.snomed_code else []
            codings.append(coding(s.LOCAL_CONDITION, condition.slug, condition.name))
            entries.append(
                self.add(
                    "Condition",
                    f"condition/{condition.slug}",
                    {
                        "clinicalStatus": {"coding": [coding(s.CONDITION_CLINICAL, "active")]},
                        "verificationStatus": {"coding": [coding(s.CONDITION_VERIFICATION, "confirmed")]},
                        "category": [{"coding": [coding(s.CONDITION_CATEGORY, "problem-list-item")]}],
                        "code": {"coding": codings, "text": condition.name},
                        "subject": ref(subject),
                        "recordedDate": self.recorded_on(),
                    },
                )
            )
        return entries

    def medication_statement_entries(self, subject):
        if self.profile is None:
            return []
        entries = []
        for n, med in enumerate(self.profile.medications.select_related("drug"), start=1):
            codings = []
            if med.drug is not None:
                if med.drug.rxnorm_code:
                    codings.append(coding(s.RXNORM, med.drug.rxnorm_code, med.drug.name))
                if med.drug.dmd_vtm_code:
                    codings.append(coding(s.DMD, med.drug.dmd_vtm_code, med.drug.name))
                codings.append(coding(s.LOCAL_MEDICINE, med.drug.slug, med.drug.name))
            concept = {"text": med.name}
            if codings:
                concept["coding"] = codings
            resource = {
                "status": "stopped" if med.stopped_on else "active",
                "medicationCodeableConcept": concept,
                "subject": ref(subject),
                "dateAsserted": self.recorded_on(),
            }
            period = {}
            if med.started_on:
                period["start"] = med.started_on.isoformat()
            if med.stopped_on:
                period["end"] = med.stopped_on.isoformat()
            if period:
                resource["effectivePeriod"] = period
            entries.append(self.add("MedicationStatement", f"medication/{n}", resource))
        return entries

    def observation_entries(self, subject):
        if self.profile is None:
            return []
        codes = {o.key: o for o in ObservationCode.objects.all()}
        entries = []
        for key, field in OBSERVATION_FIELDS:
            value = getattr(self.profile, field)
            obs = codes.get(key)
            if value is None or obs is None:
                continue
            measured_on = self.profile.ecg_date if key == "qtc" else self.profile.bloods_date
            when = measured_on.isoformat() if measured_on else self.recorded_on()
            codings = [coding(s.LOINC, obs.loinc_code, obs.name)] if obs.loinc_code else []
            codings.append(coding(s.LOCAL_OBSERVATION, key, obs.name))
            category = "procedure" if key == "qtc" else "laboratory"
            entries.append(
                self.add(
                    "Observation",
                    f"observation/{key}",
                    {
                        "status": "final",
                        "category": [{"coding": [coding(s.OBSERVATION_CATEGORY, category)]}],
                        "code": {"coding": codings, "text": obs.name},
                        "subject": ref(subject),
                        "effectiveDateTime": when,
                        "valueQuantity": {"value": _num(value), "unit": obs.unit, "system": s.UCUM, "code": obs.unit},
                    },
                )
            )
        return entries

    # --- the plan ------------------------------------------------------------------------------------

    def products(self):
        """Catalog strengths by (form, mg): what each step is given as."""
        rows = Strength.objects.filter(drug__slug="amitriptyline").order_by("-is_active", "id")
        out = {}
        for row in rows:
            out.setdefault((row.form, row.amount_mg.normalize()), row)
        return out

    def step_product(self, step, products):
        """The one catalog product a step uses, or None when it mixes strengths or doses nothing."""
        if step.liquid_ml is not None:
            solutions = [p for (form, _), p in products.items() if form == Strength.Form.ORAL_SOLUTION]
            label = step.liquid_label.replace(" ", "")
            for product in solutions:
                amount = f"{_text(product.amount_mg)}mg/{_text(product.per_volume_ml)}ml"
                if amount in label:
                    return product
            return None
        strengths = {Decimal(t["strength_mg"]).normalize() for t in step.tablets if t["count"]}
        if len(strengths) != 1:
            return None
        return products.get((Strength.Form.TABLET, strengths.pop()))

    def medication_concept(self, product):
        if product is None:
            drug = Drug.objects.get(slug="amitriptyline")
            codings = [coding(s.RXNORM, drug.rxnorm_code, drug.name)] if drug.rxnorm_code else []
            if drug.dmd_vtm_code:
                codings.append(coding(s.DMD, drug.dmd_vtm_code, drug.name))
            return {"coding": codings, "text": drug.name} if codings else {"text": drug.name}
        codings = []
        if product.rxnorm_code:
            codings.append(coding(s.RXNORM, product.rxnorm_code, str(product)))
        if product.dmd_code:
            codings.append(coding(s.DMD, product.dmd_code, str(product)))
        return {"coding": codings, "text": str(product)} if codings else {"text": str(product)}

    def directions(self, step):
        written = getattr(step, "directions", "")
        if written:
            return written
        tablets = [(Decimal(t["strength_mg"]), t["count"]) for t in step.tablets]
        per_night = dosetext.per_night_text(tablets, step.liquid_ml, step.liquid_label)
        period = f"from {step.start_date:%d %b %Y} to {step.end_date:%d %b %Y}"
        return f"{_text(step.dose_mg)} mg at night: {per_night}, {period}"

    def dosage(self, step, sequence):
        return {
            "sequence": sequence,
            "text": self.directions(step),
            "timing": {
                "repeat": {
                    "boundsPeriod": {"start": step.start_date.isoformat(), "end": step.end_date.isoformat()},
                    "frequency": 1,
                    "period": 1,
                    "periodUnit": "d",
                    "when": ["HS"],
                }
            },
            "route": {"text": "Oral"},
            "doseAndRate": [
                {
                    "type": {"coding": [coding(s.DOSE_RATE_TYPE, "ordered", "Ordered")]},
                    "doseQuantity": {"value": _num(step.dose_mg), "unit": "mg", "system": s.UCUM, "code": "mg"},
                }
            ],
        }

    def dispense(self, steps, product):
        """What to supply: one quantity when one product covers the steps, else a note per strength."""
        first, last = steps[0], steps[-1]
        days = (last.end_date - first.start_date).days + 1
        request = {
            "validityPeriod": {"start": first.start_date.isoformat(), "end": last.end_date.isoformat()},
            "expectedSupplyDuration": {"value": days, "unit": "days", "system": s.UCUM, "code": "d"},
        }
        if self.plan.supply_limit_days:
            interval = self.plan.supply_limit_days
            request["dispenseInterval"] = {"value": interval, "unit": "days", "system": s.UCUM, "code": "d"}
            request["numberOfRepeatsAllowed"] = max(0, -(-days // interval) - 1)
        if product is not None and product.form == Strength.Form.TABLET:
            total = sum(t["count"] * step.nights for step in steps for t in step.tablets)
            request["quantity"] = {"value": total, "unit": "tablet"}
        elif product is not None:
            total = sum(step.total_liquid_ml or 0 for step in steps)
            request["quantity"] = {"value": _num(total), "unit": "mL", "system": s.UCUM, "code": "mL"}
        return request

    def supply_note(self, steps):
        totals = {}
        for step in steps:
            for t in step.total_tablets:
                key = Decimal(t["strength_mg"]).normalize()
                totals[key] = totals.get(key, 0) + t["count"]
        liquid = sum(step.total_liquid_ml or 0 for step in steps)
        parts = [f"{count} × {_text(mg)} mg tablets" for mg, count in sorted(totals.items())]
        if liquid:
            parts.append(f"{_text(liquid)} ml of oral solution")
        return "Supply for the whole plan: " + ", ".join(parts) if parts else ""

    def reason(self):
        indication = self.plan.indication
        codings = [coding(s.SNOMED, indication.snomed_code, indication.name)] if indication.snomed_code else []
        codings.append(coding(s.LOCAL_INDICATION, indication.slug, indication.name))
        return [{"coding": codings, "text": indication.name}]

    def request_base(self, subject, product, steps):
        base = {
            "identifier": [{"system": s.PLAN_IDENTIFIER, "value": str(self.plan.uuid)}],
            "status": MEDICATION_REQUEST_STATUS[self.plan.status],
            "intent": "order",
            "medicationCodeableConcept": self.medication_concept(product),
            "subject": ref(subject),
            "authoredOn": self.plan.created_at.isoformat(),
            "reasonCode": self.reason(),
            "courseOfTherapyType": {"coding": [coding(s.THERAPY_TYPE, "continuous", "Continuous long term therapy")]},
            "dispenseRequest": self.dispense(steps, product),
        }
        note = "" if product is not None else self.supply_note(steps)
        if note:
            base["note"] = [{"text": note}]
        return base

    def medication_requests(self, subject, steps, per_step):
        products = self.products()
        dosed = [step for step in steps if step.dose_mg > 0]
        if not dosed:
            return []
        if not per_step:
            used = {self.step_product(step, products) for step in dosed}
            product = used.pop() if len(used) == 1 else None
            resource = self.request_base(subject, product, dosed)
            resource["dosageInstruction"] = [self.dosage(step, n) for n, step in enumerate(dosed, start=1)]
            return [self.add("MedicationRequest", "plan", resource)]
        group = {"system": s.PLAN_SERIES_IDENTIFIER, "value": f"{self.plan.series}/v{self.plan.version}"}
        entries = []
        for step in dosed:
            product = self.step_product(step, products)
            resource = self.request_base(subject, product, [step])
            resource["identifier"] = [{"system": s.PLAN_IDENTIFIER, "value": f"{self.plan.uuid}/step/{step.number}"}]
            resource["groupIdentifier"] = group
            resource["dosageInstruction"] = [self.dosage(step, 1)]
            if entries:
                resource["priorPrescription"] = ref(entries[-1])
            entries.append(self.add("MedicationRequest", f"step/{step.number}", resource))
        return entries

    def service_requests(self, subject, followups, names):
        entries = []
        for followup in followups:
            status = SERVICE_REQUEST_STATUS[followup.status]
            if self.plan.status == Plan.Status.DRAFT and status == "active":
                status = "draft"
            resource = {
                "identifier": [{"system": s.PLAN_IDENTIFIER, "value": f"{self.plan.uuid}/followup/{followup.uuid}"}],
                "status": status,
                "intent": "plan",
                "code": {
                    "coding": [coding(s.LOCAL_FOLLOWUP, followup.kind, followup.get_kind_display())],
                    "text": followup.get_kind_display(),
                },
                "subject": ref(subject),
                "occurrenceDateTime": followup.effective_date.isoformat(),
                "reasonCode": self.reason(),
            }
            assess = [names.get(slug, slug) for slug in followup.assess]
            if assess:
                resource["note"] = [{"text": "Assess: " + "; ".join(assess)}]
            entries.append(self.add("ServiceRequest", f"followup/{followup.uuid}", resource))
        return entries

    def care_plan(self, subject, activities, supporting):
        indication = self.plan.indication
        return self.add(
            "CarePlan",
            "careplan",
            {
                "identifier": [{"system": s.PLAN_IDENTIFIER, "value": str(self.plan.uuid)}],
                "status": CARE_PLAN_STATUS[self.plan.status],
                "intent": "plan",
                "title": f"Low-dose amitriptyline {self.plan.get_kind_display().lower()}: {indication.name}",
                "description": (
                    f"Version {self.plan.version}: {_text(self.plan.start_mg)} mg at night rising to "
                    f"{_text(self.plan.target_mg)} mg (never above {_text(self.plan.ceiling_mg)} mg), "
                    f"judge response by {self.plan.response_date.isoformat()}."
                ),
                "subject": ref(subject),
                "period": {"start": self.plan.start_date.isoformat(), "end": self.plan.end_date.isoformat()},
                "created": self.plan.created_at.isoformat(),
                "supportingInfo": [ref(e) for e in supporting],
                "activity": [{"reference": ref(e)} for e in activities],
            },
        )


def draft_medication_request(plan: Plan, steps, *, subject_reference: str) -> dict | None:
    """One MedicationRequest for an unsaved plan and its unsaved steps (a CDS Hooks suggestion)."""
    builder = _Builder(plan)
    entries = builder.medication_requests({"fullUrl": subject_reference}, list(steps), per_step=False)
    return entries[0]["resource"] if entries else None


def plan_bundle(plan: Plan, *, per_step: bool = False) -> dict:
    """The Bundle (type collection) for one saved plan version."""
    from trialplanner.plans.selectors import monitoring_names

    builder = _Builder(plan)
    subject = builder.patient_entry()
    supporting = [
        *builder.condition_entries(subject),
        *builder.medication_statement_entries(subject),
        *builder.observation_entries(subject),
    ]
    steps = list(plan.steps.order_by("number"))
    requests = builder.medication_requests(subject, steps, per_step)
    followups = builder.service_requests(subject, list(plan.followups.order_by("due_date", "id")), monitoring_names())
    builder.care_plan(subject, [*requests, *followups], supporting)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(plan.uuid, f"Bundle/{'per-step' if per_step else 'plan'}")),
        "type": "collection",
        "entry": builder.entries,
    }
