"""The input rules of trialplanner/inputs.py, on their own."""

import pytest
from django import forms
from django.core.exceptions import ValidationError

from trialplanner import inputs


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("0", 0),
        ("42", 42),
        ("007", 7),
        ("²", None),
        ("١٢", None),
        ("１２", None),
        ("-1", None),
        ("1.0", None),
        ("", None),
        (" 1", None),
        ("1" * 19, None),
        (None, None),
        (["1"], None),
    ],
)
def test_it_reads_only_ascii_digits_in_ascii_int(raw, expected):
    assert inputs.ascii_int(raw) == expected


def test_it_gives_ascii_int_a_ceiling():
    assert inputs.ascii_int("1000", default=1, maximum=999) == 1


@pytest.mark.parametrize("value", ["Ann O'Neil", "Zoë Ångström", "李小龍", "محمد", "MRN-42/7"])
def test_it_passes_ordinary_text_through_both_rules(value):
    inputs.single_line(value)
    inputs.multi_line(value)


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\tb", "a\x00b", "\x1b[31m", "a\x7fb", "a\x85b", "a\u2028b"])
def test_it_refuses_control_characters_in_single_line_text(value):
    with pytest.raises(ValidationError) as exc:
        inputs.single_line(value)
    assert exc.value.code == "control"


def test_it_allows_only_newline_carriage_return_and_tab_in_notes():
    inputs.multi_line("line one\r\nline two\tindented")
    for bad in ("a\x00b", "a\x0bb", "a\x1bb", "a\x7f"):
        with pytest.raises(ValidationError) as exc:
            inputs.multi_line(bad)
        assert exc.value.code == "note_control"


@pytest.mark.parametrize("codepoint", [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
def test_it_refuses_every_bidi_control_everywhere(codepoint):
    for rule in (inputs.single_line, inputs.multi_line):
        with pytest.raises(ValidationError) as exc:
            rule(f"abc{chr(codepoint)}def")
        assert exc.value.code == "bidi"


class Sample(inputs.HardenedFormMixin, forms.Form):
    multiline_fields = ["notes"]
    name = forms.CharField()
    notes = forms.CharField(widget=forms.Textarea, required=False)
    reason = forms.CharField(widget=forms.Textarea, required=False)
    count = forms.IntegerField(required=False)
    amount = forms.DecimalField(required=False)
    day = forms.DateField(required=False)
    secret = forms.CharField(widget=forms.PasswordInput, required=False)


def test_it_applies_the_rules_of_the_mixin_to_every_field():
    form = Sample(
        {
            "name": "x\ny",
            "notes": "a\nb",
            "reason": "a\nb",
            "count": "١٢",
            "amount": "１.5",
            "day": "٢٠٢٦-01-01",
            "secret": "pass\u202eword",
        }
    )
    assert not form.is_valid()
    assert set(form.errors) == {"name", "reason", "count", "amount", "day"}
    assert form.errors["count"] == [forms.IntegerField.default_error_messages["invalid"]]
    ok = Sample({"name": "x", "notes": "a\nb", "reason": "a b", "count": "12", "amount": "1.5", "day": "2026-01-01"})
    assert ok.is_valid(), ok.errors
    assert ok.cleaned_data["count"] == 12


def test_it_covers_fields_added_after_init():
    form = Sample({"name": "x"})
    form.fields["late"] = forms.CharField()
    form.data = {"name": "x", "late": "a\u2066b"}
    assert not form.is_valid() and form.errors["late"] == [inputs.MESSAGES["bidi"]]


def test_it_does_not_stack_validators_in_the_mixin_when_cleaned_twice():
    form = Sample({"name": "x"})
    form.full_clean()
    form.full_clean()
    assert form.fields["name"].validators.count(inputs.single_line) == 1
