"""Counts that stop counting at a cap, shown as "99+" (see plans.worklist.capped_counts)."""

from django import template

from trialplanner.plans.worklist import COUNT_CAP
from trialplanner.plans.worklist import capped as capped_text

register = template.Library()


@register.filter
def capped(value, cap=COUNT_CAP):
    """100 -> '99+' (a count read with a LIMIT of cap + 1); 1234 -> '1,234' under a larger cap."""
    return capped_text(int(value or 0), int(cap))
