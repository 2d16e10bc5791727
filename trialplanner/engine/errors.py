from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .types import Card


class EngineError(Exception):
    """Base class for errors raised by the clinical engine."""


class EngineInputError(EngineError):
    """An input is out of range or unknown. `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class PlanBlocked(EngineError):
    """A critical card stands; no plan is built. `cards` are the critical cards."""

    def __init__(self, cards: Iterable["Card"]) -> None:
        self.cards = tuple(cards)
        names = ", ".join(card.code for card in self.cards)
        super().__init__(f"Plan blocked by critical findings: {names}")
