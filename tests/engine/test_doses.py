"""Doses read from a medicine line (reference A.4): what can be read is read; the rest is unknown."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialplanner.engine.doses import read_dose
from trialplanner.engine.medicines import split_line


def daily(line, index=0):
    parts = split_line(line)
    return read_dose(parts.name, parts.dose_text).daily_mg_of(index)


@pytest.mark.parametrize(
    ("line", "mg"),
    [
        ("citalopram 40 mg od", "40"),
        ("citalopram 20mg od", "20"),
        ("sertraline 50mg bd", "100"),
        ("tramadol 100mg qds", "400"),
        ("tramadol 200mg MR bd", "400"),
        ("tramadol 50 mg prn max 8/day", "400"),
        ("tramadol 50mg 1-2 qds prn", "400"),  # as needed: the most it allows
        ("citalopram 20mg tablets 1 tab bd", "40"),
        ("citalopram 2 x 20mg od", "40"),
        ("co-codamol 30/500 2 tabs qds", "240"),
        ("co-codamol 30/500mg 1-2 tabs up to 4 times a day", "240"),
        ("Zapain 30/500 two tablets four times a day", "240"),
        ("Methadone mixture 1mg/1ml 60ml daily", "60"),
        ("methadone 10 mg/5 ml 30 ml od", "60"),
        ("paracetamol 1g qds", "4000"),
        ("oxycodone 5mg every 4 hours", "30"),
        ("morphine 10mg three times a day", "30"),
        ("levothyroxine 100 micrograms od", "0.1"),
    ],
)
def test_it_reads_the_daily_dose(line, mg):
    assert daily(line) == Decimal(mg)


def test_it_reads_each_ingredient_of_a_combination():
    assert daily("co-codamol 30/500 2 tabs qds", 1) == Decimal("4000")


@pytest.mark.parametrize(
    "line", ["methadone 120mg", "salbutamol 100mcg 2 puffs prn", "citalopram", "tramadol as directed", "gtn spray"]
)
def test_a_daily_dose_it_cannot_read_is_unknown(line):
    assert daily(line) is None


def test_only_the_dose_is_known_when_how_often_is_not_written():
    parts = split_line("methadone 120mg")
    reading = read_dose(parts.name, parts.dose_text)
    assert reading.daily_mg is None and reading.at_least_mg_of(0) == Decimal("120")
    assert reading.text() == "read as 120 mg a dose; how often is not written"


LINE_TEXT = st.text(alphabet=st.sampled_from(list("0123456789 ./-xmgclbdtqsonpraxuy")), max_size=40)


@given(name=st.sampled_from(["tramadol", "co-codamol", "methadone", "citalopram"]), text=LINE_TEXT)
def test_any_dose_text_reads_to_a_positive_dose_or_to_unknown_never_an_error(name, text):
    reading = read_dose(name, text)
    for index in range(3):
        for value in (reading.daily_mg_of(index), reading.at_least_mg_of(index)):
            assert value is None or value > 0
    assert isinstance(reading.text(), str)
