"""Value types of the engine: frozen dataclasses, Decimal mg, plain dates."""

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING

from trialplanner.engine.errors import EngineError

if TYPE_CHECKING:
    from trialplanner.engine.medicines import MedicineReading


class Indicator(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _INDICATOR_RANK[self]


_INDICATOR_RANK = {Indicator.CRITICAL: 0, Indicator.WARNING: 1, Indicator.INFO: 2}


class Action(StrEnum):
    AVOID = "avoid"
    ADJUST = "adjust"
    MONITOR = "monitor"


class StartDose(IntEnum):
    """Which protocol start dose applies; a lower value is the more cautious start."""

    FRAIL = 0
    OLDER = 1
    STANDARD = 2


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"


class Alcohol(StrEnum):
    NONE = "none"
    MODERATE = "moderate"
    HEAVY = "heavy"


class Phenotype(StrEnum):
    ULTRARAPID = "ultrarapid"
    RAPID = "rapid"
    NORMAL = "normal"
    INTERMEDIATE = "intermediate"
    POOR = "poor"


# CPIC phenotypes per gene (reference 7.2-7.3): CYP2D6 has no "rapid" metaboliser.
PHENOTYPES_BY_GENE = {
    "cyp2d6": (Phenotype.ULTRARAPID, Phenotype.NORMAL, Phenotype.INTERMEDIATE, Phenotype.POOR),
    "cyp2c19": (Phenotype.ULTRARAPID, Phenotype.RAPID, Phenotype.NORMAL, Phenotype.INTERMEDIATE, Phenotype.POOR),
}


@dataclass(frozen=True)
class SourceRef:
    key: str
    label: str
    identifier: str = ""
    url: str = ""
    reviewed_on: date | None = None  # when the rows citing it were last checked against it


@dataclass(frozen=True)
class RuleText:
    """A rule's catalog row: its wording, level and sources."""

    code: str
    title: str
    indicator: Indicator
    action: Action
    summary: str
    detail: str
    effect: str
    sources: tuple[SourceRef, ...]
    order: int = 0
    concern: str = ""  # cards of one concern fold under that concern's stacked card
    stacked: bool = False  # adds up several risk factors (reference A.4); shown after critical cards
    needs_specialist_advice: bool = False  # the only accepted reason is recorded specialist advice


@dataclass(frozen=True)
class DrugFacts:
    """A catalogued medicine: the facts the rules read (reference A.2, sections 6.1-6.7)."""

    slug: str
    name: str
    aliases: tuple[str, ...] = ()
    drug_class: str = ""
    note: str = ""
    action: str = ""  # the catalog's interaction class: "ci", "avoid", "reduce", "monitor", "counsel", "none"
    ingredients: tuple[str, ...] = ()  # a combination product: the slugs of its ingredients
    is_amitriptyline: bool = False
    is_tricyclic: bool = False
    is_maoi: bool = False
    washout_days: int | None = None
    persistence_days: int = 0  # days after the last dose that every flag still applies
    contraindicated: bool = False
    serotonergic: str = ""  # "", "low", "yes"
    lowers_seizure_threshold: bool = False
    cyp2d6_inhibition: str = ""  # "", "moderate", "strong"
    cyp_inducer: bool = False
    raises_levels: str = ""  # "", "info", "warning"
    qt_risk: str = ""  # "", "known", "possible", "conditional"
    anticholinergic_score: int = 0
    cns_depressant: bool = False
    cns_active: bool = False
    lowers_electrolytes: bool = False
    sympathomimetic: bool = False
    lowers_blood_pressure: bool = False
    thyroid_hormone: bool = False
    loop_diuretic: bool = False  # a QT tally item (Tisdale 2013)
    lowers_sodium: bool = False  # a cause of hyponatraemia/SIADH in Beers 2023 (stacked sodium risk)
    sources: tuple[SourceRef, ...] = ()
    reviewed_class: str = ""  # the catalog class whose facts these are, for a member with no row of its own

    @property
    def is_combination(self) -> bool:
        return bool(self.ingredients)

    @property
    def none_listed(self) -> bool:
        """Reviewed, and its sources list no interaction that changes the plan: shown as "none listed"."""
        facts = (*DRUG_FACT_FLAGS, *DRUG_FACT_CHOICES, "anticholinergic_score")
        return self.action == "none" and not any(getattr(self, f) for f in facts)


# The facts the rules read, by kind: every one has a rule that fires from it (tests/engine).
DRUG_FACT_FLAGS = (
    "is_amitriptyline",
    "is_tricyclic",
    "is_maoi",
    "contraindicated",
    "lowers_seizure_threshold",
    "cyp_inducer",
    "cns_depressant",
    "cns_active",
    "lowers_electrolytes",
    "sympathomimetic",
    "lowers_blood_pressure",
    "thyroid_hormone",
    "loop_diuretic",
    "lowers_sodium",
)
DRUG_FACT_CHOICES = ("serotonergic", "cyp2d6_inhibition", "raises_levels", "qt_risk")
DRUG_FACT_NUMBERS = ("anticholinergic_score", "washout_days", "persistence_days")


def normalise_name(name: str) -> str:
    """Lower-case, drop punctuation and extra spaces: 'St. John's-Wort ' -> 'st johns wort'."""
    name = name.casefold().replace("'", "").replace("’", "")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", name).split())


@dataclass(frozen=True)
class DoseLimit:
    """A daily dose above which a medicine taken with amitriptyline needs a warning (reference A.4)."""

    drug_slug: str
    rule_code: str
    max_mg_a_day: Decimal
    inclusive: bool = False  # the base limit itself is already too much ("400 mg a day or more")
    older_age: int | None = None  # from this age (inclusive) the older limit applies; "over 75" is 76
    older_max_mg_a_day: Decimal | None = None
    liver_max_mg_a_day: Decimal | None = None  # with liver impairment recorded


# name -> the open dictionary's generic name for it, or None (the catalog app injects a database lookup)
Recognise = Callable[[str], str | None]


def _recognise_nothing(name: str) -> str | None:
    return None


@dataclass(frozen=True)
class ConditionFacts:
    slug: str
    name: str
    group: str
    rule_code: str
    qt_tally_points: int = 0  # points on the QT tally (Tisdale 2013): recent MI 2, heart failure 3
    qt_risk_condition: bool = False  # makes a conditional-risk QT drug count on the tally (CredibleMeds)
    frail_shaping: bool = False  # shapes the plan as for frailty (reference A.4): dementia


@dataclass(frozen=True)
class RuleBook:
    """Everything the rules read from the catalog: wording, parameters, drugs, conditions."""

    rules: Mapping[str, RuleText]
    parameters: Mapping[str, Decimal]
    drugs: tuple[DrugFacts, ...]
    conditions: Mapping[str, ConditionFacts]
    amitriptyline_acb: int
    dose_limits: tuple[DoseLimit, ...] = ()
    # Names the curated catalog recognises without reviewing them (gaps in the open dictionary): name -> generic.
    recognised_names: Mapping[str, str] = field(default_factory=dict)
    # The open dictionary's generic name of each catalogued medicine: generic -> catalog row (brands via it).
    by_generic: Mapping[str, DrugFacts] = field(default_factory=dict)
    recognise: Recognise = field(default=_recognise_nothing, compare=False)
    _drug_index: Mapping[str, DrugFacts] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, DrugFacts] = {}
        for drug in self.drugs:
            for name in (drug.name, drug.slug, *drug.aliases):
                index.setdefault(normalise_name(name), drug)
        object.__setattr__(self, "_drug_index", index)

    def generic_name(self, name: str) -> str | None:
        """The generic name of a real medicine the catalog does not review: curated names, then the dictionary."""
        key = normalise_name(name)
        return self.recognised_names.get(key) or self.recognise(key)

    def dose_limits_for(self, slug: str) -> tuple[DoseLimit, ...]:
        return tuple(limit for limit in self.dose_limits if limit.drug_slug == slug)

    def rule(self, code: str) -> RuleText:
        try:
            return self.rules[code]
        except KeyError:
            raise EngineError(f"The catalog has no rule {code!r}; reload the catalog.") from None

    def param(self, key: str) -> Decimal:
        try:
            return self.parameters[key]
        except KeyError:
            raise EngineError(f"The catalog has no parameter {key!r}; reload the catalog.") from None

    def int_param(self, key: str) -> int:
        return int(self.param(key))

    def find_drug(self, name: str) -> DrugFacts | None:
        return self._drug_index.get(normalise_name(name))

    def drug_by_slug(self, slug: str) -> DrugFacts:
        for drug in self.drugs:
            if drug.slug == slug:
                return drug
        raise EngineError(f"The catalog has no medicine {slug!r}; reload the catalog.")

    @property
    def known_names(self) -> Mapping[str, DrugFacts]:
        """Every normalised name, brand and spelling variant, mapped to its catalog row."""
        return self._drug_index


@dataclass(frozen=True)
class IndicationFacts:
    slug: str
    name: str
    caution: str = ""
    sources: tuple[SourceRef, ...] = ()


@dataclass(frozen=True)
class ProtocolFacts:
    """Dose range for one indication, mg at night; intervals in days."""

    start_mg: Decimal
    older_start_mg: Decimal
    frail_start_mg: Decimal
    step_mg: Decimal
    min_days_per_step: int
    default_target_mg: Decimal
    ceiling_mg: Decimal
    first_review_days: int
    response_judgement_days: int
    sources: tuple[SourceRef, ...] = ()

    def start_for(self, start: StartDose) -> Decimal:
        return {
            StartDose.STANDARD: self.start_mg,
            StartDose.OLDER: self.older_start_mg,
            StartDose.FRAIL: self.frail_start_mg,
        }[start]


@dataclass(frozen=True)
class Medication:
    """One entered medicine line, as written ("tramadol 50mg qds"), with its last dose if stopped.

    `confirmed_as` is a catalog name the clinician confirmed for a line the catalog did not
    recognise (a suggested spelling); `this_course` marks an amitriptyline line as the course
    being planned.
    """

    name: str
    stopped_on: date | None = None
    confirmed_as: str = ""
    started_on: date | None = None  # when known: a course of 14 days or less is a short course (A.4)
    this_course: bool = False
    daily_mg: Decimal | None = None  # the clinician's correction of the daily dose read from the line


@dataclass(frozen=True)
class PatientProfile:
    """What the rules need to know about the patient, as of one risk-profile version."""

    age: int
    sex: Sex
    frail: bool = False
    falls: bool = False
    pregnant: bool = False
    breastfeeding: bool = False
    self_harm_last_12_months: bool = False
    alcohol: Alcohol = Alcohol.NONE
    conditions: frozenset[str] = frozenset()
    medications: tuple[Medication, ...] = ()
    cyp2d6: Phenotype | None = None
    cyp2c19: Phenotype | None = None
    qtc_ms: int | None = None
    previous_qtc_ms: int | None = None
    weight_kg: Decimal | None = None
    potassium: Decimal | None = None  # mmol/L, latest measured
    magnesium: Decimal | None = None  # mmol/L, latest measured
    sodium: int | None = None  # mmol/L, latest measured
    ecg_on: date | None = None  # when the QTc was measured (None: not dated)
    bloods_on: date | None = None  # when potassium, magnesium and sodium were measured (None: not dated)


@dataclass(frozen=True)
class DatedCheck:
    """A check a card asks for at a set time (reference A.4, "dated checks follow their cards").

    The plan books a dated follow-up for it, schedules no rise before that follow-up, and the
    handout tells the patient not to take the next rise until the clinic confirms the result.
    Exactly one timing is set: days after the start (`after_days` to `within_days`), before the
    first step above `before_dose_above_mg`, or at the planned target (`at_target`).
    """

    key: str  # catalog monitoring slug
    within_days: int | None = None
    after_days: int = 0
    before_dose_above_mg: Decimal | None = None
    at_target: bool = False


@dataclass(frozen=True)
class Effects:
    """Structured consequences of a card for the plan."""

    start: StartDose = StartDose.STANDARD
    min_days_per_step: int | None = None
    hold_at_start: bool = False
    early_first_review: bool = False
    monitoring: tuple[str, ...] = ()
    supply_limit_days: int | None = None
    supply_limit_mg: Decimal | None = None
    earliest_start: date | None = None
    checks: tuple[DatedCheck, ...] = ()
    target_cap_mg: Decimal | None = None  # the default planned target goes no higher (frail or dementia)
    review_each_rise: bool = False  # a review (phone or visit) before every rise


def card_key(code: str, subjects: Iterable[str]) -> str:
    """A card's stable identity: its rule code and what it is about (docs/plan-request.md).

    The same rule about the same subjects, in any order, is the same finding, wherever and
    whenever it was assessed: `<code>~<first 12 hex digits of SHA-256 of the sorted subjects as JSON>`.
    """
    digest = hashlib.sha256(json.dumps(sorted(subjects), ensure_ascii=False).encode()).hexdigest()[:12]
    return f"{code}~{digest}"


# Card groups in the order shown: critical, then stacked risks, then warnings, then information.
CRITICAL_GROUP, STACKED_GROUP, WARNING_GROUP, INFO_GROUP = range(4)


@dataclass(frozen=True)
class Card:
    """A finding shaped like a CDS Hooks card."""

    code: str
    indicator: Indicator
    action: Action
    title: str
    summary: str
    detail: str
    sources: tuple[SourceRef, ...]
    effects: Effects = field(default_factory=Effects)
    subjects: tuple[str, ...] = ()
    order: int = 0
    concern: str = ""
    stacked: bool = False
    needs_specialist_advice: bool = False
    folded: tuple["Card", ...] = ()  # the single-factor cards this stacked card summarises (one reason for all)
    # What the finding is about, without values that change on their own (an age, a score): the card's
    # identity when it differs from the subjects shown. Empty: the subjects are the identity.
    identity: tuple[str, ...] = ()

    @property
    def source(self) -> SourceRef | None:
        return self.sources[0] if self.sources else None

    @property
    def key(self) -> str:
        return card_key(self.code, self.identity or self.subjects)

    @property
    def group(self) -> int:
        if self.indicator is Indicator.CRITICAL:
            return CRITICAL_GROUP
        if self.stacked:
            return STACKED_GROUP
        return WARNING_GROUP if self.indicator is Indicator.WARNING else INFO_GROUP

    @property
    def sort_key(self) -> tuple[int, int, str, tuple[str, ...]]:
        """Critical first, then stacked risks, then warnings by the catalog's order (danger), then information."""
        return (self.group, self.order, self.code, self.subjects)

    def with_folded(self) -> tuple["Card", ...]:
        """This card and every card folded under it."""
        return (self, *self.folded)


@dataclass(frozen=True)
class Assessment:
    cards: tuple[Card, ...]
    unrecognised_medications: tuple[str, ...]  # not recognised: matched nothing
    recognised_medications: tuple[tuple[str, str], ...]  # (name as entered, catalog name)
    medicines: tuple["MedicineReading", ...]
    anticholinergic_total: int
    anticholinergic_items: tuple[tuple[str, int], ...]
    earliest_start: date | None
    start: StartDose
    min_days_per_step: int | None
    hold_at_start: bool
    early_first_review: bool
    supply_limit_days: int | None
    baseline_checks: tuple[str, ...]
    monitoring: tuple[str, ...]
    supply_limit_mg: Decimal | None = None
    unreviewed_medications: tuple[str, ...] = ()  # recognised, not reviewed: real medicines nobody here checked
    checks: tuple[DatedCheck, ...] = ()
    target_cap_mg: Decimal | None = None
    review_each_rise: bool = False

    @property
    def blocked(self) -> bool:
        return any(card.indicator is Indicator.CRITICAL for card in self.cards)

    @property
    def critical_cards(self) -> tuple[Card, ...]:
        return tuple(c for c in self.cards if c.indicator is Indicator.CRITICAL)

    @property
    def warning_cards(self) -> tuple[Card, ...]:
        return tuple(c for c in self.cards if c.indicator is Indicator.WARNING)

    @property
    def info_cards(self) -> tuple[Card, ...]:
        return tuple(c for c in self.cards if c.indicator is Indicator.INFO)

    @property
    def all_cards(self) -> tuple[Card, ...]:
        """Every card, with the cards folded under a stacked card after it."""
        return tuple(c for card in self.cards for c in card.with_folded())
