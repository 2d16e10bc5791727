"""Formatting filters for plan pages: the wording itself comes from the engine."""

from django import template

from trialplanner.plans import selectors

register = template.Library()


@register.filter
def directions(rows):
    """Dose-table rows -> the whole plan as one prescription direction."""
    return selectors.directions(rows)
