"""Input hygiene in one place: ASCII-only numbers, and text without control or bidi characters.

Python's int(), Decimal() and date parsing accept any Unicode digit ("١٢", "１２"), and
str.isdigit() is true for "²", which int() then refuses: numbers from a request are read
here, from ASCII digits only. Text fields refuse control characters (single-line fields all
of them; multi-line notes all but newline, carriage return and tab) and the bidirectional
overrides and isolates (U+202A-U+202E, U+2066-U+2069) that can make a name read differently
on screen than in a digest, a CSV or the audit trail.
"""

import json
import math
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


class JsonInputError(ValueError):
    """JSON from outside the app refused; the message says why and, for a bad value, where."""


def _no_constant(name):
    raise JsonInputError(f"{name} is not a number JSON allows here: send a finite number")


def _finite(text):
    value = float(text)
    if not math.isfinite(value):
        raise JsonInputError(f"the number {text[:20]} is too large")
    return value


def json_path(parts) -> str:
    """('entry', 0, 'resource') -> 'entry[0].resource', the way a message names a place in a body."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the body"


def json_text_problem(data) -> str | None:
    """The first string or key in parsed JSON that breaks the text rules, as 'where: what', or None.

    The rules of the forms' notes (control characters other than line breaks and tabs, and bidi
    controls, refused) plus lone surrogates, which JSON escapes can carry and no database stores.
    """
    stack = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                problem = _string_problem(key)
                if problem:
                    return f"a name in {json_path(path)}: {problem}"
                stack.append(((*path, key), item))
        elif isinstance(value, list):
            stack.extend(((*path, n), item) for n, item in enumerate(value))
        elif isinstance(value, str):
            problem = _string_problem(value)
            if problem:
                return f"{json_path(path)}: {problem}"
    return None


def _string_problem(value: str) -> str | None:
    if any(unicodedata.category(ch) == "Cs" for ch in value):
        return "remove the invalid characters (unpaired surrogates) from this text."
    problem = text_problem(value, multiline=True)
    return f"{problem[0].lower()}{problem[1:]}" if problem else None


def read_json(raw: bytes | str, *, max_bytes: int, max_depth: int):
    """JSON from outside the app (a CDS Hooks body, a FHIR bundle, a pasted key set), parsed, or
    JsonInputError saying what is wrong: at most `max_bytes` of UTF-8 nested at most `max_depth`
    levels; finite numbers only (no NaN, Infinity or numbers of thousands of digits); and every
    string and key free of NUL, control and bidi characters (json_text_problem)."""
    if isinstance(raw, str):
        text = raw
        if len(text) > max_bytes:
            raise JsonInputError(f"larger than {max_bytes // 1024} KB")
    else:
        if len(raw) > max_bytes:
            raise JsonInputError(f"larger than {max_bytes // 1024} KB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonInputError("not UTF-8 text") from None
    if nesting_depth(text) > max_depth:
        raise JsonInputError(f"nested more than {max_depth} levels deep")
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise JsonInputError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except JsonInputError:
        raise
    except (ValueError, RecursionError):  # an integer of thousands of digits
        raise JsonInputError("a number in it is far too large") from None
    problem = json_text_problem(data)
    if problem:
        raise JsonInputError(problem)
    return data


def bounded_json(text: str, *, max_depth: int):
    """`text` parsed as JSON by read_json's rules (any size), or JsonInputError (a ValueError)."""
    return read_json(text, max_bytes=len(text) + 1, max_depth=max_depth)


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
