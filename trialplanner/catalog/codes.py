"""Check digits of the code systems the catalog stores, so a mistyped code never loads.

SNOMED CT identifiers (and so dm+d ids, which are SNOMED identifiers) end in a Verhoeff
check digit; LOINC codes end in a mod-10 (Luhn) check digit after the hyphen. RxNorm
RXCUIs carry no check digit: only their form is checked.
"""

import re

from django.core.exceptions import ValidationError

SNOMED = "http://snomed.info/sct"
DMD = "https://dmd.nhs.uk"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"

_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def verhoeff_valid(number: str) -> bool:
    """True when the last digit of `number` is its Verhoeff check digit."""
    check = 0
    for i, digit in enumerate(reversed(number)):
        check = _D[check][_P[i % 8][int(digit)]]
    return check == 0


def loinc_check_digit(number: str) -> int:
    """The LOINC mod-10 check digit of the part before the hyphen."""
    total = 0
    for i, char in enumerate(reversed(number)):
        digit = int(char)
        if i % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return (10 - total % 10) % 10


SCTID_RE = re.compile(r"^[1-9][0-9]{5,17}$")
LOINC_RE = re.compile(r"^([0-9]{1,7})-([0-9])$")
RXCUI_RE = re.compile(r"^[1-9][0-9]{0,9}$")


def is_sctid(code: str) -> bool:
    return bool(SCTID_RE.match(code)) and verhoeff_valid(code)


def is_loinc(code: str) -> bool:
    match = LOINC_RE.match(code)
    return bool(match) and loinc_check_digit(match.group(1)) == int(match.group(2))


def validate_sctid(value):
    """SNOMED CT / dm+d identifier: 6-18 digits ending in a Verhoeff check digit."""
    if value and not is_sctid(value):
        raise ValidationError(
            "%(value)s is not a SNOMED CT or dm+d identifier (6-18 digits, Verhoeff check digit).",
            code="bad_sctid",
            params={"value": value},
        )


def validate_loinc(value):
    if value and not is_loinc(value):
        raise ValidationError(
            "%(value)s is not a LOINC code (digits, hyphen, mod-10 check digit).",
            code="bad_loinc",
            params={"value": value},
        )


def validate_rxcui(value):
    if value and not RXCUI_RE.match(value):
        raise ValidationError(
            "%(value)s is not an RxNorm RXCUI (digits only).", code="bad_rxcui", params={"value": value}
        )
