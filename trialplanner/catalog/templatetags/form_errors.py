"""The error summary every form shows above itself: one list of what to fix, each item a link."""

from django import forms, template

register = template.Library()


def _anchor(bound):
    """The id of the control a summary link moves to (the first box of a group of choices)."""
    widget = bound.field.widget
    if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
        return f"{bound.auto_id}_0"
    return bound.auto_id


def _items(form, row=None):
    for error in form.non_field_errors():
        yield {"label": "", "message": error, "anchor": ""}
    for bound in form:
        label = bound.label if row is None else f"{bound.label} (row {row})"
        for error in bound.errors:
            yield {"label": label, "message": error, "anchor": _anchor(bound) if not bound.is_hidden else ""}


def error_items(*forms_or_formsets):
    items = []
    for thing in forms_or_formsets:
        if not thing or not getattr(thing, "is_bound", False):
            continue
        if isinstance(thing, forms.BaseFormSet):
            items += [{"label": "", "message": e, "anchor": ""} for e in thing.non_form_errors()]
            for number, form in enumerate(thing.forms, start=1):
                items += _items(form, row=number)
        else:
            items += _items(thing)
    return items


@register.inclusion_tag("includes/error_summary.html")
def error_summary(*forms_or_formsets):
    """`{% error_summary form formset %}`: nothing when they are valid or unbound."""
    return {"items": error_items(*forms_or_formsets)}
