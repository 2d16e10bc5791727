"""Doses in words for clinicians and patients: '2 × 10 mg tablets', '2.5 ml of liquid'."""

from collections.abc import Iterable, Sequence
from decimal import Decimal

Tablets = Sequence[tuple[Decimal | int | str, int]]
Number = Decimal | int | str


def _num(value: Number) -> str:
    return f"{Decimal(value).normalize():f}"


def tablets_text(tablets: Tablets) -> str:
    """tablets: (strength_mg, count) pairs -> '1 × 25 mg tablet + 1 × 10 mg tablet'."""
    parts = [f"{count} × {_num(strength)} mg tablet{'s' if count != 1 else ''}" for strength, count in tablets]
    return " + ".join(parts)


def per_night_text(tablets: Tablets, liquid_ml: Number | None = None, liquid_label: str = "") -> str:
    if liquid_ml is not None:
        return f"{_num(liquid_ml)} ml of the {liquid_label}".strip() if liquid_label else f"{_num(liquid_ml)} ml"
    if not tablets:
        return "None: stop taking it"
    return tablets_text(tablets)


def supply_text(tablets: Tablets, liquid_ml: Number | None, nights: int) -> str:
    """What to dispense for a step of `nights` nights."""
    if liquid_ml is not None:
        return f"{_num(Decimal(liquid_ml) * nights)} ml"
    if not tablets:
        return "—"
    return " + ".join(f"{count * nights} × {_num(strength)} mg" for strength, count in tablets)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _tablets_ascii(tablets: Tablets) -> str:
    return " + ".join(f"{count} x {_num(strength)} mg tablet{'s' if count != 1 else ''}" for strength, count in tablets)


def step_directions(
    tablets: Tablets,
    liquid_ml: Number | None,
    liquid_label: str,
    dose_mg: Number,
    nights: int,
    stop: bool = False,
) -> str:
    """One step as a prescription direction: 'Take 2 x 10 mg tablets (20 mg) at night for 7 nights'."""
    if stop or (not tablets and liquid_ml is None):
        return "Stop taking amitriptyline"
    if liquid_ml is not None:
        what = f"{_num(liquid_ml)} ml of {liquid_label or 'oral solution'}"
    else:
        what = _tablets_ascii(tablets)
    return f"Take {what} ({_num(dose_mg)} mg) at night for {_plural(nights, 'night')}"


def directions(step_texts: Iterable[str]) -> str:
    """Every step's direction in one text to copy into a prescribing system."""
    texts = list(step_texts)
    if not texts:
        return ""
    rest = [t[0].lower() + t[1:] for t in texts[1:]]
    return ", then ".join([texts[0], *rest]) + "."


def nights_per_supply(
    dose_mg: Number | None, interval_days: int, limit_days: int | None = None, limit_mg: Number | None = None
) -> int:
    """Nights one supply covers: the dispensing interval, within any day and total-mg limit (A.2)."""
    nights = interval_days
    if limit_days:
        nights = min(nights, limit_days)
    if limit_mg and dose_mg:
        nights = min(nights, int(Decimal(limit_mg) // Decimal(dose_mg)))
    return max(nights, 1)


def supply_per_interval_text(tablets: Tablets, liquid_ml: Number | None, nights: int, per_supply: int) -> str:
    """What to dispense for a step, one supply at a time: '10 supplies of 28 × 50 mg (28 nights each), then ...'."""
    if not tablets and liquid_ml is None:
        return "—"
    if nights <= per_supply:
        return f"{supply_text(tablets, liquid_ml, nights)} ({_plural(nights, 'night')})"
    full, rest = divmod(nights, per_supply)
    one = supply_text(tablets, liquid_ml, per_supply)
    if full == 1:
        text = f"{one} ({_plural(per_supply, 'night')})"
    else:
        text = f"{full} supplies of {one} ({per_supply} nights each)"
    if rest:
        text += f", then {supply_text(tablets, liquid_ml, rest)} ({_plural(rest, 'night')})"
    return text
