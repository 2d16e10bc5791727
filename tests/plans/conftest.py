from datetime import timedelta

from tests.conftest import PLAN_START as START
from trialplanner.plans import services
from trialplanner.plans.models import FollowUp, Visit

__all__ = ["START", "with_history"]


def with_history(plan, user, *, visits, followups):
    """The plan's latest version after `visits` weekly visits (each re-plans into a new version),
    with `followups` more periodic follow-ups booked on it: a larger record to render."""
    for week in range(1, visits + 1):
        due = plan.followups.filter(status=FollowUp.Status.DUE).order_by("due_date").first()
        _, plan = services.followup_record_visit(
            followup=due,
            user=user,
            visit_date=START + timedelta(weeks=week),
            outcome_score=None,
            side_effects=[Visit.SideEffect.DRY_MOUTH],
            side_effects_other="",
            adherence=Visit.Adherence.ALL,
            qtc_ms=None,
            decision=Visit.Decision.CONTINUE,
            notes="",
            mood=Visit.Mood.USUAL,
            self_harm_thoughts=False,
        )
    extra = [
        FollowUp(plan=plan, due_date=plan.end_date + timedelta(weeks=n), kind=FollowUp.Kind.PERIODIC)
        for n in range(1, followups + 1)
    ]
    for followup in extra:
        followup.fill_worklist_fields(plan)
    FollowUp.objects.bulk_create(extra)
    return plan
