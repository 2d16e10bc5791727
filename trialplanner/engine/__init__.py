"""The clinical engine: pure Python, no Django. Dates are arguments, never the clock.

Public entry points:
    assess_risk(profile, indication, protocol, rules, on) -> Assessment
    build_plan(protocol, assessment, start_date, options, rules) -> PlanDraft
    build_taper(current_mg, weeks_on_drug, start_date, rules, strengths) -> PlanDraft
    replan(decision, ...) -> PlanDraft            re-planning from a visit decision
    judge_response(measure, baseline, current) -> ResponseJudgement
    with_active_course(assessment, rules, active_course) -> Assessment   duplicate-therapy card
    assess_findings(findings, rules) -> findings of a visit (reference A.3)
"""

from trialplanner.engine.courses import with_active_course
from trialplanner.engine.errors import EngineError, EngineInputError, PlanBlocked
from trialplanner.engine.findings import Finding, VisitFindings, assess_findings
from trialplanner.engine.plan_types import (
    Adjustment,
    Decision,
    Dispense,
    FollowUp,
    FollowUpKind,
    Form,
    PlanDraft,
    PlanOptions,
    Step,
    StepKind,
    StrengthFacts,
    TabletCount,
)
from trialplanner.engine.response import MeasureFacts, ResponseJudgement, judge_response, response_level
from trialplanner.engine.risk import assess_risk
from trialplanner.engine.titration import build_plan, build_stop_now, build_taper, dispense, replan
from trialplanner.engine.types import (
    Action,
    Assessment,
    Card,
    DoseLimit,
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
    "Finding",
    "VisitFindings",
    "assess_findings",
    "build_stop_now",
    "Decision",
    "MeasureFacts",
    "ResponseJudgement",
    "judge_response",
    "response_level",
    "replan",
    "Adjustment",
    "Dispense",
    "FollowUp",
    "FollowUpKind",
    "Form",
    "PlanDraft",
    "PlanOptions",
    "Step",
    "StepKind",
    "StrengthFacts",
    "TabletCount",
    "build_plan",
    "build_taper",
    "dispense",
    "Action",
    "Assessment",
    "Card",
    "DoseLimit",
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
    "with_active_course",
]
