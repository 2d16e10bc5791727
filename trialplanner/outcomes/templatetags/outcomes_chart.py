"""The trajectory include: `{% load outcomes_chart %}{% trajectory_chart plan %}` on a plan page."""

from django import template

from trialplanner.outcomes.trajectory import trajectory

register = template.Library()


@register.inclusion_tag("outcomes/includes/trajectory.html")
def trajectory_chart(plan):
    """Render the trajectory of `plan`'s series (its own reads, so the plan page needs one line)."""
    return {"t": trajectory(plan)}
