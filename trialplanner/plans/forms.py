import re
from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from trialplanner.catalog import selectors as catalog_selectors
from trialplanner.catalog.models import Strength
from trialplanner.engine import EngineInputError, PlanBlocked
from trialplanner.engine.titration import dose_grid
from trialplanner.inputs import HardenedFormMixin
from trialplanner.patients.forms import (
    BP_RANGE,
    GLUCOSE_RANGE,
    HEART_RATE_RANGE,
    MAGNESIUM_RANGE,
    POTASSIUM_RANGE,
    QTC_RANGE,
    SODIUM_RANGE,
    WEIGHT_RANGE,
    DateInput,
)
from trialplanner.plans import dates
from trialplanner.plans.models import FollowUp, Plan, Visit
from trialplanner.plans.services.lifecycle import CardReason

# The largest value of the lock_version column (a 32-bit integer on PostgreSQL).
LOCK_VERSION_MAX = 2**31 - 1

# Engine input names -> the form field that caused the error.
ENGINE_FIELDS = {
    "decision": "decision",
    "target_mg": "target_mg",
    "start_date": "start_date",
    "days_per_step": "days_per_step",
    "strength_mg": "tablet_strength_mg",
}


def add_engine_error(form, exc):
    """The one adapter from engine errors to form errors, attached to the field at fault."""
    if isinstance(exc, PlanBlocked):
        titles = "; ".join(card.title for card in exc.cards)
        if "decision" in form.fields:  # at a visit: only the rise is refused, a safer decision is not
            form.add_error(
                "decision",
                f"No continuing or rising while a critical finding stands: {titles}. Choose hold, step down or stop.",
            )
        else:
            form.add_error(None, f"The plan is blocked by critical findings: {titles}.")
    elif isinstance(exc, EngineInputError) and ENGINE_FIELDS.get(exc.field) in form.fields:
        form.add_error(ENGINE_FIELDS[exc.field], f"This {exc.message}.".replace("This must", "Must"))
    else:
        form.add_error(None, str(exc))


def target_choices(protocol):
    """Doses a clinician may plan up to: the protocol's dose grid from the start dose up."""
    grid = dose_grid(catalog_selectors.protocol_facts(protocol))
    return [(f"{v.normalize():f}", _label(v, protocol)) for v in grid if v >= protocol.start_mg]


def _label(value, protocol):
    label = f"{value.normalize():f} mg"
    if value == protocol.default_target_mg:
        label += " (usual target)"
    if value == protocol.ceiling_mg:
        label += " (ceiling)"
    return label


# The engine's default target: the protocol's, or lower for frailty or dementia (reference A.4).
DEFAULT_TARGET_LABEL = "Default for this patient"


class PlanForm(HardenedFormMixin, forms.Form):
    error_messages = {
        "past_start": f"The start date cannot be more than {dates.PLAN_START_PAST_DAYS} days in the past.",
        "far_start": f"The start date cannot be more than {dates.PLAN_START_AHEAD_DAYS} days ahead.",
        "score_range": "Enter a score from {low} to {high}.",
    }

    start_date = forms.DateField(widget=DateInput(), help_text="The first night of the first dose.")
    target_mg = forms.TypedChoiceField(
        label="Planned target (mg at night)",
        coerce=Decimal,
        required=False,
        empty_value=None,
        help_text="Titration stops here; the patient stops rising earlier if a lower dose helps. The default is "
        "the usual target, lower for a frail patient or one with dementia.",
    )
    tablet_strength_mg = forms.TypedChoiceField(
        label="Tablet strength",
        coerce=Decimal,
        help_text="Preferred strength. Each step uses one strength in the fewest whole tablets (50 mg is one "
        "50 mg tablet); doses below 10 mg are given as liquid.",
    )
    days_per_step = forms.IntegerField(
        label="Days per step",
        required=False,
        min_value=1,
        max_value=90,
        help_text="Leave empty for the minimum the protocol and the findings allow.",
    )

    def __init__(self, *args, protocol, today, measure=None, **kwargs):
        """`today`: the patient's clinic's today (clinictime.clinic_today). With `measure` (a new
        plan), the form also asks for the baseline score on it."""
        super().__init__(*args, **kwargs)
        self.measure = measure
        if measure is not None:
            self.fields["baseline_score"] = forms.DecimalField(
                required=False,
                max_digits=6,
                decimal_places=1,
                label=f"Baseline {measure.short_name}",
                help_text=_scale_text(measure) + " Before the first dose; leave empty to record it at the baseline "
                "visit. Response is judged against it.",
            )
        self.today = today
        self.fields["target_mg"].choices = [("", DEFAULT_TARGET_LABEL), *target_choices(protocol)]
        self.fields["target_mg"].initial = ""
        tablets = Strength.objects.filter(is_active=True, form=Strength.Form.TABLET, drug__slug="amitriptyline")
        self.fields["tablet_strength_mg"].choices = [
            (f"{s.amount_mg.normalize():f}", f"{s.amount_mg.normalize():f} mg tablets") for s in tablets
        ]
        self.fields["tablet_strength_mg"].initial = self.fields["tablet_strength_mg"].choices[0][0]
        self.fields["start_date"].initial = self.today

    def clean_start_date(self):
        start = self.cleaned_data["start_date"]
        if start < dates.days_from(self.today, -dates.PLAN_START_PAST_DAYS):
            raise forms.ValidationError(self.error_messages["past_start"], code="past_start")
        if start > dates.days_from(self.today, dates.PLAN_START_AHEAD_DAYS):
            raise forms.ValidationError(self.error_messages["far_start"], code="far_start")
        return start

    def clean_baseline_score(self):
        return clean_score(self.cleaned_data.get("baseline_score"), self.measure, self.error_messages)


def _scale_text(measure):
    if measure.scale_min is None or measure.scale_max is None:
        return f"{measure.name}."
    return f"{measure.short_name}: {measure.scale_min.normalize():f} to {measure.scale_max.normalize():f} " \
        f"{measure.unit}".rstrip() + "."  # fmt: skip


def clean_score(score, measure, error_messages):
    """The score if it lies on the measure's scale, else a ValidationError with code score_range."""
    low, high = measure.scale_min, measure.scale_max
    if score is not None and low is not None and high is not None and not low <= score <= high:
        message = error_messages["score_range"].format(low=f"{low.normalize():f}", high=f"{high.normalize():f}")
        raise forms.ValidationError(message, code="score_range")
    return score


class ReasonForm(HardenedFormMixin, forms.Form):
    # The plan page shows this form and StopForm together: distinct ids keep each label,
    # help text and error-summary link tied to its own field (field names stay the same).
    id_prefix = "error"

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    lock_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=LOCK_VERSION_MAX)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class StopForm(ReasonForm):
    id_prefix = "stop"
    error_messages = {
        "other_missing": "Describe why the trial is stopped.",
        "past_stop": "The taper cannot start in the past: use today or a later day.",
        "far_stop": f"The taper cannot start more than {dates.STOP_AHEAD_DAYS} days ahead.",
    }

    stop_reason = forms.ChoiceField(
        choices=Plan.StopReason.choices,
        widget=forms.RadioSelect,
        label="Why is the trial stopped?",
        error_messages={"required": "Choose why the trial is stopped."},
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        required=False,
        label="Details",
        help_text="Which side effect or finding, or what the patient decided. Required for Other.",
    )
    stop_date = forms.DateField(widget=DateInput(), label="First day of the taper")

    field_order = ["stop_reason", "reason", "stop_date", "lock_version"]

    def __init__(self, *args, today, **kwargs):
        """`today`: the patient's clinic's today (clinictime.clinic_today)."""
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_stop_date(self):
        day = self.cleaned_data["stop_date"]
        if day < self.today:
            raise forms.ValidationError(self.error_messages["past_stop"], code="past_stop")
        if day > dates.days_from(self.today, dates.STOP_AHEAD_DAYS):
            raise forms.ValidationError(self.error_messages["far_stop"], code="far_stop")
        return day

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("stop_reason") == Plan.StopReason.OTHER and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", forms.ValidationError(self.error_messages["other_missing"], code="other_missing"))
        return cleaned


OWN_WORDS = "own"


class ActivateForm(HardenedFormMixin, forms.Form):
    """Per warning card, the reason to go ahead: one of the rule's preset reasons from the catalog
    (`preset_<code>`), the clinician's own words (`reason_<code>`), or a preset with added details."""

    error_messages = {
        "reason_missing": "Choose a reason or write one: record why the plan goes ahead despite this warning.",
        "own_words_missing": "Write the reason, or choose one of the reasons above.",
        "details_missing": "The reason chosen asks for details: write them here.",
        "advice_by_missing": "Record who gave the specialist advice: this warning accepts no other reason.",
        "advice_on_missing": "Record the date the specialist advice was given.",
        "advice_on_future": "The advice date cannot be in the future.",
    }
    own_words_label = "Another reason (write it below)"

    lock_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=LOCK_VERSION_MAX)

    def __init__(self, *args, warnings, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.warnings = warnings
        self.today = today
        presets = catalog_selectors.reason_presets([card.code for card in warnings])
        self.preset_texts = {}
        self.presets_needing_details = {}
        for card in warnings:
            if card.needs_specialist_advice:
                self._advice_fields(card)
                continue
            options = presets.get(card.code, [])
            self.preset_texts[card.code] = {preset.key: preset.text for preset in options}
            self.presets_needing_details[card.code] = {preset.key for preset in options if preset.needs_details}
            label = f"Reason to go ahead despite: {card.title}"
            if options:
                self.fields[f"preset_{card.code}"] = forms.ChoiceField(
                    label=label,
                    required=False,
                    widget=forms.RadioSelect,
                    choices=[*((p.key, p.text) for p in options), (OWN_WORDS, self.own_words_label)],
                )
            self.fields[f"reason_{card.code}"] = forms.CharField(
                label="Details, or your own reason" if options else label,
                required=False,
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 2}),
                help_text="Added after the reason chosen above." if options else "",
            )

    def _advice_fields(self, card):
        """A card that accepts only recorded specialist advice: who gave it, when, and what was advised."""
        self.fields[f"advice_by_{card.code}"] = forms.CharField(
            label="Specialist advice from",
            required=False,
            max_length=200,
            help_text="Name and role, e.g. Dr A Patel, cardiology.",
        )
        self.fields[f"advice_on_{card.code}"] = forms.DateField(
            label="Advice given on", required=False, widget=DateInput()
        )
        self.fields[f"reason_{card.code}"] = forms.CharField(
            label="What was advised (optional)",
            required=False,
            max_length=2000,
            widget=forms.Textarea(attrs={"rows": 2}),
        )

    def _names(self, card):
        if card.needs_specialist_advice:
            return (f"advice_by_{card.code}", f"advice_on_{card.code}", f"reason_{card.code}")
        return (f"preset_{card.code}", f"reason_{card.code}")

    def card_fields(self):
        """(card, its reason fields) in card order, so each card's reason sits under it."""
        return [(card, [self[name] for name in self._names(card) if name in self.fields]) for card in self.warnings]

    def clean(self):
        cleaned = super().clean()
        self._reasons = {}
        for card in self.warnings:
            if card.needs_specialist_advice:
                self._clean_advice(card, cleaned)
                continue
            preset_name, text_name = f"preset_{card.code}", f"reason_{card.code}"
            if preset_name in self.errors or text_name in self.errors:
                continue
            preset = cleaned.get(preset_name) or ""
            words = (cleaned.get(text_name) or "").strip()
            chosen = self.preset_texts[card.code].get(preset, "")
            if chosen and not words and preset in self.presets_needing_details[card.code]:
                self._error(text_name, "details_missing")
            elif chosen and words:
                self._reasons[card.code] = CardReason(f"{chosen.rstrip('.')}. {words}")
            elif chosen or words:
                self._reasons[card.code] = CardReason(chosen or words)
            elif preset == OWN_WORDS:
                self._error(text_name, "own_words_missing")
            else:
                self._error(preset_name if preset_name in self.fields else text_name, "reason_missing")
        return cleaned

    def _clean_advice(self, card, cleaned):
        by_name, on_name, text_name = self._names(card)
        if any(name in self.errors for name in (by_name, on_name, text_name)):
            return
        advice_by = (cleaned.get(by_name) or "").strip()
        advice_on = cleaned.get(on_name)
        if not advice_by:
            self._error(by_name, "advice_by_missing")
        if advice_on is None:
            self._error(on_name, "advice_on_missing")
        elif self.today is not None and advice_on > self.today:
            self._error(on_name, "advice_on_future")
        if advice_by and advice_on is not None and on_name not in self.errors:
            self._reasons[card.code] = CardReason((cleaned.get(text_name) or "").strip(), advice_by, advice_on)

    def _error(self, field, code):
        self.add_error(field, forms.ValidationError(self.error_messages[code], code=code))

    def reasons(self):
        """Card code -> its CardReason: the preset chosen, the words typed, or both; or the specialist advice."""
        return {card.code: self._reasons.get(card.code, CardReason()) for card in self.warnings}


YES_NO = [("no", "No"), ("yes", "Yes")]


def _int_range(low, high, what):
    message = f"Enter {what} between {low} and {high}."
    return [MinValueValidator(low, message), MaxValueValidator(high, message)]


class VisitForm(HardenedFormMixin, forms.Form):
    """A visit: outcome, side effects, the findings of reference A.3, and the decision."""

    multiline_fields = ["notes"]
    error_messages = {
        "future_visit": "The visit date cannot be in the future.",
        "old_visit": f"The visit date cannot be more than {dates.VISIT_PAST_DAYS} days ago.",
        "before_plan": "The visit date cannot be before the plan started.",
        "score_range": "Enter a score from {low} to {high}.",
        "other_missing": "Describe the other side effect.",
        "future_ecg": "The ECG date cannot be in the future.",
        "ecg_without_qtc": "Enter the QTc from this ECG, or clear the ECG date.",
        "bp_pair": "Enter both the systolic and the diastolic value.",
        "bp_order": "The systolic value must be higher than the diastolic value.",
        "bp_lying_standing": "Enter the lying and the standing blood pressure, to check for a fall on standing.",
        "stop_reason_missing": "Choose why the trial is stopped.",
        "stop_other_missing": "Describe why the trial is stopped.",
    }

    visit_date = forms.DateField(widget=DateInput())
    outcome_score = forms.DecimalField(required=False, max_digits=6, decimal_places=1)
    side_effects = forms.MultipleChoiceField(
        choices=Visit.SideEffect.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Side effects reported",
    )
    side_effects_other = forms.CharField(max_length=200, required=False, label="Other side effect")
    adherence = forms.ChoiceField(choices=Visit.Adherence.choices, widget=forms.RadioSelect, initial="all")
    # Asked at every visit (reference A.3; S4 S47).
    mood = forms.ChoiceField(choices=Visit.Mood.choices, widget=forms.RadioSelect, label="Mood since the last visit")
    self_harm_thoughts = forms.TypedChoiceField(
        choices=YES_NO,
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        label="Thoughts of self-harm or suicide since the last visit?",
        error_messages={"required": "Ask about thoughts of self-harm or suicide at every visit; record the answer."},
    )
    # Measurements: each optional, range-checked against plausible values (typos), not clinical thresholds.
    bp_lying_systolic = forms.IntegerField(
        label="Lying systolic (mmHg)", required=False, validators=_int_range(*BP_RANGE, "a pressure in mmHg")
    )
    bp_lying_diastolic = forms.IntegerField(
        label="Lying diastolic (mmHg)", required=False, validators=_int_range(*BP_RANGE, "a pressure in mmHg")
    )
    bp_standing_systolic = forms.IntegerField(
        label="Standing systolic (mmHg)",
        required=False,
        validators=_int_range(*BP_RANGE, "a pressure in mmHg"),
        help_text="Within 3 minutes of standing.",
    )
    bp_standing_diastolic = forms.IntegerField(
        label="Standing diastolic (mmHg)", required=False, validators=_int_range(*BP_RANGE, "a pressure in mmHg")
    )
    heart_rate = forms.IntegerField(
        label="Heart rate (beats/min)", required=False, validators=_int_range(*HEART_RATE_RANGE, "a heart rate")
    )
    weight_kg = forms.DecimalField(
        label="Weight (kg)",
        required=False,
        max_digits=5,
        decimal_places=1,
        validators=_int_range(*WEIGHT_RANGE, "a weight in kg"),
    )
    sodium = forms.IntegerField(
        label="Sodium (mmol/L)", required=False, validators=_int_range(*SODIUM_RANGE, "a sodium")
    )
    potassium = forms.DecimalField(
        label="Potassium (mmol/L)",
        required=False,
        max_digits=4,
        decimal_places=1,
        validators=_int_range(*POTASSIUM_RANGE, "a potassium"),
    )
    magnesium = forms.DecimalField(
        label="Magnesium (mmol/L)",
        required=False,
        max_digits=4,
        decimal_places=2,
        validators=_int_range(*MAGNESIUM_RANGE, "a magnesium"),
    )
    glucose_mmol = forms.DecimalField(
        label="Blood glucose (mmol/L)",
        required=False,
        max_digits=4,
        decimal_places=1,
        validators=_int_range(*GLUCOSE_RANGE, "a glucose"),
    )
    qtc_ms = forms.IntegerField(
        label="QTc from a new ECG (ms)",
        required=False,
        validators=_int_range(*QTC_RANGE, "a QTc"),
        help_text="Only if an ECG was done: it updates the risk profile and the safety check.",
    )
    ecg_date = forms.DateField(
        label="ECG date", required=False, widget=DateInput(), help_text="Leave empty if the ECG was done today."
    )
    fall = forms.BooleanField(required=False, label="A fall since the last visit")
    confusion = forms.BooleanField(required=False, label="New confusion")
    urinary_retention = forms.BooleanField(required=False, label="Urinary retention (cannot pass urine fully)")
    cardiac_symptoms = forms.BooleanField(required=False, label="New palpitations, fainting or chest pain")
    hyponatraemia_symptoms = forms.BooleanField(required=False, label="Nausea or headache (low sodium symptoms)")
    serotonin_symptoms = forms.BooleanField(
        required=False,
        label="Serotonin toxicity symptoms",
        help_text="Agitation, tremor, clonus, raised temperature or sweating.",
    )
    decision = forms.ChoiceField(choices=Visit.Decision.choices, widget=forms.RadioSelect)
    # The same structured reasons as the plan's stop form, so the outcomes review counts visit stops too.
    stop_reason = forms.ChoiceField(
        choices=Plan.StopReason.choices,
        widget=forms.RadioSelect,
        required=False,
        label="If stopping (taper off): why is the trial stopped?",
        help_text="Required when the decision is to stop. Stop now is recorded as a finding at a visit.",
    )
    stop_details = forms.CharField(
        max_length=2000,
        required=False,
        label="Stop details",
        help_text="Which side effect or finding, or what the patient decided. Required for Other.",
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=4000)

    MEASUREMENTS = (
        "bp_lying_systolic",
        "bp_lying_diastolic",
        "bp_standing_systolic",
        "bp_standing_diastolic",
        "heart_rate",
        "weight_kg",
        "sodium",
        "potassium",
        "magnesium",
        "glucose_mmol",
        "qtc_ms",
        "ecg_date",
    )
    SYMPTOMS = (
        "fall",
        "confusion",
        "urinary_retention",
        "cardiac_symptoms",
        "hyponatraemia_symptoms",
        "serotonin_symptoms",
    )

    def __init__(self, *args, plan, measure, today, has_diabetes=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = plan
        self.measure = measure
        self.today = today  # the patient's clinic's today (clinictime.clinic_today)
        self.fields["visit_date"].initial = self.today
        if not has_diabetes:
            del self.fields["glucose_mmol"]
        score = self.fields["outcome_score"]
        score.label = f"{measure.name}"
        if measure.scale_min is not None and measure.scale_max is not None:
            score.help_text = (
                f"{measure.short_name}: {measure.scale_min.normalize():f} to {measure.scale_max.normalize():f}"
            )
            score.help_text += f" {measure.unit}".rstrip() + "."
        if plan.kind == plan.Kind.TAPER:
            self.fields["decision"].choices = [
                (Visit.Decision.CONTINUE, "Continue the taper"), (Visit.Decision.HOLD, "Hold at the current dose"),
                (Visit.Decision.STOP_NOW, Visit.Decision.STOP_NOW.label),
            ]  # fmt: skip
        elif plan.kind == plan.Kind.STOP_NOW:
            stays = "Record the review (the course stays stopped)"
            self.fields["decision"].choices = [(Visit.Decision.CONTINUE, stays)]
        if plan.kind != plan.Kind.TITRATION:  # only a titration is stopped with a taper at a visit
            del self.fields["stop_reason"], self.fields["stop_details"]

    def measurement_fields(self):
        return [self[name] for name in self.MEASUREMENTS if name in self.fields]

    def symptom_fields(self):
        return [self[name] for name in self.SYMPTOMS]

    def clean_visit_date(self):
        day = self.cleaned_data["visit_date"]
        if day > self.today:
            raise forms.ValidationError(self.error_messages["future_visit"], code="future_visit")
        if day < self.plan.start_date:  # the more specific message first
            raise forms.ValidationError(self.error_messages["before_plan"], code="before_plan")
        if day < dates.days_from(self.today, -dates.VISIT_PAST_DAYS):
            raise forms.ValidationError(self.error_messages["old_visit"], code="old_visit")
        return day

    def clean_ecg_date(self):
        day = self.cleaned_data.get("ecg_date")
        if day and day > self.today:
            raise forms.ValidationError(self.error_messages["future_ecg"], code="future_ecg")
        return day

    def clean_outcome_score(self):
        score = self.cleaned_data.get("outcome_score")
        low, high = self.measure.scale_min, self.measure.scale_max
        if score is not None and low is not None and high is not None and not low <= score <= high:
            message = self.error_messages["score_range"].format(
                low=f"{low.normalize():f}", high=f"{high.normalize():f}"
            )
            raise forms.ValidationError(message, code="score_range")
        return score

    def _error(self, field, code):
        self.add_error(field, forms.ValidationError(self.error_messages[code], code=code))

    def clean(self):
        cleaned = super().clean()
        if "other" in (cleaned.get("side_effects") or []) and not (cleaned.get("side_effects_other") or "").strip():
            self._error("side_effects_other", "other_missing")
        if cleaned.get("ecg_date") and cleaned.get("qtc_ms") is None and "qtc_ms" not in self.errors:
            self._error("qtc_ms", "ecg_without_qtc")
        pairs = {}
        for position in ("lying", "standing"):
            systolic, diastolic = f"bp_{position}_systolic", f"bp_{position}_diastolic"
            if systolic in self.errors or diastolic in self.errors:
                continue
            sys_value, dia_value = cleaned.get(systolic), cleaned.get(diastolic)
            if (sys_value is None) != (dia_value is None):
                self._error(systolic if sys_value is None else diastolic, "bp_pair")
            elif sys_value is not None and sys_value <= dia_value:
                self._error(systolic, "bp_order")
            else:
                pairs[position] = sys_value is not None
        if len(pairs) == 2 and pairs["lying"] != pairs["standing"]:
            self._error("bp_standing_systolic" if pairs["lying"] else "bp_lying_systolic", "bp_lying_standing")
        if cleaned.get("decision") == Visit.Decision.STOP and "stop_reason" in self.fields:
            if not cleaned.get("stop_reason"):
                self._error("stop_reason", "stop_reason_missing")
            elif cleaned["stop_reason"] == Plan.StopReason.OTHER and not (cleaned.get("stop_details") or "").strip():
                self._error("stop_details", "stop_other_missing")
        return cleaned


class FollowUpStatusForm(HardenedFormMixin, forms.Form):
    reason = forms.CharField(max_length=300, label="Reason")


class ClockTimeField(forms.TimeField):
    """A time typed as HH:MM on the 24-hour clock (ASCII digits; H:MM is read as 0H:MM)."""

    PATTERN = re.compile(r"[0-9]{1,2}:[0-9]{2}", re.ASCII)
    default_error_messages = {"invalid": "Enter the time as HH:MM on the 24-hour clock, for example 14:30."}

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", ["%H:%M"])
        kwargs.setdefault("widget", forms.TimeInput(format="%H:%M"))
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str) and value.strip() and not self.PATTERN.fullmatch(value.strip()):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class BookForm(HardenedFormMixin, forms.Form):
    """Book a follow-up's appointment: a day and, optionally, a time. The window is the service's rule."""

    day = forms.DateField(
        widget=DateInput(),
        label="Appointment date",
        help_text=f"Today or up to {dates.BOOK_AHEAD_DAYS} days ahead, in the clinic's time zone.",
    )
    time = ClockTimeField(
        required=False,
        label="Time (optional)",
        help_text="24-hour clock, HH:MM. Leave empty for an all-day appointment.",
    )
    sequence = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=LOCK_VERSION_MAX)

    def __init__(self, *args, today, **kwargs):
        """`today`: the patient's clinic's today (clinictime.clinic_today), for the date picker's range."""
        super().__init__(*args, **kwargs)
        self.fields["day"].widget.attrs.update(
            min=today.isoformat(), max=dates.days_from(today, dates.BOOK_AHEAD_DAYS).isoformat()
        )
        self.fields["time"].widget.attrs.update(
            inputmode="numeric",
            placeholder="HH:MM",
            autocomplete="off",
            size=5,
            maxlength=5,
            pattern="[0-9]{1,2}:[0-9]{2}",
        )


class WorklistFilterForm(HardenedFormMixin, forms.Form):
    """Filters for the worklist: a clinician (username), an indication (slug) and a visit kind."""

    clinician = forms.ChoiceField(required=False)
    indication = forms.ChoiceField(required=False)
    kind = forms.ChoiceField(choices=[("", "All visits"), *FollowUp.Kind.choices], required=False, label="Visit")

    def __init__(self, *args, choices, **kwargs):
        """`choices`: ([(username, name)], [(slug, name)]) from plans.worklist.filter_choices."""
        super().__init__(*args, **kwargs)
        clinicians, indications = choices
        self.fields["clinician"].choices = [("", "All clinicians"), *clinicians]
        self.fields["indication"].choices = [("", "All indications"), *indications]
