"""Formatting filters for handouts: dates in the reader's language and typographic convention."""

from django import template
from django.utils import translation
from django.utils.dateformat import format as date_format

register = template.Library()

# Languages whose month and weekday names are written in lower case (Django's Spanish
# abbreviations are capitalised: "Dic"; Spanish writes "dic").
LOWERCASE_DATES = {"es"}


@register.filter
def patient_date(value, fmt):
    """A date in the active language, in lower case where that language writes dates so."""
    if not value:
        return ""
    text = date_format(value, fmt)
    return text.lower() if translation.get_language() in LOWERCASE_DATES else text
