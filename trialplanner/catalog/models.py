"""Reference data: every clinical number the app uses, each row citing its sources.

Rows are loaded from data/catalog.toml by `manage.py load_catalog` and can be
edited by a clinical lead in the admin. Natural keys (slug or code) are stable
across loads so other tables and the engine can refer to them.
"""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from trialplanner.catalog.codes import validate_loinc, validate_rxcui, validate_sctid
from trialplanner.engine.medicines import parse_members

MG = {"max_digits": 6, "decimal_places": 2, "validators": [MinValueValidator(Decimal("0"))]}


def rxnorm_field(what):
    return models.CharField(
        "RxNorm code", max_length=12, blank=True, validators=[validate_rxcui], help_text=f"RxNorm RXCUI of {what}."
    )


def sctid_field(label, what):
    return models.CharField(
        label, max_length=18, blank=True, validators=[validate_sctid], help_text=f"{what} (checked: Verhoeff digit)."
    )


class Source(models.Model):
    """A citation. `key` is the reference file's tag, e.g. S3."""

    key = models.SlugField(max_length=20, unique=True)
    label = models.CharField(max_length=200, help_text="Short name shown next to a finding, e.g. 'UK SmPC'.")
    citation = models.TextField(help_text="Full citation: authors, title, journal or publisher, year.")
    identifier = models.CharField(
        max_length=300, blank=True, help_text="NICE code, PMID, DOI or URL that finds the source."
    )
    url = models.URLField(max_length=500, blank=True)
    used_for = models.TextField(blank=True, help_text="What the catalog takes from this source.")
    review_date = models.DateField(help_text="When the catalog rows citing this source were last checked against it.")
    unconfirmed = models.BooleanField(
        default=False,
        help_text="The citation itself, or a figure taken from it, is not confirmed against the primary text.",
    )

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"[{self.key}] {self.label}"


class CitedModel(models.Model):
    """Base for catalog rows that must cite at least one source."""

    sources = models.ManyToManyField(Source, related_name="+")
    catalog_note = models.TextField(
        blank=True, help_text="Why this value: 'app default' choices, disagreements, unconfirmed figures."
    )

    class Meta:
        abstract = True


class QTRisk(models.TextChoices):
    NONE = "", "No listed QT risk"
    KNOWN = "known", "Known risk of TdP"
    POSSIBLE = "possible", "Possible risk of TdP"
    CONDITIONAL = "conditional", "Conditional risk of TdP"


class Drug(CitedModel):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    brand_names = models.CharField(max_length=200, blank=True)
    drug_class = models.CharField(max_length=100)
    anticholinergic_score = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(3)], help_text="Anticholinergic Cognitive Burden score (0-3)."
    )
    qt_risk = models.CharField(max_length=12, choices=QTRisk.choices, blank=True)
    summary = models.TextField(blank=True)
    rxnorm_code = rxnorm_field("the ingredient")
    dmd_vtm_code = sctid_field("dm+d VTM", "dm+d virtual therapeutic moiety")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(qt_risk__in=["", "known", "possible", "conditional"]), name="drug_qt_risk_choice"
            ),
        ]

    def __str__(self):
        return self.name


class Strength(CitedModel):
    class Form(models.TextChoices):
        TABLET = "tablet", "Tablet"
        ORAL_SOLUTION = "oral_solution", "Oral solution"

    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="strengths")
    form = models.CharField(max_length=20, choices=Form.choices)
    amount_mg = models.DecimalField(**MG, help_text="mg per tablet, or mg per `per_volume_ml` of solution.")
    per_volume_ml = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, help_text="Solutions only: the volume holding amount_mg."
    )
    scored = models.BooleanField(default=False, help_text="Tablet can be halved (product-specific).")
    markets = models.CharField(max_length=50, blank=True, help_text="Where this strength is marketed, e.g. UK, US.")
    is_active = models.BooleanField(default=True, help_text="Offered when planning.")
    rxnorm_code = rxnorm_field("the clinical drug (SCD)")
    dmd_code = sctid_field("dm+d VMP", "dm+d virtual medicinal product")

    class Meta:
        ordering = ["drug", "form", "amount_mg"]
        constraints = [
            models.UniqueConstraint(fields=["drug", "form", "amount_mg", "per_volume_ml"], name="strength_unique"),
            models.CheckConstraint(condition=Q(amount_mg__gt=0), name="strength_amount_positive"),
            models.CheckConstraint(
                condition=(Q(form="tablet", per_volume_ml__isnull=True))
                | (Q(form="oral_solution", per_volume_ml__gt=0)),
                name="strength_volume_only_for_solution",
            ),
            models.CheckConstraint(condition=Q(form__in=["tablet", "oral_solution"]), name="strength_form_choice"),
        ]

    def __str__(self):
        if self.form == self.Form.ORAL_SOLUTION:
            return f"{self.drug} oral solution {self.amount_mg.normalize():f} mg/{self.per_volume_ml.normalize():f} ml"
        return f"{self.drug} {self.amount_mg.normalize():f} mg tablet"


class OutcomeMeasure(CitedModel):
    """A scale used to judge response, with the change that counts as a response."""

    class ResponseRule(models.TextChoices):
        PERCENT_FALL = "percent_fall", "Fall of at least N percent from baseline"
        POINTS_FALL = "points_fall", "Fall of at least N points from baseline"
        CATEGORY = "category", "Patient-rated category (e.g. moderately or markedly improved)"

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=120)
    short_name = models.CharField(max_length=30)
    scale_min = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    scale_max = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    unit = models.CharField(max_length=60, blank=True)
    higher_is_worse = models.BooleanField(default=True)
    response_rule = models.CharField(max_length=20, choices=ResponseRule.choices)
    response_threshold = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    interpretation = models.TextField(help_text="Bands and thresholds, as shown to clinicians.")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scale_min__isnull=True) | Q(scale_max__isnull=True) | Q(scale_min__lt=F("scale_max")),
                name="outcome_scale_ordered",
            ),
            models.CheckConstraint(
                condition=Q(response_rule__in=["percent_fall", "points_fall", "category"]),
                name="outcomemeasure_response_rule_choice",
            ),
        ]

    def __str__(self):
        return self.name


class Indication(CitedModel):
    class Recommendation(models.TextChoices):
        FIRST_LINE = "first_line", "First-line option"
        OPTION = "option", "Option"
        WEAK = "weak", "Weak recommendation"
        SECOND_LINE = "second_line", "Second-line"
        NOT_SUPPORTED = "not_supported", "Not guideline-supported"
        NOT_RECOMMENDED = "not_recommended", "Not recommended"

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=120)
    display_order = models.PositiveSmallIntegerField(default=0)
    recommendation = models.CharField(max_length=20, choices=Recommendation.choices)
    status = models.CharField(max_length=200, help_text="Status line shown with the indication.")
    licensing_note = models.TextField(help_text="UK and US licensing position.")
    guideline_position = models.TextField()
    evidence_summary = models.TextField()
    evidence_level = models.CharField(max_length=80)
    mechanism_note = models.TextField(help_text="Why a low dose can help in this condition.")
    time_to_effect = models.TextField(blank=True)
    continuation_note = models.TextField(blank=True)
    outcome_measure = models.ForeignKey(OutcomeMeasure, on_delete=models.PROTECT, related_name="indications")
    outcome_note = models.CharField(max_length=200, help_text="What to record at each review, e.g. 'pain NRS + PGIC'.")
    caution_card = models.TextField(
        blank=True,
        help_text="If set, planning for this indication shows this warning, which needs a recorded reason.",
    )
    alternatives = models.TextField(blank=True, help_text="Alternatives worth discussing.")
    snomed_code = sctid_field("SNOMED CT code", "SNOMED CT concept for this indication, used as reasonCode")

    class Meta:
        ordering = ["display_order", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    recommendation__in=[
                        "first_line",
                        "option",
                        "weak",
                        "second_line",
                        "not_supported",
                        "not_recommended",
                    ]
                ),
                name="indication_recommendation_choice",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("catalog:indication_detail", args=[self.slug])


class PublishedOutcome(CitedModel):
    """A published response rate for an indication, with the definition it was measured under.

    The clinic outcome review sets a clinic's rate beside it only when the definitions match:
    the same measure, rule and threshold as the indication's catalog definition.
    """

    slug = models.SlugField(max_length=60, unique=True)
    indication = models.ForeignKey("Indication", on_delete=models.PROTECT, related_name="published_outcomes")
    definition = models.CharField(max_length=200, help_text="The response definition in words, as published.")
    measure = models.ForeignKey(
        OutcomeMeasure,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The catalog measure the figure used, if it is one.",
    )
    response_rule = models.CharField(max_length=20, choices=OutcomeMeasure.ResponseRule.choices, blank=True)
    response_threshold = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    timepoint = models.CharField(max_length=80, help_text="When response was judged, e.g. 'trials of 4-12 weeks'.")
    treated_percent = models.DecimalField(max_digits=4, decimal_places=1, validators=[MaxValueValidator(100)])
    comparator = models.CharField(max_length=60, blank=True, help_text="e.g. placebo")
    comparator_percent = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    participants = models.CharField(max_length=80, blank=True, help_text="e.g. '4 studies, 275 people'.")

    class Meta:
        ordering = ["indication__display_order", "slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(treated_percent__gte=0, treated_percent__lte=100), name="published_treated_percent_range"
            ),
            models.CheckConstraint(
                condition=Q(response_rule__in=["", "percent_fall", "points_fall", "category"]),
                name="publishedoutcome_response_rule_choice",
            ),
        ]

    def __str__(self):
        return f"{self.indication}: {self.definition}"

    def matches(self, measure) -> bool:
        """True when this figure's response definition is the catalog's definition for `measure`."""
        return (
            self.measure_id == measure.pk
            and self.response_rule == measure.response_rule
            and self.response_threshold == measure.response_threshold
        )


class Protocol(CitedModel):
    """Dose range and review timing for one indication. All doses are mg at night."""

    indication = models.OneToOneField(Indication, on_delete=models.PROTECT, related_name="protocol")
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="protocols")
    start_mg = models.DecimalField(**MG)
    older_start_mg = models.DecimalField(**MG, help_text="Start for age 65 or over, or other higher-risk patients.")
    frail_start_mg = models.DecimalField(**MG, help_text="Start for frail patients (5 mg is given as liquid).")
    step_mg = models.DecimalField(**MG)
    min_days_per_step = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    default_target_mg = models.DecimalField(**MG)
    ceiling_mg = models.DecimalField(**MG, help_text="Never exceeded by a plan in this app.")
    ceiling_note = models.CharField(max_length=200, blank=True)
    first_review_days = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    response_judgement_days = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["indication__display_order"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_mg__gt=0) & Q(step_mg__gt=0) & Q(frail_start_mg__gt=0),
                name="protocol_doses_positive",
            ),
            models.CheckConstraint(condition=Q(start_mg__lte=F("default_target_mg")), name="protocol_start_lte_target"),
            models.CheckConstraint(
                condition=Q(default_target_mg__lte=F("ceiling_mg")), name="protocol_target_lte_ceiling"
            ),
            models.CheckConstraint(
                condition=Q(older_start_mg__lte=F("start_mg")), name="protocol_older_start_lte_start"
            ),
            models.CheckConstraint(
                condition=Q(frail_start_mg__lte=F("older_start_mg")), name="protocol_frail_start_lte_older_start"
            ),
            models.CheckConstraint(condition=Q(min_days_per_step__gte=1), name="protocol_min_days_positive"),
            models.CheckConstraint(
                condition=Q(first_review_days__lte=F("response_judgement_days")),
                name="protocol_first_review_before_judgement",
            ),
        ]

    def __str__(self):
        return f"Protocol: {self.indication}"


class MonitoringItem(CitedModel):
    class When(models.TextChoices):
        BASELINE = "baseline", "Before starting"
        EVERY_REVIEW = "every_review", "At every review"
        AT_TARGET = "at_target", "When the planned target is reached"
        DOSE_CHANGE = "dose_change", "After each dose change"
        PERIODIC = "periodic", "Periodically once stable"

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=120, help_text="What to check.")
    when = models.CharField(max_length=20, choices=When.choices)
    criteria = models.TextField(help_text="Who needs it; 'everyone' when unconditional.")
    applies_to_all = models.BooleanField(default=True)
    indications = models.ManyToManyField(Indication, blank=True, related_name="monitoring_items")
    display_order = models.PositiveSmallIntegerField(default=0)
    validity_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="A result on file from this many days before a plan starts or re-plans counts as done, "
        "so the check is not asked again. Empty: always asked.",
    )

    class Meta:
        ordering = ["display_order", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(when__in=["baseline", "every_review", "at_target", "dose_change", "periodic"]),
                name="monitoringitem_when_choice",
            ),
        ]

    def __str__(self):
        return self.name


class Rule(CitedModel):
    """One row of reference section A.2: what a risk factor produces.

    The engine decides when a rule fires; the wording, indicator and action live here.
    """

    class Indicator(models.TextChoices):
        CRITICAL = "critical", "Critical (blocks the plan)"
        WARNING = "warning", "Warning (needs a recorded reason)"
        INFO = "info", "Information"

    class Action(models.TextChoices):
        AVOID = "avoid", "Avoid"
        ADJUST = "adjust", "Adjust"
        MONITOR = "monitor", "Monitor"

    code = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=120)
    indicator = models.CharField(max_length=10, choices=Indicator.choices)
    action = models.CharField(max_length=10, choices=Action.choices)
    summary = models.CharField(max_length=140)
    detail = models.TextField()
    effect = models.TextField(help_text="What the plan does when this rule fires.")
    display_order = models.PositiveSmallIntegerField(
        default=0, help_text="Order among cards of the same level: the more dangerous first."
    )
    concern = models.SlugField(
        max_length=30, blank=True, help_text="Cards of one concern fold under that concern's stacked card."
    )
    stacked = models.BooleanField(
        default=False, help_text="Adds up several risk factors; shown after critical cards, before warnings."
    )
    needs_specialist_advice = models.BooleanField(
        default=False,
        help_text="A warning whose only accepted reason is recorded specialist advice (who gave it and when).",
    )

    class Meta:
        ordering = ["display_order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(indicator__in=["critical", "warning", "info"]), name="rule_indicator_choice"
            ),
            models.CheckConstraint(condition=Q(action__in=["avoid", "adjust", "monitor"]), name="rule_action_choice"),
            models.CheckConstraint(
                condition=Q(needs_specialist_advice=False) | Q(indicator="warning"),
                name="rule_specialist_advice_on_warning",
            ),
        ]

    def __str__(self):
        return f"{self.title} ({self.get_indicator_display()})"


class ReasonPreset(CitedModel):
    """A reason a clinician can pick, instead of typing, for going ahead despite a warning rule."""

    key = models.SlugField(max_length=60, unique=True)
    text = models.CharField(max_length=200, help_text="Saved as the acknowledgement's reason, word for word.")
    rules = models.ManyToManyField(Rule, related_name="reason_presets", help_text="The warnings it answers.")
    needs_details = models.BooleanField(
        default=False,
        help_text="The text asks for details (such as who advised, and when): it is refused without them.",
    )
    display_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["display_order", "key"]

    def __str__(self):
        return self.text


class WatchFor(CitedModel):
    """What a patient should watch for, and do, after a warning was acknowledged: handout text in both languages."""

    key = models.SlugField(max_length=60, unique=True)
    rules = models.ManyToManyField(
        Rule, related_name="watch_for", help_text="Acknowledged warnings that put this block on the handout."
    )
    title_en = models.CharField("title (English)", max_length=120)
    title_es = models.CharField("title (Spanish)", max_length=120)
    signs_en = models.TextField("signs (English)", help_text="What to watch for, in plain words (reading grade 8).")
    signs_es = models.TextField("signs (Spanish)")
    action_en = models.TextField("what to do (English)")
    action_es = models.TextField("what to do (Spanish)")
    display_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["display_order", "key"]
        verbose_name_plural = "watch-for blocks"

    def __str__(self):
        return self.title_en

    def text(self, language):
        """Title, signs and action in `language` ('en' or 'es'; anything else reads English)."""
        suffix = "es" if language == "es" else "en"
        return {part: getattr(self, f"{part}_{suffix}") for part in ("title", "signs", "action")}


class RuleParameter(CitedModel):
    """A number a rule or schedule uses: a threshold, an interval, a washout."""

    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    value = models.DecimalField(max_digits=8, decimal_places=2)
    unit = models.CharField(max_length=20)

    class Meta:
        ordering = ["key"]

    def __str__(self):
        return f"{self.name}: {self.value.normalize():f} {self.unit}"


class Condition(CitedModel):
    """A condition or risk factor a clinician can tick on a risk profile."""

    class Group(models.TextChoices):
        CARDIAC = "cardiac", "Heart"
        EYE_URINARY = "eye_urinary", "Eye and urinary"
        NEURO_PSYCH = "neuro_psych", "Neurological and mental health"
        LIVER = "liver", "Liver"
        OTHER = "other", "Other"

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    group = models.CharField(max_length=20, choices=Group.choices)
    help_text = models.CharField(max_length=300, blank=True)
    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="conditions")
    display_order = models.PositiveSmallIntegerField(default=0)
    snomed_code = sctid_field("SNOMED CT code", "SNOMED CT concept for this condition")
    qt_tally_points = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(10)], help_text="Points on the QT tally (Tisdale 2013 items)."
    )
    qt_risk_condition = models.BooleanField(
        default=False, help_text="Makes a conditional-risk QT drug count on the QT tally (CredibleMeds)."
    )
    frail_shaping = models.BooleanField(
        default=False, help_text="Shapes the plan as for frailty: lower default target, a review before each rise."
    )

    class Meta:
        ordering = ["group", "display_order", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(group__in=["cardiac", "eye_urinary", "neuro_psych", "liver", "other"]),
                name="condition_group_choice",
            ),
        ]

    def __str__(self):
        return self.name


class DrugFactFields(CitedModel):
    """The facts the rules read about a medicine (reference A.2, 6.1-6.7), on a medicine's row or a class's."""

    class Serotonergic(models.TextChoices):
        NO = "", "No"
        LOW = "low", "Low (advice only)"
        YES = "yes", "Yes"

    class CYP2D6Inhibition(models.TextChoices):
        NONE = "", "None"
        MODERATE = "moderate", "Moderate"
        STRONG = "strong", "Strong"

    class RaisesLevels(models.TextChoices):
        NO = "", "No"
        INFO = "info", "Yes (monitor)"
        WARNING = "warning", "Yes (avoid combination)"

    class Action(models.TextChoices):
        CONTRAINDICATED = "ci", "Contraindicated"
        AVOID = "avoid", "Avoid unless no alternative"
        REDUCE = "reduce", "Lower dose, slower steps"
        MONITOR = "monitor", "Allow with monitoring"
        COUNSEL = "counsel", "Patient advice"
        NONE = "none", "None listed"

    action = models.CharField(max_length=10, choices=Action.choices)
    note = models.TextField(blank=True, help_text="The interaction in one or two sentences.")
    is_amitriptyline = models.BooleanField(
        default=False, help_text="Amitriptyline itself on a medicines list: duplicate therapy unless it is this course."
    )
    is_tricyclic = models.BooleanField(default=False, help_text="Another tricyclic: one tricyclic at a time.")
    is_maoi = models.BooleanField("MAO inhibitor", default=False)
    washout_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Days after stopping before amitriptyline may start."
    )
    persistence_days = models.PositiveSmallIntegerField(
        default=0,
        help_text="Days after the last dose that every flag of this medicine still applies (0: until the last dose).",
    )
    contraindicated = models.BooleanField(default=False, help_text="Blocks a plan while taken (e.g. cisapride).")
    serotonergic = models.CharField(max_length=4, choices=Serotonergic.choices, blank=True)
    lowers_seizure_threshold = models.BooleanField(default=False)
    cyp2d6_inhibition = models.CharField(max_length=10, choices=CYP2D6Inhibition.choices, blank=True)
    cyp_inducer = models.BooleanField("CYP inducer", default=False, help_text="Lowers amitriptyline levels.")
    raises_levels = models.CharField(
        max_length=10,
        choices=RaisesLevels.choices,
        blank=True,
        help_text="Raises amitriptyline levels by another route.",
    )
    qt_risk = models.CharField(max_length=12, choices=QTRisk.choices, blank=True)
    anticholinergic_score = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(3)])
    cns_depressant = models.BooleanField(default=False)
    cns_active = models.BooleanField(default=False, help_text="Counts towards the Beers limit of 3 CNS-active drugs.")
    lowers_electrolytes = models.BooleanField(default=False, help_text="Can lower potassium or magnesium.")
    sympathomimetic = models.BooleanField(default=False)
    lowers_blood_pressure = models.BooleanField(default=False)
    thyroid_hormone = models.BooleanField(default=False, help_text="Thyroid hormone therapy: arrhythmia risk.")
    loop_diuretic = models.BooleanField(default=False, help_text="A loop diuretic: an item of the QT tally.")
    lowers_sodium = models.BooleanField(
        default=False, help_text="A cause of hyponatraemia/SIADH (Beers 2023): stacked sodium risk at 65 or over."
    )

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=Q(is_maoi=False) | Q(washout_days__isnull=False), name="%(class)s_maoi_has_washout"
            ),
            models.CheckConstraint(condition=Q(anticholinergic_score__lte=3), name="%(class)s_acb_0_to_3"),
            models.CheckConstraint(
                condition=Q(washout_days__isnull=True) | Q(persistence_days__gte=F("washout_days")),
                name="%(class)s_persistence_covers_washout",
            ),
            models.CheckConstraint(
                condition=Q(action__in=["ci", "avoid", "reduce", "monitor", "counsel", "none"]),
                name="%(class)s_action_choice",
            ),
            models.CheckConstraint(
                condition=Q(serotonergic__in=["", "low", "yes"]), name="%(class)s_serotonergic_choice"
            ),
            models.CheckConstraint(
                condition=Q(cyp2d6_inhibition__in=["", "moderate", "strong"]),
                name="%(class)s_cyp2d6_inhibition_choice",
            ),
            models.CheckConstraint(
                condition=Q(raises_levels__in=["", "info", "warning"]), name="%(class)s_raises_levels_choice"
            ),
            models.CheckConstraint(
                condition=Q(qt_risk__in=["", "known", "possible", "conditional"]), name="%(class)s_qt_risk_choice"
            ),
        ]


def name_list(text):
    return [a.strip() for a in text.split(",") if a.strip()]


class InteractingDrug(DrugFactFields):
    """A medicine whose properties matter alongside amitriptyline (or were reviewed and none are listed)."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)
    aliases = models.CharField(
        max_length=500, blank=True, help_text="Other names, comma separated: brand names, US/UK spellings."
    )
    drug_class = models.CharField(max_length=100)
    ingredients = models.CharField(
        max_length=300,
        blank=True,
        help_text="A combination product: the slugs of its ingredients, comma separated. Its facts are theirs.",
    )
    rxnorm_code = rxnorm_field("the ingredient")
    dmd_vtm_code = sctid_field("dm+d VTM", "dm+d virtual therapeutic moiety")

    class Meta(DrugFactFields.Meta):
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def alias_list(self):
        return name_list(self.aliases)

    @property
    def ingredient_list(self):
        return name_list(self.ingredients)


class DrugClass(DrugFactFields):
    """A class of medicines sharing the facts the rules read (reference A.4: reviewed by class).

    A member with its own InteractingDrug row is read by that row (its facts differ); every other
    member takes the class's facts and sources. Where facts differ between members, the class says so
    (`facts_differ`) and the loader refuses a member without its own row.
    """

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)
    members = models.TextField(
        help_text="Generic names, comma separated, each with other names in brackets split by ';': "
        "'nitrazepam (Mogadon), oxazepam'."
    )
    facts_differ = models.BooleanField(
        default=False, help_text="Members' facts differ: every member needs its own medicine row."
    )
    required = models.BooleanField(
        default=False, help_text="Reference A.4 requires every member of this class to be reviewed."
    )

    class Meta(DrugFactFields.Meta):
        ordering = ["name"]
        verbose_name_plural = "drug classes"

    def __str__(self):
        return self.name

    @property
    def member_list(self):
        return parse_members(self.members)


class DoseLimit(CitedModel):
    """A daily dose of another medicine above which a warning names the dose read (reference A.4)."""

    drug = models.ForeignKey(InteractingDrug, on_delete=models.PROTECT, related_name="dose_limits")
    rule = models.ForeignKey("Rule", on_delete=models.PROTECT, related_name="dose_limits")
    max_mg_a_day = models.DecimalField(max_digits=7, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    inclusive = models.BooleanField(default=False, help_text="The limit itself is too much ('400 mg a day or more').")
    older_age = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="From this age (inclusive) the older limit applies; 'over 75' is 76."
    )
    older_max_mg_a_day = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0.01"))]
    )
    liver_max_mg_a_day = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0.01"))]
    )

    class Meta:
        ordering = ["drug__name"]
        constraints = [
            models.UniqueConstraint(fields=["drug", "rule"], name="doselimit_one_per_drug_rule"),
            models.CheckConstraint(
                condition=Q(older_age__isnull=True, older_max_mg_a_day__isnull=True)
                | Q(older_age__isnull=False, older_max_mg_a_day__isnull=False),
                name="doselimit_older_age_and_limit_together",
            ),
        ]

    def __str__(self):
        return f"{self.drug.name}: {self.max_mg_a_day} mg a day"


class MedicineName(CitedModel):
    """Names of a real medicine the open dictionary lacks or maps wrongly: recognised, not reviewed."""

    slug = models.SlugField(max_length=60, unique=True)
    medicine = models.CharField(max_length=100, help_text="The generic name shown for it.")
    names = models.CharField(max_length=500, help_text="Names as typed, comma separated: generic, brands, spellings.")

    class Meta:
        ordering = ["medicine"]

    def __str__(self):
        return self.medicine

    @property
    def name_list(self):
        return name_list(self.names)


class ObservationCode(CitedModel):
    """A measurement the risk profile records (QTc, potassium, ...) and its LOINC code."""

    key = models.SlugField(max_length=30, unique=True, help_text="Which risk-profile value this is, e.g. 'qtc'.")
    name = models.CharField(max_length=120)
    loinc_code = models.CharField(
        "LOINC code", max_length=10, blank=True, validators=[validate_loinc], help_text="Checked: mod-10 digit."
    )
    unit = models.CharField(max_length=20, help_text="UCUM unit the value is recorded in, e.g. 'ms', 'mmol/L'.")
    display_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["display_order", "key"]

    def __str__(self):
        return f"{self.name} (LOINC {self.loinc_code or 'none'})"


class CatalogVersion(models.Model):
    """The version of the catalog file last loaded (a single row)."""

    version = models.CharField(max_length=40)
    loaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The catalog is shared by every clinic: an administrator grants this to named clinical
        # leads; being a clinic's lead, or staff, does not imply it.
        permissions = [("edit_catalog", "Can edit the shared reference catalog")]

    def __str__(self):
        return f"Catalog {self.version}"


class DictionaryName(models.Model):
    """A name of a real medicine from the open medicine dictionary.

    It recognises an entered line as a real medicine and says nothing about its interactions: a line
    recognised here but not in the reviewed catalog is "recognised, not reviewed" (reference A.4).
    Written only by `manage.py load_medicine_dictionary`; the curated catalog stays the authority
    wherever both know a medicine.
    """

    name = models.CharField(max_length=200, unique=True, help_text="Normalised as the medicine reader does.")
    medicine = models.CharField(max_length=200, help_text="The dictionary's generic name for it.")
    is_brand = models.BooleanField(default=False)
    drugbank_id = models.CharField(max_length=16, blank=True)
    mesh_id = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["medicine"], name="dictionaryname_medicine_idx")]

    def __str__(self):
        return f"{self.name} ({self.medicine})"


class DictionaryRelease(models.Model):
    """Which dictionary data the DictionaryName rows came from, checked at import."""

    source = models.CharField(max_length=100, help_text="Package and version, e.g. the PyPI release.")
    sha256 = models.CharField(max_length=64)
    names = models.PositiveIntegerField()
    medicines = models.PositiveIntegerField()
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-imported_at"]

    def __str__(self):
        return f"{self.source} ({self.names} names)"
