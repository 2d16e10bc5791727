"""Reading the dose written on a medicine line: amount, unit, times a day, "as needed, max N".

"citalopram 40 mg od" reads as 40 mg a day; "tramadol 50mg prn max 8/day" as up to 400 mg a day;
"co-codamol 30/500 2 tabs qds" as 240 mg of codeine and 4,000 mg of paracetamol a day; "methadone
1mg/ml oral solution 60 ml" as 60 mg. What cannot be read is said to be unknown, never guessed: a
dose with no frequency is read per dose only, and counts as "at least" that much a day only where
a rule asks whether the dose could be over a limit.
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

NUMBER = r"(\d+(?:\.\d+)?|\.\d+)"
MASS_UNITS = {
    "mg": Decimal(1),
    "milligram": Decimal(1),
    "milligrams": Decimal(1),
    "g": Decimal(1000),
    "gram": Decimal(1000),
    "grams": Decimal(1000),
    "mcg": Decimal("0.001"),
    "ug": Decimal("0.001"),
    "µg": Decimal("0.001"),
    "microgram": Decimal("0.001"),
    "micrograms": Decimal("0.001"),
}
MASS = r"(mg|milligrams?|g|grams?|mcg|ug|µg|micrograms?)"
AMOUNT = re.compile(rf"(?<![\d./]){NUMBER}\s*{MASS}\b(?!\s*/\s*(?:hr|hour|h|dose|actuation)\b)")
# Strength per volume: "1mg/ml", "10 mg/5 ml", "25mg in 5ml".
CONCENTRATION = re.compile(rf"{NUMBER}\s*{MASS}\s*(?:/|in|per)\s*{NUMBER}?\s*ml\b")
VOLUME = re.compile(rf"(?<![\d./]){NUMBER}\s*(?:ml|millilitres?|milliliters?)\b(?!\s*/)")
# A combination's strengths as written: "30/500", "37.5/325mg".
STRENGTHS = re.compile(rf"(?<![\d./]){NUMBER}\s*/\s*{NUMBER}(?:\s*/\s*{NUMBER})?\s*(?:mg)?\b(?!\s*(?:ml|hr|hour|h)\b)")
WORD_NUMBERS = {"one": "1", "two": "2", "three": "3", "four": "4", "half": "0.5", "a": "1"}
COUNT_WORDS = r"(?:tabs?|tablets?|caps?|capsules?|sachets?|puffs?|patch(?:es)?|drops?|doses?|pastilles?|lozenges?)"
COUNT = re.compile(
    rf"(?<![\d./]){NUMBER}\s*(?:x\s*)?{COUNT_WORDS}\b|\b(one|two|three|four|half|a)\s+{COUNT_WORDS}\b"
    rf"|(?<![\d./]){NUMBER}\s*x\s*(?=\d)"
)
BARE_COUNT = re.compile(rf"(?<![\d./]){NUMBER}\s+(?=(?:od|om|on|bd|bid|tds|tid|qds|qid|daily|nocte|mane)\b)")

TIMES_A_DAY = {
    "od": 1, "om": 1, "on": 1, "qd": 1, "daily": 1, "nocte": 1, "mane": 1, "nightly": 1, "once": 1, "qhs": 1,
    "bd": 2, "bid": 2, "twice": 2,
    "tds": 3, "tid": 3,
    "qds": 4, "qid": 4,
}  # fmt: skip
FREQUENCY_WORD = re.compile(r"\b(" + "|".join(TIMES_A_DAY) + r")\b")
TIMES = re.compile(r"\b(\d+|one|two|three|four)\s*(?:x\s*)?times?\s*(?:a|per|each)?\s*(?:day|daily)\b")
EVERY_HOURS = re.compile(rf"\b(?:every|q)\s*{NUMBER}\s*(?:-\s*{NUMBER}\s*)?(?:hours?|hrs?|h)\b")
A_DAY = re.compile(r"\b(?:a|per|each)\s+day\b|/\s*day\b|\bdaily\b")
WEEKLY = re.compile(r"\b(?:weekly|once a week|each week|every week|per week|/\s*week)\b")
AS_NEEDED = re.compile(r"\b(?:prn|as needed|as required|when required|when needed|if needed|as directed)\b")
MAXIMUM = re.compile(
    rf"\b(?:max(?:imum)?|up to|not more than|no more than)\.?\s*(?:of\s*)?{NUMBER}\s*"
    rf"({MASS}|{COUNT_WORDS}|doses?|times)?\s*(?:a|per|in|/|each)?\s*(?:day|24\s*h(?:ours?|rs?)?|daily)?"
)


@dataclass(frozen=True)
class DoseReading:
    """What the dose text says, as far as it can be read; mg figures are of the line's first ingredient."""

    written: str
    per_dose_mg: Decimal | None = None  # of each ingredient, in order, for a combination: see `strengths_mg`
    strengths_mg: tuple[Decimal, ...] = ()  # a combination's strengths per unit as written ("30/500")
    units_per_dose: Decimal | None = None  # tablets, capsules or puffs per dose
    times_a_day: Decimal | None = None
    as_needed: bool = False
    max_a_day_mg: Decimal | None = None
    weekly: bool = False
    corrected: bool = False  # the daily dose was entered by the clinician

    @property
    def daily_mg(self) -> Decimal | None:
        """The daily dose in mg of the first ingredient; as needed, the written maximum; else None."""
        return self.daily_mg_of(0)

    def daily_mg_of(self, index: int) -> Decimal | None:
        if self.corrected:
            return self.per_dose_mg if index == 0 else None
        per_dose = self._per_dose_of(index)
        if per_dose is None:
            return None
        if self.as_needed:
            if self.max_a_day_mg is None:
                return None
            if index == 0 or not self.strengths_mg:
                return self.max_a_day_mg
            first = self._per_dose_of(0)
            return _round(self.max_a_day_mg * per_dose / first) if first else None
        if self.weekly:
            return _round(per_dose / 7)
        if self.times_a_day is None:
            return None
        return _round(per_dose * self.times_a_day)

    def at_least_mg_of(self, index: int) -> Decimal | None:
        """The daily dose, or where only the dose is written (how often is not), that dose once a day."""
        daily = self.daily_mg_of(index)
        if daily is not None:
            return daily
        if self.as_needed or self.weekly:
            return None
        return self._per_dose_of(index)

    def _per_dose_of(self, index: int) -> Decimal | None:
        if self.strengths_mg:
            if index >= len(self.strengths_mg):
                return None
            return _round(self.strengths_mg[index] * (self.units_per_dose or 1))
        return self.per_dose_mg if index == 0 else None

    @property
    def read(self) -> bool:
        return self.per_dose_mg is not None or bool(self.strengths_mg)

    def text(self) -> str:
        """The reading in words, shown next to the line: 'read as 40 mg a day'; '' when no dose is written."""
        if self.corrected:
            return f"entered by the clinician as {_num(self.per_dose_mg)} mg a day"
        if not self.read:
            return "not read: write the amount and how often (or enter the daily dose)" if self.written.strip() else ""
        daily = self.daily_mg
        per_dose = self._per_dose_of(0)
        if self.as_needed:
            if daily is None:
                return f"read as {_num(per_dose)} mg as needed; no daily maximum written"
            return f"read as {_num(per_dose)} mg as needed, up to {_num(daily)} mg a day"
        if self.weekly:
            return f"read as {_num(per_dose)} mg a week"
        if daily is None:
            return f"read as {_num(per_dose)} mg a dose; how often is not written"
        return f"read as {_num(daily)} mg a day"


def _round(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01")).normalize()


def _num(value: Decimal | None) -> str:
    if value is None:
        return "?"
    return f"{value.normalize():,f}"


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(WORD_NUMBERS.get(text, text))
    except InvalidOperation:
        return None
    return value if value.is_finite() and 0 < value < 1_000_000 else None


def _mg(number: str, unit: str) -> Decimal | None:
    value = _decimal(number)
    return None if value is None else _round(value * MASS_UNITS[unit])


def read_dose(name: str, dose_text: str, corrected_daily_mg: Decimal | None = None) -> DoseReading:
    """Read the dose of a line split into `name` ("co-codamol") and `dose_text` ("30/500 2 tabs qds").

    The name is read too, for strengths written into it ("Co-codamol 30/500", "Methadone 1mg/ml").
    """
    written = " ".join(f"{name} {dose_text}".split())
    if corrected_daily_mg is not None:
        return DoseReading(written=dose_text, per_dose_mg=corrected_daily_mg, corrected=True)
    text = written.casefold().replace(",", " ")
    per_dose: Decimal | None = None
    strengths: tuple[Decimal, ...] = ()
    units: Decimal | None = None
    concentration = CONCENTRATION.search(text)
    volume = VOLUME.search(CONCENTRATION.sub(" ", text))
    if concentration and volume:
        mg = _mg(concentration.group(1), concentration.group(2))
        per_ml = _decimal(concentration.group(3) or "1")
        ml = _decimal(volume.group(1))
        if mg is not None and per_ml and ml is not None:
            per_dose = _round(mg / per_ml * ml)
    rest = CONCENTRATION.sub(" ", text)
    max_match = MAXIMUM.search(rest)
    before_max = rest[: max_match.start()] if max_match else rest
    if per_dose is None:
        combo = STRENGTHS.search(before_max)
        amount = AMOUNT.search(before_max)
        if combo and (amount is None or combo.start() <= amount.start()):
            parts = [_decimal(g) for g in combo.groups() if g]
            if all(p is not None for p in parts):
                strengths = tuple(p for p in parts if p is not None)
        elif amount:
            per_dose = _mg(amount.group(1), amount.group(2))
    count = COUNT.search(before_max) or BARE_COUNT.search(before_max)
    if count:
        units = _decimal(next(g for g in count.groups() if g))
    if per_dose is not None and units is not None and not strengths:
        # "20mg tablets 2 bd": the strength is per tablet; "2 x 20mg" the same.
        per_dose = _round(per_dose * units)
    times = _times_a_day(before_max)
    as_needed = bool(AS_NEEDED.search(text))
    weekly = bool(WEEKLY.search(before_max)) and times is None
    max_mg = None
    if max_match:
        max_mg = _maximum_mg(max_match, per_dose, strengths, units)
        if not as_needed and times is None:
            as_needed = True  # "up to 4 times a day", "max 8 a day": a ceiling, read as such
    if as_needed and max_mg is None and times is not None and (per_dose is not None or strengths):
        first = strengths[0] * (units or 1) if strengths else per_dose
        max_mg = _round(first * times) if first is not None else None  # "1-2 tabs up to qds prn"
    return DoseReading(
        written=dose_text,
        per_dose_mg=per_dose,
        strengths_mg=strengths,
        units_per_dose=units,
        times_a_day=times,
        as_needed=as_needed,
        max_a_day_mg=max_mg,
        weekly=weekly,
    )


def _times_a_day(text: str) -> Decimal | None:
    found = TIMES.search(text)
    if found:
        return _decimal(found.group(1))
    every = EVERY_HOURS.search(text)
    if every:
        hours = _decimal(every.group(1))
        return _round(Decimal(24) / hours) if hours and hours <= 24 else None
    words = FREQUENCY_WORD.findall(text)
    if words:
        return Decimal(max(TIMES_A_DAY[w] for w in words))
    return None


def _maximum_mg(
    found: re.Match[str], per_dose: Decimal | None, strengths: tuple[Decimal, ...], units: Decimal | None
) -> Decimal | None:
    """'max 8/day' counts tablets where the dose is written in tablets (or is one tablet), else doses."""
    number = _decimal(found.group(1))
    unit = (found.group(2) or "").strip()
    if number is None:
        return None
    if unit in MASS_UNITS:
        return _round(number * MASS_UNITS[unit])
    doses = unit.startswith(("dose", "time"))
    if strengths:
        per_unit = strengths[0] * ((units or 1) if doses else 1)
        return _round(per_unit * number)  # "30/500 2 tabs prn max 8/day": 8 tablets; "up to 4 times": 4 doses
    if per_dose is None:
        return None
    if units and not doses:
        return _round(per_dose / units * number)  # tablets: per tablet x the tablets allowed
    return _round(per_dose * number)
