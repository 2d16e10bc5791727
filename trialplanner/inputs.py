"""Input hygiene in one place: ASCII-only numbers, and text without control or bidi characters.

Python's int(), Decimal() and date parsing accept any Unicode digit ("١٢", "１２"), and
str.isdigit() is true for "²", which int() then refuses: numbers from a request are read
here, from ASCII digits only. Text fields refuse control characters (single-line fields all
of them; multi-line notes all but newline, carriage return and tab) and the bidirectional
overrides and isolates (U+202A-U+202E, U+2066-U+2069) that can make a name read differently
on screen than in a digest, a CSV or the audit trail.
"""

import json
import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

ASCII_INT = re.compile(r"[0-9]{1,18}", re.ASCII)
BIDI_CONTROLS = frozenset(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
NOTE_WHITESPACE = frozenset("\n\r\t")
# Line and paragraph separators end a line as surely as a newline does.
LINE_BREAKS = frozenset("\u2028\u2029\x85")

MESSAGES = {
    "bidi": "Remove the hidden text-direction characters (bidirectional controls) from this text.",
    "control": "Remove the control characters (such as line breaks or tabs) from this field.",
    "note_control": "Remove the control characters from this text; only line breaks and tabs are allowed.",
    "ascii_number": "Enter the number with the digits 0-9.",
}


def ascii_int(raw, default=None, maximum=None):
    """An int from ASCII digits only (at most 18 of them, and not above `maximum`), else `default`."""
    text = raw if isinstance(raw, str) else ""
    if not ASCII_INT.fullmatch(text):
        return default
    value = int(text)
    return default if maximum is not None and value > maximum else value


def page_number(request, name="page"):
    """The ?page= number for Paginator.get_page: garbage and Unicode digits mean the first page."""
    return ascii_int(request.GET.get(name, ""), default=1, maximum=10**6)


def _is_control(ch):
    return unicodedata.category(ch) == "Cc" or ch in LINE_BREAKS


@deconstructible
class TextValidator:
    """Reject bidi controls always, and control characters except the allowed ones."""

    def __init__(self, multiline=False):
        self.multiline = multiline

    def __call__(self, value):
        if not isinstance(value, str):
            return
        if any(ch in BIDI_CONTROLS for ch in value):
            raise ValidationError(MESSAGES["bidi"], code="bidi")
        allowed = NOTE_WHITESPACE if self.multiline else frozenset()
        if any(_is_control(ch) and ch not in allowed for ch in value):
            code = "note_control" if self.multiline else "control"
            raise ValidationError(MESSAGES[code], code=code)

    def __eq__(self, other):
        return isinstance(other, TextValidator) and other.multiline == self.multiline


single_line = TextValidator(multiline=False)
multi_line = TextValidator(multiline=True)


def text_problem(value, multiline=False):
    """The message for a bad text value (for non-form input such as JSON requests), or None."""
    try:
        TextValidator(multiline)(value)
    except ValidationError as exc:
        return exc.messages[0]
    return None


def nesting_depth(text: str) -> int:
    """The deepest nesting of [ and { in JSON text, brackets inside strings not counted.

    Python's json module recurses once per level and fails with RecursionError (a 500, not a
    ValueError) near 1,000 levels: every JSON read from outside is measured with this first.
    """
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def bounded_json(text: str, *, max_depth: int):
    """`text` parsed as JSON, or ValueError when it is not JSON or nested deeper than `max_depth`."""
    if nesting_depth(text) > max_depth:
        raise ValueError(f"nested too deeply (more than {max_depth} levels of [ and {{)")
    return json.loads(text)


NUMERIC_FIELDS = (
    forms.IntegerField,
    forms.DecimalField,
    forms.FloatField,
    forms.DateField,
    forms.DateTimeField,
    forms.TimeField,
    forms.UUIDField,
)


def _ascii_first(to_python, message):
    def wrapped(value):
        if isinstance(value, str) and not value.isascii():
            raise ValidationError(message, code="invalid")
        return to_python(value)

    return wrapped


def harden_fields(form):
    """Apply the rules to every field of `form`: ASCII-only numbers and dates, clean text.

    Text fields are single-line unless the form names them in `multiline_fields` (notes);
    a reason is one line even in a wrapping text box. Password inputs are left as typed.
    """
    multiline = set(getattr(form, "multiline_fields", ()))
    for name, field in form.fields.items():
        if getattr(field, "_hardened", False):
            continue
        field._hardened = True
        if isinstance(field, NUMERIC_FIELDS):
            message = field.error_messages.get("invalid") or MESSAGES["ascii_number"]
            field.to_python = _ascii_first(field.to_python, message)
        elif isinstance(field, forms.CharField) and not isinstance(field.widget, forms.PasswordInput):
            field.validators.append(multi_line if name in multiline else single_line)


class HardenedFormMixin:
    """Mix into every form taking input from a person: fields are hardened just before cleaning,
    so fields a form adds in __init__ (such as one reason per warning) are covered too."""

    def full_clean(self):
        harden_fields(self)
        super().full_clean()
