from datetime import date
from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from trialplanner.catalog.models import Condition
from trialplanner.clinictime import clinic_today
from trialplanner.engine import Medication
from trialplanner.engine.medicines import read_medicine
from trialplanner.engine.types import PHENOTYPES_BY_GENE
from trialplanner.inputs import HardenedFormMixin
from trialplanner.patients.models import Patient, RiskProfile
from trialplanner.patients.services import medication_row

# Plausibility bounds for data entry (catching typos such as a QTc of 4500), not
# clinical thresholds: those live in the catalog.
QTC_RANGE = (200, 800)
HEART_RATE_RANGE = (20, 250)
BP_RANGE = (40, 300)
POTASSIUM_RANGE = (Decimal("1.0"), Decimal("10.0"))
MAGNESIUM_RANGE = (Decimal("0.10"), Decimal("5.00"))
SODIUM_RANGE = (100, 200)
WEIGHT_RANGE = (Decimal("20"), Decimal("350"))
GLUCOSE_RANGE = (Decimal("1.0"), Decimal("50.0"))
EARLIEST_BIRTH = date(1900, 1, 1)


def _range(low, high, what):
    message = f"Enter {what} between {low} and {high}."
    return [MinValueValidator(low, message), MaxValueValidator(high, message)]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class PatientForm(HardenedFormMixin, forms.ModelForm):
    error_messages = {
        "future_birth": "The date of birth cannot be in the future.",
        "early_birth": "The date of birth cannot be before 1 January 1900.",
        "too_old": "Check the date of birth: that would make the patient older than 120.",
        "mrn_taken": "Another patient in this clinic already has this MRN.",
    }

    class Meta:
        model = Patient
        fields = ["clinic", "display_name", "mrn", "date_of_birth", "sex", "preferred_language", "phone"]
        widgets = {"date_of_birth": DateInput()}
        help_texts = {"sex": "Used for the sex-specific QTc thresholds."}

    def __init__(self, *args, clinics, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        # A birth date is checked against the patient's clinic's calendar (for a new patient, the
        # latest "today" among the clinics offered), never the server's.
        offered = [self.instance.clinic] if self.instance.pk else list(clinics)
        self.today = today or max((clinic_today(c) for c in offered), default=timezone.now().date())
        if "clinic" in self.fields:
            # Chosen by UUID, so no database id is exposed or parsed from the form.
            self.fields["clinic"].to_field_name = "uuid"
        self.fields["clinic"].queryset = clinics
        if self.instance.pk:
            del self.fields["clinic"]
        elif clinics.count() == 1:
            self.fields["clinic"].initial = clinics.first()
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        if born > self.today:
            raise forms.ValidationError(self.error_messages["future_birth"], code="future_birth")
        if born < EARLIEST_BIRTH:
            raise forms.ValidationError(self.error_messages["early_birth"], code="early_birth")
        if self.today.year - born.year > 120:
            raise forms.ValidationError(self.error_messages["too_old"], code="too_old")
        return born

    def clean(self):
        cleaned = super().clean()
        clinic = cleaned.get("clinic") or getattr(self.instance, "clinic", None)
        mrn = (cleaned.get("mrn") or "").strip()
        cleaned["mrn"] = mrn
        if clinic and mrn:
            clash = Patient.objects.filter(clinic=clinic, mrn=mrn).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("mrn", forms.ValidationError(self.error_messages["mrn_taken"], code="mrn_taken"))
        return cleaned

    def validate_unique(self):
        # The per-clinic MRN rule is checked in clean() with a message on the field.
        pass


class ConditionChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class RiskProfileForm(HardenedFormMixin, forms.ModelForm):
    multiline_fields = ["notes"]
    error_messages = {
        "future_ecg": "The ECG date cannot be in the future.",
        "future_date": "This date cannot be in the future.",
        "ecg_without_qtc": "Enter the QTc from this ECG, or clear the ECG date.",
        "qtc_without_ecg": "Enter the date of the ECG this QTc comes from.",
        "bp_pair": "Enter both the systolic and the diastolic value.",
        "bp_order": "The systolic value must be higher than the diastolic value.",
        "none_with_medicines": "Untick this, or clear the medicines listed below: it says the patient takes none.",
    }

    conditions = ConditionChoiceField(
        queryset=Condition.objects.select_related("rule").order_by("group", "display_order", "name"),
        to_field_name="slug",
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Tick every condition the patient has or has had.",
    )
    qtc_ms = forms.IntegerField(
        label="Latest QTc (ms)",
        required=False,
        validators=_range(*QTC_RANGE, "a QTc in ms"),
        help_text="Corrected QT interval from the most recent ECG.",
    )
    heart_rate = forms.IntegerField(
        label="Heart rate (beats/min)", required=False, validators=_range(*HEART_RATE_RANGE, "a heart rate")
    )
    bp_lying_systolic = forms.IntegerField(
        label="Lying systolic (mmHg)", required=False, validators=_range(*BP_RANGE, "a pressure in mmHg")
    )
    bp_lying_diastolic = forms.IntegerField(
        label="Lying diastolic (mmHg)", required=False, validators=_range(*BP_RANGE, "a pressure in mmHg")
    )
    bp_standing_systolic = forms.IntegerField(
        label="Standing systolic (mmHg)", required=False, validators=_range(*BP_RANGE, "a pressure in mmHg")
    )
    bp_standing_diastolic = forms.IntegerField(
        label="Standing diastolic (mmHg)", required=False, validators=_range(*BP_RANGE, "a pressure in mmHg")
    )
    potassium = forms.DecimalField(
        label="Potassium (mmol/L)",
        required=False,
        max_digits=4,
        decimal_places=1,
        validators=_range(*POTASSIUM_RANGE, "a potassium"),
    )
    magnesium = forms.DecimalField(
        label="Magnesium (mmol/L)",
        required=False,
        max_digits=4,
        decimal_places=2,
        validators=_range(*MAGNESIUM_RANGE, "a magnesium"),
    )
    sodium = forms.IntegerField(label="Sodium (mmol/L)", required=False, validators=_range(*SODIUM_RANGE, "a sodium"))
    weight_kg = forms.DecimalField(
        label="Weight (kg)",
        required=False,
        max_digits=5,
        decimal_places=1,
        validators=_range(*WEIGHT_RANGE, "a weight"),
        help_text="Used for the self-harm supply limit (mg per kg).",
    )

    class Meta:
        model = RiskProfile
        fields = [
            "conditions", "frail", "falls", "pregnant", "breastfeeding", "alcohol", "self_harm_last_12_months",
            "cyp2d6", "cyp2c19", "qtc_ms", "ecg_date", "heart_rate", "bp_lying_systolic", "bp_lying_diastolic",
            "bp_standing_systolic", "bp_standing_diastolic", "bp_date", "potassium", "magnesium", "sodium",
            "bloods_date", "weight_kg", "medicines_none", "notes",
        ]  # fmt: skip
        widgets = {"ecg_date": DateInput(), "bp_date": DateInput(), "bloods_date": DateInput(),
                   "notes": forms.Textarea(attrs={"rows": 3})}  # fmt: skip
        help_texts = {
            "frail": "Clinician's judgement of frailty.",
            "alcohol": "Heavy use adds a sedation and falls warning.",
            "self_harm_last_12_months": "Limits each supply and prompts a mental-health review.",
            "cyp2d6": "Only if a pharmacogenomic result is on record.",
            "notes": "Anything else relevant to the trial (not shown on handouts).",
            "bloods_date": "With a date, recent results count as done and are not asked for again.",
            "bp_date": "With a date, a recent lying and standing reading is not asked for again.",
        }

    def __init__(self, *args, today, medicines=None, **kwargs):
        """`today`: the patient's clinic's today (clinictime.clinic_today); `medicines`: the bound
        medicines formset, checked against the "reviewed: none" tick."""
        super().__init__(*args, **kwargs)
        self.today = today
        self.medicines = medicines
        for gene, allowed in PHENOTYPES_BY_GENE.items():
            values = {p.value for p in allowed}
            self.fields[gene].choices = [(v, label) for v, label in self.fields[gene].choices if not v or v in values]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Fieldset(
                "The person",
                Row(Column("frail"), Column("falls")),
                Row(Column("pregnant"), Column("breastfeeding")),
                Row(Column("alcohol"), Column("self_harm_last_12_months")),
            ),
            Fieldset("Pharmacogenomics", Row(Column("cyp2d6"), Column("cyp2c19"))),
            Fieldset(
                "ECG and observations",
                Row(Column("qtc_ms"), Column("ecg_date"), Column("heart_rate")),
                Row(
                    Column("bp_lying_systolic"),
                    Column("bp_lying_diastolic"),
                    Column("bp_standing_systolic"),
                    Column("bp_standing_diastolic"),
                    Column("bp_date"),
                ),
                Row(Column("weight_kg")),
            ),
            Fieldset(
                "Blood tests (if known)",
                Row(Column("potassium"), Column("magnesium"), Column("sodium"), Column("bloods_date")),
            ),
            Fieldset("Notes", "notes"),
        )

    def condition_groups(self):
        """The condition checkboxes grouped as the catalog groups them."""
        labels = dict(Condition.Group.choices)
        groups = {}
        for checkbox in self["conditions"]:
            condition = checkbox.data["value"].instance
            groups.setdefault(condition.group, []).append(checkbox)
        order = [g for g, _ in Condition.Group.choices]
        return [(labels[g], groups[g]) for g in order if g in groups]

    def clean_ecg_date(self):
        day = self.cleaned_data.get("ecg_date")
        if day and day > self.today:
            raise forms.ValidationError(self.error_messages["future_ecg"], code="future_ecg")
        return day

    def _not_future(self, name):
        day = self.cleaned_data.get(name)
        if day and day > self.today:
            raise forms.ValidationError(self.error_messages["future_date"], code="future_date")
        return day

    def clean_bloods_date(self):
        return self._not_future("bloods_date")

    def clean_bp_date(self):
        return self._not_future("bp_date")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("ecg_date") and cleaned.get("qtc_ms") is None and "qtc_ms" not in self.errors:
            self.add_error(
                "qtc_ms", forms.ValidationError(self.error_messages["ecg_without_qtc"], code="ecg_without_qtc")
            )
        if cleaned.get("qtc_ms") is not None and not cleaned.get("ecg_date") and "ecg_date" not in self.errors:
            self.add_error(
                "ecg_date", forms.ValidationError(self.error_messages["qtc_without_ecg"], code="qtc_without_ecg")
            )
        for position in ("lying", "standing"):
            systolic, diastolic = f"bp_{position}_systolic", f"bp_{position}_diastolic"
            if systolic in self.errors or diastolic in self.errors:
                continue
            sys_value, dia_value = cleaned.get(systolic), cleaned.get(diastolic)
            if (sys_value is None) != (dia_value is None):
                missing = systolic if sys_value is None else diastolic
                self.add_error(missing, forms.ValidationError(self.error_messages["bp_pair"], code="bp_pair"))
            elif sys_value is not None and sys_value <= dia_value:
                self.add_error(systolic, forms.ValidationError(self.error_messages["bp_order"], code="bp_order"))
        if cleaned.get("medicines_none") and self._medicines_listed():
            self.add_error(
                "medicines_none",
                forms.ValidationError(self.error_messages["none_with_medicines"], code="none_with_medicines"),
            )
        return cleaned

    def _medicines_listed(self):
        if self.medicines is None:
            return False
        self.medicines.is_valid()  # cleans each row, valid or not
        return any(getattr(row, "cleaned_data", {}).get("name") for row in self.medicines.forms)


class MedicationForm(HardenedFormMixin, forms.Form):
    error_messages = {
        "stop_before_start": "The stop date cannot be before the start date.",
        "future_start": "The start date cannot be in the future.",
        "future_stop": "The last dose cannot be in the future: enter the stop date once it has been taken.",
        "dates_without_name": "Enter the medicine's name, or clear the dates.",
        "unknown_confirmation": "Confirm with a medicine name from the catalog list.",
        "confirmation_without_name": "Enter the medicine as written before confirming what it is.",
        "not_amitriptyline": "Only an amitriptyline line can be marked as this course.",
    }

    name = forms.CharField(
        max_length=120,
        required=False,
        label="Medicine and dose as written",
        widget=forms.TextInput(attrs={"list": "drug-names", "autocomplete": "off", "data-medicine-name": ""}),
    )
    confirmed_as = forms.CharField(
        max_length=100,
        required=False,
        label="Confirmed as",
        help_text="Only for a name the catalog did not recognise: the catalog medicine you confirm it is.",
        widget=forms.TextInput(attrs={"list": "drug-names", "autocomplete": "off"}),
    )
    daily_mg = forms.DecimalField(
        required=False,
        label="Daily dose (mg)",
        min_value=Decimal("0.01"),
        max_value=Decimal("99999"),
        max_digits=7,
        decimal_places=2,
        help_text="Only to correct the daily dose read from the line (mg of its first ingredient).",
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    this_course = forms.BooleanField(
        required=False,
        label="This course",
        help_text="Tick if this amitriptyline line is the course being planned here, not a second course.",
    )
    started_on = forms.DateField(required=False, label="Started", widget=DateInput())
    stopped_on = forms.DateField(
        required=False,
        label="Stopped (last dose)",
        widget=DateInput(),
        help_text="Only for recently stopped medicines, e.g. an MAOI.",
    )

    def __init__(self, *args, today, rules=None, **kwargs):
        """`today`: the patient's clinic's today (clinictime.clinic_today)."""
        super().__init__(*args, **kwargs)
        self.today = today
        self.rules = rules
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control"
        self.fields["this_course"].widget.attrs["class"] = "form-check-input"
        self.reading = self._reading()
        if self.reading is not None:
            self.fields["name"].widget.attrs["aria-describedby"] = self.reading_id

    @property
    def reading_id(self):
        return f"{self['name'].id_for_label}-reading"

    def _reading(self):
        """The engine's reading of the line as entered (saved or submitted), as the patient page shows it."""
        name = (self["name"].value() or "").strip()
        if self.rules is None or not name:
            return None
        confirmed = (self["confirmed_as"].value() or "").strip()
        return read_medicine(self.rules, Medication(name, confirmed_as=confirmed, daily_mg=self._daily_mg()))

    def _daily_mg(self):
        """The corrected daily dose as typed, when it is a usable number (the field's own errors say otherwise)."""
        try:
            value = self.fields["daily_mg"].clean(self["daily_mg"].value())
        except forms.ValidationError:
            return None
        return value

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["class"] = "form-control is-invalid"
                attrs["aria-invalid"] = "true"
                described = [f"{self[name].id_for_label}-error"]
                if name == "name" and self.reading is not None:
                    described.append(self.reading_id)
                attrs["aria-describedby"] = " ".join(described)

    def clean(self):
        cleaned = super().clean()
        name = (cleaned.get("name") or "").strip()
        cleaned["name"] = name
        started, stopped = cleaned.get("started_on"), cleaned.get("stopped_on")
        if not name and (started or stopped):
            self.add_error(
                "name", forms.ValidationError(self.error_messages["dates_without_name"], code="dates_without_name")
            )
        if started and started > self.today:
            self.add_error(
                "started_on", forms.ValidationError(self.error_messages["future_start"], code="future_start")
            )
        if stopped and stopped > self.today:
            self.add_error("stopped_on", forms.ValidationError(self.error_messages["future_stop"], code="future_stop"))
        if started and stopped and stopped < started:
            self.add_error(
                "stopped_on", forms.ValidationError(self.error_messages["stop_before_start"], code="stop_before_start")
            )
        confirmed = (cleaned.get("confirmed_as") or "").strip()
        cleaned["confirmed_as"] = confirmed
        if confirmed and not name:
            self.add_error("confirmed_as", self._error("confirmation_without_name"))
        elif confirmed and self.rules is not None and self.rules.find_drug(confirmed) is None:
            self.add_error("confirmed_as", self._error("unknown_confirmation"))
        if cleaned.get("this_course") and self.rules is not None and name:
            reading = read_medicine(self.rules, Medication(name, confirmed_as=confirmed))
            if not any(d.is_amitriptyline for d in reading.ingredients):
                self.add_error("this_course", self._error("not_amitriptyline"))
        return cleaned

    def _error(self, code):
        return forms.ValidationError(self.error_messages[code], code=code)


class BaseMedicationFormSet(forms.BaseFormSet):
    def __init__(self, *args, today=None, rules=None, **kwargs):
        self.today = today
        self.rules = rules
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "today": self.today, "rules": self.rules}

    def entries(self):
        """Cleaned, non-empty rows as dicts."""
        return [f.cleaned_data for f in self.forms if f.cleaned_data.get("name")]


MedicationFormSet = forms.formset_factory(
    MedicationForm, formset=BaseMedicationFormSet, extra=5, max_num=200, validate_max=True
)


def medication_initial(profile):
    if profile is None:
        return []
    return [medication_row(m) for m in profile.medications.all()]
