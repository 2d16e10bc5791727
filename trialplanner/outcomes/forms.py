from datetime import timedelta

from django import forms

from trialplanner.inputs import HardenedFormMixin
from trialplanner.patients.forms import DateInput

MAX_PERIOD_DAYS = 3 * 366


class ReviewFilterForm(HardenedFormMixin, forms.Form):
    """Which trials the review counts: a clinic of the user's, an indication, the start period."""

    error_messages = {
        "order": "The end of the period must be on or after its start.",
        "too_long": "Choose a period of at most three years.",
    }

    clinic = forms.ChoiceField(label="Clinic", required=False)
    indication = forms.ChoiceField(required=False, label="Indication")
    start = forms.DateField(widget=DateInput(), label="Trials started from")
    end = forms.DateField(widget=DateInput(), label="to")

    def __init__(self, *args, clinics, indications, today, **kwargs):
        """`clinics`: [(uuid, name)] of the user's memberships; `indications`: [(slug, name)]."""
        super().__init__(*args, **kwargs)
        self.fields["clinic"].choices = clinics
        self.fields["clinic"].initial = clinics[0][0] if clinics else None
        if len(clinics) < 2:
            self.fields["clinic"].widget = forms.HiddenInput()
        self.fields["indication"].choices = [("", "All indications"), *indications]
        self.fields["start"].initial = today - timedelta(days=365)
        self.fields["end"].initial = today

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                self.add_error("end", forms.ValidationError(self.error_messages["order"], code="order"))
            elif (end - start).days > MAX_PERIOD_DAYS:
                self.add_error("start", forms.ValidationError(self.error_messages["too_long"], code="too_long"))
        return cleaned

    def chosen(self):
        """The filters to use: the cleaned ones, or the initial ones when the form is unbound or invalid."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data
        return {name: field.initial for name, field in self.fields.items()}
