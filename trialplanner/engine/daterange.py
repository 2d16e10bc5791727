"""The dates the engine accepts: far wider than any plan, narrow enough that no date sum overflows.

A plan adds at most a few years to its start (steps, reviews, tapers, washouts), so any date in
this range leaves every computed date representable. The app's own forms are much narrower.
"""

from datetime import date

from trialplanner.engine.errors import EngineInputError

EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)


def check_date(field: str, day: date | None) -> None:
    """Refuse a date outside EARLIEST..LATEST as an input error on `field`."""
    if day is not None and not EARLIEST <= day <= LATEST:
        raise EngineInputError(field, f"must be a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}")
