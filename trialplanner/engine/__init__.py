"""The clinical engine: pure Python, no Django. Dates are arguments, never the clock.

Public entry points:
    assess_risk(profile, indication, protocol, rules, on) -> Assessment
"""

from trialplanner.engine.errors import EngineError, EngineInputError, PlanBlocked
from trialplanner.engine.risk import assess_risk
from trialplanner.engine.types import (
    Action,
    Assessment,
    Card,
    DrugFacts,
    Effects,
    IndicationFacts,
    Indicator,
    Medication,
    PatientProfile,
    ProtocolFacts,
    RuleBook,
    RuleText,
    SourceRef,
    StartDose,
)

__all__ = [
    "Action",
    "Assessment",
    "Card",
    "DrugFacts",
    "Effects",
    "EngineError",
    "EngineInputError",
    "IndicationFacts",
    "Indicator",
    "Medication",
    "PatientProfile",
    "PlanBlocked",
    "ProtocolFacts",
    "RuleBook",
    "RuleText",
    "SourceRef",
    "StartDose",
    "assess_risk",
]
