"""How much of a real medicine list the catalog reviews and the open dictionary recognises (reference A.4)."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from trialplanner.engine import Medication, RuleBook
from trialplanner.engine.medicines import MedicineReading, ReviewState, read_medicine


@dataclass
class Coverage:
    lines: int = 0
    by_state: dict[ReviewState, list[MedicineReading]] = field(default_factory=lambda: {s: [] for s in ReviewState})

    def count(self, state: ReviewState) -> int:
        return len(self.by_state[state])

    @property
    def recognised(self) -> int:
        """Reviewed or recognised: a real medicine, whatever is known of its interactions."""
        return self.lines - self.count(ReviewState.NOT_RECOGNISED)

    def percent(self, count: int) -> float:
        return 100 * count / self.lines if self.lines else 0.0


def list_lines(text: str) -> list[str]:
    """The medicine lines of a list file: one per line; blank lines and '#' comments skipped."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def measure(lines: Iterable[str], rules: RuleBook) -> Coverage:
    found = Coverage()
    for line in lines:
        reading = read_medicine(rules, Medication(line))
        found.lines += 1
        found.by_state[reading.state].append(reading)
    return found
