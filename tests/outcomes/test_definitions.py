"""Outcome definitions live in the catalog, each row cited."""

import pytest

from trialplanner.catalog.models import Indication, OutcomeMeasure, PublishedOutcome, RuleParameter

pytestmark = pytest.mark.django_db


def test_it_cites_a_source_for_every_published_figure_and_measure(catalog):
    assert PublishedOutcome.objects.count() >= 3
    for row in [*PublishedOutcome.objects.all(), *OutcomeMeasure.objects.all()]:
        assert row.sources.exists(), row
    assert RuleParameter.objects.get(key="followup_late_days").sources.exists()


def test_it_matches_a_figure_only_to_the_same_measure_rule_and_threshold(catalog):
    cochrane = PublishedOutcome.objects.get(slug="fibromyalgia-cochrane-50-pain-relief")
    fibromyalgia = Indication.objects.get(slug="fibromyalgia")
    assert not cochrane.matches(fibromyalgia.outcome_measure)  # FIQR, 14%
    pain = OutcomeMeasure.objects.get(slug="pain-nrs")
    assert not cochrane.matches(pain)  # pain NRS, but 30% in the catalog
    pain.response_threshold = 50
    assert cochrane.matches(pain)
