"""Doses in words for clinicians and patients: '2 × 10 mg tablets', '2.5 ml of liquid'."""

from decimal import Decimal


def _num(value) -> str:
    return f"{Decimal(value).normalize():f}"


def tablets_text(tablets) -> str:
    """tablets: (strength_mg, count) pairs -> '1 × 25 mg tablet + 1 × 10 mg tablet'."""
    parts = [f"{count} × {_num(strength)} mg tablet{'s' if count != 1 else ''}" for strength, count in tablets]
    return " + ".join(parts)


def per_night_text(tablets, liquid_ml=None, liquid_label="") -> str:
    if liquid_ml is not None:
        return f"{_num(liquid_ml)} ml of the {liquid_label}".strip() if liquid_label else f"{_num(liquid_ml)} ml"
    if not tablets:
        return "None: stop taking it"
    return tablets_text(tablets)


def supply_text(tablets, liquid_ml, nights) -> str:
    """What to dispense for a step of `nights` nights."""
    if liquid_ml is not None:
        return f"{_num(Decimal(liquid_ml) * nights)} ml"
    if not tablets:
        return "—"
    return " + ".join(f"{count * nights} × {_num(strength)} mg" for strength, count in tablets)
