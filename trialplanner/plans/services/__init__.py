"""Writes to plans: the only bridge from plan records to the engine. Each service is one transaction.

One module per job; import from here (`from trialplanner.plans import services`):
- `engine_io`: catalog and plan rows in as engine inputs, engine results out as JSON;
- `errors`: what the services raise;
- `records`: write steps the services share (save a built plan, locks, closing follow-ups);
- `lifecycle`: create, activate, revise, stop, mark entered in error;
- `followups`: call later, did not attend, book the appointment;
- `visits`: record a visit, its findings and its re-plan.
Reads live in `plans/selectors.py`.
"""

from trialplanner.plans.selectors import baseline_score, dose_on
from trialplanner.plans.services.engine_io import (
    INTERACTION_LABELS,
    adjustment_json,
    card_json,
    draft_json,
    drug_facts_json,
    followup_json,
    measure_facts,
    medicine_json,
    plan_assess,
    plan_options,
    plan_preview,
    step_json,
    strengths,
)
from trialplanner.plans.services.errors import (
    AcknowledgementRequired,
    DecisionRefused,
    FieldRefused,
    PlanConflict,
    PlanError,
    StaleDraft,
)
from trialplanner.plans.services.followups import (
    SNOOZE_DAYS,
    followup_book,
    followup_is_open,
    followup_mark_missed,
    followup_snooze,
)
from trialplanner.plans.services.lifecycle import (
    REVISE_REFUSED,
    CardReason,
    plan_activate,
    plan_create,
    plan_mark_entered_in_error,
    plan_revisable,
    plan_revise,
    plan_stop,
)
from trialplanner.plans.services.records import OPEN_FOLLOWUP
from trialplanner.plans.services.visits import (
    BP_FIELDS,
    FINDING_FLAGS,
    PROFILE_VALUES,
    URINARY_RETENTION_CONDITION,
    followup_record_visit,
    visit_findings,
)

__all__ = [
    "BP_FIELDS",
    "FINDING_FLAGS",
    "INTERACTION_LABELS",
    "OPEN_FOLLOWUP",
    "PROFILE_VALUES",
    "REVISE_REFUSED",
    "CardReason",
    "SNOOZE_DAYS",
    "URINARY_RETENTION_CONDITION",
    "AcknowledgementRequired",
    "DecisionRefused",
    "FieldRefused",
    "PlanConflict",
    "PlanError",
    "StaleDraft",
    "adjustment_json",
    "baseline_score",
    "card_json",
    "dose_on",
    "draft_json",
    "drug_facts_json",
    "followup_json",
    "followup_book",
    "followup_is_open",
    "followup_mark_missed",
    "followup_record_visit",
    "followup_snooze",
    "measure_facts",
    "medicine_json",
    "plan_activate",
    "plan_assess",
    "plan_create",
    "plan_mark_entered_in_error",
    "plan_options",
    "plan_preview",
    "plan_revisable",
    "plan_revise",
    "plan_stop",
    "step_json",
    "strengths",
    "visit_findings",
]
