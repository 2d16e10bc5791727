"""The engine refuses dates it cannot plan from, whatever it is given: never an OverflowError."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialplanner.engine import EngineInputError, Medication, PatientProfile, PlanOptions, assess_risk, build_plan
from trialplanner.engine.daterange import EARLIEST, LATEST
from trialplanner.engine.titration import build_stop_now, build_taper
from trialplanner.engine.types import Sex

PERSON = PatientProfile(age=40, sex=Sex.FEMALE)


def build(rulebook, indications, strengths, start, person=PERSON):
    facts, protocol = indications["peripheral-neuropathic-pain"]
    assessment = assess_risk(person, facts, protocol, rulebook, start)
    return build_plan(protocol, assessment, start, PlanOptions(strengths=strengths), rulebook)


@pytest.mark.parametrize("start", [date.max, date(3000, 1, 1), date(1899, 12, 31), date.min])
def test_it_refuses_a_start_outside_its_range(rulebook, indications, strengths, start):
    with pytest.raises(EngineInputError) as exc:
        build(rulebook, indications, strengths, start)
    assert exc.value.field == "start_date"


def test_it_refuses_a_medicine_stopped_in_9999(rulebook, indications, strengths):
    person = PatientProfile(age=40, sex=Sex.FEMALE, medications=(Medication("phenelzine", date(9999, 12, 31)),))
    with pytest.raises(EngineInputError) as exc:
        build(rulebook, indications, strengths, date(2026, 12, 1), person)
    assert exc.value.field == "medications"


@pytest.mark.parametrize("start", [date.max, date.min])
def test_it_refuses_starts_outside_the_range_in_tapers_and_stops_too(rulebook, strengths, start):
    with pytest.raises(EngineInputError):
        build_taper(Decimal(30), 12, start, rulebook, strengths)
    with pytest.raises(EngineInputError):
        build_stop_now(Decimal(30), start, reason="test")


@settings(max_examples=40, deadline=None)
@given(start=st.dates(), stopped=st.none() | st.dates())
def test_it_gives_a_plan_or_an_input_error_for_any_date(rulebook, indications, strengths, start, stopped):
    person = PatientProfile(age=40, sex=Sex.FEMALE, medications=(Medication("phenelzine", stopped),))
    try:
        draft = build(rulebook, indications, strengths, start, person)
    except EngineInputError:
        return
    except Exception as exc:  # noqa: BLE001 - blocked plans are fine; overflow is not
        assert not isinstance(exc, OverflowError | ValueError), exc
        return
    assert EARLIEST <= draft.start_date and draft.end_date.year <= LATEST.year + 10
