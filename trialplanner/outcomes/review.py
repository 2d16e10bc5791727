"""The clinic outcome review: how a clinic's trials went, counted in the database.

A trial is a plan series (every version of one plan). It counts for a period when the first of
its versions that was in force (activated, not entered in error) starts in the period. Every
figure is a count with its denominator, summed from the tallies of the period's start months and
of the days at its edges (`outcomes.tally`): the number of queries and of rows read does not grow
with the number of patients (medians come from a histogram of days).

Definitions, as shown on the page:
- reached target: a target-dose step began while its version was in force, on or before today;
- judged: a score was recorded at the judgement visit (the follow-up that judges response, at
  the indication's judgement point) and the series has a baseline score;
- responded: that score meets the catalog's response threshold for the indication's measure
  against the baseline (the same exact test as engine.judge_response);
- stopped: a version was stopped (a taper began, or the trial ended), with its recorded reason;
- late: a follow-up seen more than the catalog's `followup_late_days` after its due date, or
  still open that long after it; missed: marked as not attended.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Q

from trialplanner.catalog.models import (
    Indication,
    OutcomeMeasure,
    PublishedOutcome,
    ReasonPreset,
    Rule,
    RuleParameter,
)
from trialplanner.outcomes import services as outcome_services
from trialplanner.outcomes import tally
from trialplanner.outcomes.models import TrialOutcome, TrialTally
from trialplanner.outcomes.trajectory import threshold_text
from trialplanner.plans.models import Plan, Visit

OWN_WORDS = "In the clinician's own words"
SMALL_CELL = 5  # counts from 1 to 4 patients are suppressed in exports (disclosure control)


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    count: int | None
    denominator: int | None = None
    note: str = ""

    @property
    def percent(self) -> int | None:
        if self.count is None or not self.denominator:
            return None
        return round(self.count * 100 / self.denominator)


@dataclass
class Review:
    clinic: object
    indication: Indication | None
    start: date
    end: date
    today: date
    late_days: int
    started: int = 0
    figures: list = field(default_factory=list)
    stops: list = field(default_factory=list)
    side_effects: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    reasons: list = field(default_factory=list)
    followups: list = field(default_factory=list)
    medians: list = field(default_factory=list)
    by_indication: list = field(default_factory=list)
    comparisons: list = field(default_factory=list)  # (PublishedOutcome, compared: bool, why)
    response_definition: str = ""
    responded: Figure | None = None


def median(histogram: dict[int, int]) -> Decimal | None:
    """The median of values given as {value: how many}; None when empty."""
    total = sum(histogram.values())
    if not total:
        return None
    wanted = [(total - 1) // 2, total // 2]  # the middle position(s), 0-based
    found, seen = [], 0
    for value in sorted(histogram):
        count = histogram[value]
        for position in wanted:
            if seen <= position < seen + count:
                found.append(value)
        seen += count
    return Decimal(sum(found)) / len(found)


def _counts(clinic, indication, start, end, today, late_days, db):
    """The period's counts (all trials, and by indication) and its histograms of days ({"target":
    {days: n}, "response": ...}): from the tallies that hold today, and from the trial rows of
    those that ran out (counted as `tally.contribution` counts them)."""
    tallies = TrialTally.objects.using(db).filter(clinic=clinic).filter(tally.period_filter(start, end))
    if indication is not None:
        tallies = tallies.filter(indication=indication)
    dense, ran_out, holding = {name: [] for name in tally.HISTOGRAMS}, [], []
    for kept in tallies.only("indication_id", "span", "first_day", *tally.STORED).defer("counts"):
        if tally.holds(kept, today, late_days):
            holding.append(kept.pk)
            dense["target"].append(kept.target_days)
            dense["response"].append(kept.response_days)
        else:
            first, last = tally.covers(kept)
            ran_out.append(Q(indication_id=kept.indication_id, started__gte=first, started__lte=last))
    # The counts of exactly the tallies found holding above: a rebuild committing in between
    # cannot make a bucket count twice or not at all.
    by_indication = tally.summed_counts(TrialTally.objects.using(db).filter(pk__in=holding)) if holding else {}
    histograms = {name: tally.merge_dense(lists) for name, lists in dense.items()}
    outcomes = TrialOutcome.objects.using(db).filter(clinic=clinic)
    rows = [row for chunk in tally.any_of(ran_out) for row in outcomes.filter(chunk)]
    stale = {row.series for row in rows if not tally.followups_hold(row, today, late_days)}
    live = outcome_services.followups_of(stale, db) if stale else {}
    for row in rows:
        followups = None
        if row.series in stale:
            followups = outcome_services.followup_counts(live.get(row.series, ()), today, late_days)
        counts, days = tally.split(tally.contribution(row, today, late_days, followups).counts)
        for name, histogram in days.items():
            for day, n in histogram.items():
                histograms[name][day] = histograms[name].get(day, 0) + n
        by_indication.setdefault(row.indication_id, Counter()).update(counts)
    total = Counter()
    for counts in by_indication.values():
        total.update(counts)
    return total, histograms, by_indication


def _named(counts, prefix):
    """{name: n} of the counts named `prefix` + name."""
    return {key.removeprefix(prefix): n for key, n in counts.items() if key.startswith(prefix) and n}


def clinic_review(*, clinic, indication, start: date, end: date, today: date) -> Review:
    """Every figure of the review for `clinic`'s trials started from `start` to `end` (inclusive).

    Read from settings.REPORTS_DATABASE, explicitly: the read replica when DATABASE_REPLICA_URL is
    set (the review may then lag the primary by the replica's delay), else the database itself."""
    db = settings.REPORTS_DATABASE
    late_days = int(RuleParameter.objects.using(db).get(key="followup_late_days").value)
    review = Review(clinic=clinic, indication=indication, start=start, end=end, today=today, late_days=late_days)
    c, histograms, per_indication = _counts(clinic, indication, start, end, today, late_days, db)
    started, reached, seen = c["trials"], c["reached"], c["visited"]
    judged, responded, ever_responded = c["judged"], c["responded"], c["responded_any"]
    stops = _named(c, "stop:")
    review.started = started
    review.figures = [
        Figure("started", "Trials started", started),
        Figure("reached_target", "Reached the planned target dose", reached, started),
        Figure("baseline", "Had a baseline score", c["baseline"], started),
        Figure("judged", "Scored at the judgement visit (with a baseline)", judged, started),
        Figure("responded", "Responded at the judgement visit", responded, judged),
        Figure("responded_any", "Met the response threshold at any visit", ever_responded, started),
        Figure("stopped", "Stopped", sum(stops.values()), started),
    ]
    labels = dict(Plan.StopReason.choices)
    review.stops = [
        Figure(f"stop_{reason or 'not_recorded'}", labels.get(reason, "Not recorded (stopped at a visit)"), n, started)
        for reason, n in sorted(stops.items(), key=lambda item: -item[1])
    ]
    days_to_target, days_to_response = median(histograms["target"]), median(histograms["response"])
    review.medians = [
        Figure("median_days_to_target", "Median days from the first dose to the target dose",
               None if days_to_target is None else int(days_to_target), reached),
        Figure("median_days_to_response", "Median days from the first dose to the first response",
               None if days_to_response is None else int(days_to_response), ever_responded),
    ]  # fmt: skip
    names = dict(Indication.objects.using(db).values_list("id", "name"))
    review.by_indication = [
        (
            names.get(pk, "?"),
            Figure(f"indication_{pk}_responded", "Responded", n["responded"], n["judged"]),
            n["trials"],
        )
        for pk, n in sorted(per_indication.items(), key=lambda item: names.get(item[0], ""))
        if n["trials"]
    ]
    labels = dict(Visit.SideEffect.choices)
    effects = _named(c, "effect:")
    review.side_effects = sorted(
        [Figure(f"side_effect_{key}", labels[key], effects[key], seen) for key in Visit.SideEffect.values
         if effects.get(key)],
        key=lambda f: -f.count,
    )  # fmt: skip
    review.warnings, review.reasons = _warnings(c, started, db)
    review.followups = [
        Figure("followups_due", "Follow-ups due up to today", due := c["fu:due"]),
        Figure("followups_on_time", f"Seen within {late_days} days of the due date", c["fu:on_time"], due),
        Figure("followups_late", f"Seen more than {late_days} days late", c["fu:late"], due),
        Figure("followups_overdue", f"Not yet seen, more than {late_days} days overdue", c["fu:overdue"], due),
        Figure("followups_missed", "Marked as missed", c["fu:missed"], due),
    ]
    review.responded = review.figures[4]
    if indication is not None:
        review.comparisons = _comparisons(indication, db)
        review.response_definition = threshold_text(indication.outcome_measure)
    return review


def _warnings(counts, started, db):
    """The ten warnings acknowledged in most trials, labelled with the catalog rule's summary, and the
    fifteen commonest (warning, reason) pairs, labelled with the rule's title, a reason being a preset
    or the clinician's own words."""
    codes = sorted(_named(counts, "warning:").items(), key=lambda item: (-item[1], item[0]))[:10]
    pairs = [(*key.split(tally.SEP, 1), n) for key, n in _named(counts, "reason:").items()]
    rules = {
        code: (title, summary)
        for code, title, summary in Rule.objects.using(db)
        .filter(code__in={code for code, _ in codes} | {code for code, _, _ in pairs})
        .values_list("code", "title", "summary")
    }
    warnings = [Figure(f"warning_{code}", rules.get(code, (code, code))[1], n, started) for code, n in codes]
    presets = dict(
        ReasonPreset.objects.using(db).filter(key__in={preset for _, preset, _ in pairs}).values_list("key", "text")
    )
    pairs.sort(key=lambda p: (-p[2], p[0], presets.get(p[1], OWN_WORDS)))
    return warnings, [(rules.get(code, (code,))[0], presets.get(key, OWN_WORDS), n) for code, key, n in pairs[:15]]


def _comparisons(indication, db):
    measure = indication.outcome_measure
    rows = []
    for published in PublishedOutcome.objects.using(db).filter(indication=indication).select_related("measure"):
        if not published.matches(measure):
            why = f"Not compared: published as “{published.definition}”; this clinic judges {measure.short_name}."
            rows.append((published, False, why))
        elif measure.response_rule == OutcomeMeasure.ResponseRule.CATEGORY:
            rows.append(
                (
                    published,
                    False,
                    "Same definition, but category ratings are not counted from scores.",
                )
            )
        else:
            rows.append((published, True, ""))
    return rows


def suppressed(value) -> str:
    """A count for export: 1-4 become "<5" so no small group of patients can be singled out."""
    if value is None:
        return ""
    return f"<{SMALL_CELL}" if 0 < value < SMALL_CELL else str(value)


def export_rows(review):
    """CSV rows (section, figure, count, denominator, percent) with small cells suppressed."""
    sections = [
        ("Trials", review.figures), ("Stopped, by reason", review.stops), ("Time", review.medians),
        ("Side effects (patients with a visit)", review.side_effects), ("Warnings acknowledged", review.warnings),
        ("Follow-ups", review.followups),
    ]  # fmt: skip
    for section, figures in sections:
        for figure in figures:
            if figure.key.startswith("median_"):
                hidden = figure.denominator is not None and 0 < figure.denominator < SMALL_CELL
                value = "" if hidden or figure.count is None else str(figure.count)
                yield [section, figure.label, value, suppressed(figure.denominator), ""]
                continue
            small = any(v is not None and 0 < v < SMALL_CELL for v in (figure.count, figure.denominator))
            percent = "" if small or figure.percent is None else f"{figure.percent}%"
            yield [
                section,
                figure.label,
                suppressed(figure.count),
                suppressed(figure.denominator),
                percent,
            ]
    for name, figure, _started in review.by_indication:
        small = any(0 < v < SMALL_CELL for v in (figure.count or 0, figure.denominator or 0))
        percent = "" if small or figure.percent is None else f"{figure.percent}%"
        yield [f"By indication: {name}", "Responded at the judgement visit", suppressed(figure.count),
               suppressed(figure.denominator), percent]  # fmt: skip
