"""One amitriptyline course at a time: the duplicate-therapy finding (reference A.2, S3).

The patient's other active plans are records the engine does not hold, so the caller says
which course is active; this module only turns that into the catalog's critical card.
"""

from dataclasses import replace

from trialplanner.engine.types import Assessment, Card, RuleBook

DUPLICATE_COURSE = "duplicate-course"


def with_active_course(assessment: Assessment, rules: RuleBook, active_course: str) -> Assessment:
    """Add the critical duplicate-therapy card for `active_course` (catalog rule duplicate-course, S3)."""
    rule = rules.rule(DUPLICATE_COURSE)
    card = Card(
        code=rule.code,
        indicator=rule.indicator,
        action=rule.action,
        title=rule.title,
        summary=rule.summary,
        detail=f"Active now: {active_course}. {rule.detail}",
        sources=rule.sources,
        subjects=(active_course,),
        order=rule.order,
    )
    return replace(assessment, cards=tuple(sorted((*assessment.cards, card), key=lambda c: c.sort_key)))
