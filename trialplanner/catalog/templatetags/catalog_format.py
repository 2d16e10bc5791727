"""Formatting filters only: clinical wording comes from the catalog, not from here."""

from decimal import Decimal

from django import template

from trialplanner.catalog.models import InteractingDrug
from trialplanner.engine import medicines

register = template.Library()


@register.filter
def mg(value):
    """10.00 -> '10 mg'; 2.50 -> '2.5 mg'."""
    if value is None or value == "":
        return ""
    number = Decimal(value).normalize()
    return f"{number:f} mg"


@register.filter
def number(value):
    if value is None or value == "":
        return ""
    return f"{Decimal(value).normalize():f}"


@register.filter
def weeks(days):
    """56 -> '8 weeks'; 10 -> '10 days'."""
    if days is None:
        return ""
    days = int(days)
    if days % 7 == 0:
        count = days // 7
        return f"{count} week" if count == 1 else f"{count} weeks"
    return f"{days} day" if days == 1 else f"{days} days"


@register.filter
def interaction_label(drug):
    """An ingredient's interaction class and the warnings its facts raise (engine.medicines.interaction_label)."""
    label = medicines.interaction_label(drug, dict(InteractingDrug.Action.choices))
    return label[:1].lower() + label[1:]
