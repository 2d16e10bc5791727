"""Code-system and identifier-system URIs used in the FHIR resources this app reads and writes.

Standard systems come from trialplanner.catalog.codes; the `urn:trialplanner:` ones are this
app's own catalog keys, sent beside the standard code so a round trip never depends on a code
that is still empty in the catalog.
"""

from trialplanner.catalog.codes import DMD, LOINC, RXNORM, SNOMED, UCUM

__all__ = ["DMD", "LOINC", "RXNORM", "SNOMED", "UCUM"]

LOCAL_CONDITION = "urn:trialplanner:catalog:condition"
LOCAL_INDICATION = "urn:trialplanner:catalog:indication"
LOCAL_MEDICINE = "urn:trialplanner:catalog:interacting-drug"
LOCAL_OBSERVATION = "urn:trialplanner:catalog:observation"
LOCAL_FOLLOWUP = "urn:trialplanner:followup-kind"
PLAN_IDENTIFIER = "urn:trialplanner:plan"
PLAN_SERIES_IDENTIFIER = "urn:trialplanner:plan-series"
PATIENT_IDENTIFIER = "urn:trialplanner:patient"

CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DOSE_RATE_TYPE = "http://terminology.hl7.org/CodeSystem/dose-rate-type"
THERAPY_TYPE = "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy"


def mrn_system(clinic) -> str:
    """The identifier system of a clinic's MRNs: the clinic's own namespace."""
    return f"urn:uuid:{clinic.uuid}"
