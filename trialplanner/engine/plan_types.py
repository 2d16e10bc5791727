"""Value types of plans: strengths, steps, follow-ups and the plan draft."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from trialplanner.engine.types import Card


class Form(StrEnum):
    TABLET = "tablet"
    ORAL_SOLUTION = "oral_solution"


@dataclass(frozen=True)
class StrengthFacts:
    form: Form
    amount_mg: Decimal
    per_volume_ml: Decimal | None = None

    @property
    def label(self) -> str:
        if self.form is Form.ORAL_SOLUTION:
            assert self.per_volume_ml is not None  # an oral solution always states its volume
            return f"{self.amount_mg.normalize():f} mg/{self.per_volume_ml.normalize():f} ml oral solution"
        return f"{self.amount_mg.normalize():f} mg tablet"


@dataclass(frozen=True)
class TabletCount:
    strength_mg: Decimal
    count: int


@dataclass(frozen=True)
class Dispense:
    """How one night's dose is taken: whole tablets, or a volume of liquid."""

    tablets: tuple[TabletCount, ...] = ()
    liquid_ml: Decimal | None = None
    liquid_strength: StrengthFacts | None = None

    @property
    def dose_mg(self) -> Decimal:
        total = sum((t.strength_mg * t.count for t in self.tablets), Decimal(0))
        if self.liquid_ml is not None:
            assert self.liquid_strength is not None and self.liquid_strength.per_volume_ml is not None
            total += self.liquid_ml * self.liquid_strength.amount_mg / self.liquid_strength.per_volume_ml
        return total


class StepKind(StrEnum):
    TITRATION = "titration"
    TARGET = "target"
    HOLD = "hold"
    TAPER = "taper"
    STOP = "stop"


@dataclass(frozen=True)
class Step:
    number: int
    start: date
    end: date  # inclusive: the last night of this dose
    dose_mg: Decimal
    dispense: Dispense
    kind: StepKind
    # Checks whose result the clinic confirms before the patient takes this step (catalog monitoring slugs):
    # the handout says not to take it until then (reference A.4).
    awaits: tuple[str, ...] = ()

    @property
    def nights(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def tablets(self) -> tuple[TabletCount, ...]:
        return self.dispense.tablets

    @property
    def liquid_ml(self) -> Decimal | None:
        return self.dispense.liquid_ml

    def total_tablets(self) -> tuple[TabletCount, ...]:
        """Tablets needed for the whole step, per strength."""
        return tuple(TabletCount(t.strength_mg, t.count * self.nights) for t in self.dispense.tablets)

    def total_liquid_ml(self) -> Decimal | None:
        return None if self.dispense.liquid_ml is None else self.dispense.liquid_ml * self.nights


class FollowUpKind(StrEnum):
    BASELINE = "baseline"
    FIRST_REVIEW = "first-review"
    AT_TARGET = "at-target"
    RESPONSE = "response"
    PERIODIC = "periodic"
    TAPER_REVIEW = "taper-review"
    RECHECK = "recheck"  # booked by a visit finding (reference A.3)
    CHECK = "check"  # a dated check a risk card asks for (reference A.4)
    RISE_REVIEW = "rise-review"  # a review (phone or visit) before a rise, for frail patients (A.4)


@dataclass(frozen=True)
class FollowUp:
    due: date
    kind: FollowUpKind
    assess: tuple[str, ...]


@dataclass(frozen=True)
class Adjustment:
    """A change the engine made to the protocol's defaults, with the cards that caused it."""

    code: str
    text: str
    because: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlanOptions:
    strengths: tuple[StrengthFacts, ...]
    target_mg: Decimal | None = None
    tablet_strength_mg: Decimal | None = None
    days_per_step: int | None = None
    # Re-planning from a visit: start from this dose instead of the protocol's start,
    # and optionally hold there.
    from_mg: Decimal | None = None
    hold: bool = False


class Decision(StrEnum):
    CONTINUE = "continue"
    STEP_UP = "step_up"
    HOLD = "hold"
    STEP_DOWN = "step_down"
    STOP = "stop"
    STOP_NOW = "stop_now"


@dataclass(frozen=True)
class PlanDraft:
    start_date: date
    end_date: date
    start_mg: Decimal
    target_mg: Decimal
    ceiling_mg: Decimal
    days_per_step: int
    target_date: date
    response_date: date
    supply_limit_days: int | None
    steps: tuple[Step, ...]
    followups: tuple[FollowUp, ...]
    adjustments: tuple[Adjustment, ...]
    cards: tuple[Card, ...]
    monitoring: tuple[str, ...]
    supply_limit_mg: Decimal | None = None
