"""Checks already on file: a baseline check with a recent enough result is not asked again.

How long a result stays valid is each monitoring row's `validity_days` in the catalog.
"""

from collections.abc import Mapping
from dataclasses import replace
from datetime import date

from trialplanner.engine.types import Assessment


def is_on_file(slug: str, on_file: Mapping[str, date], validity_days: Mapping[str, int], on: date) -> bool:
    done, days = on_file.get(slug), validity_days.get(slug)
    return done is not None and days is not None and abs((on - done).days) <= days


def without_checks_on_file(
    assessment: Assessment, on_file: Mapping[str, date], validity_days: Mapping[str, int], on: date
) -> Assessment:
    """The assessment minus the baseline checks whose result on file is still valid on `on`."""
    due = tuple(k for k in assessment.baseline_checks if not is_on_file(k, on_file, validity_days, on))
    if due == assessment.baseline_checks:
        return assessment
    return replace(assessment, baseline_checks=due)
