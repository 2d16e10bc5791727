"""The clinic outcome review: how a clinic's trials went, counted in the database.

A trial is a plan series (every version of one plan). It counts for a period when the first of
its versions that was in force (activated, not entered in error) starts in the period. Every
figure is a count with its denominator, aggregated in SQL: the number of queries and the rows
they return do not grow with the number of patients (medians come from a histogram of days).

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

# ruff: noqa: S608 - the SQL below interpolates only table names from model metadata and fixed
# fragments of this module; every value is passed as a query parameter.

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection

from trialplanner.catalog.models import (
    Indication,
    OutcomeMeasure,
    PublishedOutcome,
    RuleParameter,
)
from trialplanner.outcomes.models import TrialOutcome
from trialplanner.outcomes.trajectory import threshold_text
from trialplanner.plans.models import Acknowledgement, FollowUp, Plan, Visit

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


def _t(model):
    return connection.ops.quote_name(model._meta.db_table)


def _days(later, earlier):
    """SQL for the whole days from `earlier` to `later` (both DATE columns)."""
    if connection.vendor == "postgresql":
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def _json_text(column):
    return f"CAST({column} AS TEXT)" if connection.vendor == "postgresql" else column


def _cohort(indication):
    """The WHERE clause picking the review's trials from `TrialOutcome` (alias o), and its parameters."""
    extra = " AND o.indication_id = %s" if indication is not None else ""
    return f"o.clinic_id = %s AND o.started >= %s AND o.started <= %s{extra}"


def _cohort_params(clinic, indication, start, end):
    return [clinic.pk, start, end, *([indication.pk] if indication is not None else [])]


FOLLOWUP_COUNTS = ("due", "on_time", "late", "overdue", "missed")
_FRESH = (
    "o.followups_late_days = %s AND o.followups_as_of <= %s"
    " AND (o.followups_valid_until IS NULL OR o.followups_valid_until > %s)"
)


def _facts_query(indication):
    """One scan of the period's trial rows, grouped by what the figures tell apart.

    Each row: indication, days to target (if reached by today), days to first response,
    stopped, stop reason, has baseline, judged, responded, how many trials, how many had a
    visit, how many reported each side effect, and the stored follow-up counts of the trials
    whose counts hold today. The groups are few (indications x distinct day counts x flags),
    so Python adds them up into every figure.
    """
    o = _t(TrialOutcome)
    flag = "CASE WHEN o.{0} THEN 1 ELSE 0 END AS {0}".format
    effects = ", ".join(f"CASE WHEN o.side_effects LIKE %s THEN 1 ELSE 0 END AS e{n}" for n in range(_EFFECTS))
    followups = ", ".join(f"o.followups_{name} AS f{n}" for n, name in enumerate(FOLLOWUP_COUNTS))
    sums = ", ".join([*(f"SUM(e{n})" for n in range(_EFFECTS)), *(f"SUM(fresh * f{n})" for n in range(5))])
    keys = "indication_id, target_days, response_days, stopped, stop_reason, has_baseline, judged, responded"
    return f"""
    SELECT {keys}, COUNT(*), SUM(had_visit), {sums} FROM (
      SELECT o.indication_id,
        CASE WHEN o.target_on <= %s THEN {_days("o.target_on", "o.started")} END AS target_days,
        {_days("o.response_on", "o.started")} AS response_days,
        {flag("stopped")}, o.stop_reason, {flag("has_baseline")}, {flag("judged")}, {flag("responded")},
        {flag("had_visit")}, {effects}, CASE WHEN {_FRESH} THEN 1 ELSE 0 END AS fresh, {followups}
      FROM {o} o WHERE {_cohort(indication)}
    ) trials GROUP BY {keys}"""


_EFFECTS = len(Visit.SideEffect.values)


def _facts_params(cohort, today, late_days):
    return [today, *(f"%,{key},%" for key in Visit.SideEffect.values), late_days, today, today, *cohort]


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


def _rows(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def clinic_review(*, clinic, indication, start: date, end: date, today: date) -> Review:
    """Every figure of the review for `clinic`'s trials started from `start` to `end` (inclusive)."""
    late_days = int(RuleParameter.objects.get(key="followup_late_days").value)
    review = Review(
        clinic=clinic,
        indication=indication,
        start=start,
        end=end,
        today=today,
        late_days=late_days,
    )
    cohort = _cohort_params(clinic, indication, start, end)

    histograms = {"target_days": {}, "response_days": {}}
    stops, by_indication, effects = {}, {}, [0] * (_EFFECTS + len(FOLLOWUP_COUNTS))
    totals = [0] * 7  # started, reached, judged, responded, with a baseline, ever responded, with a visit
    for group in _rows(_facts_query(indication), _facts_params(cohort, today, late_days)):
        pk, target_days, response_days, stopped, reason, baseline, judged, responded, n, visited = group[:10]
        counts = [n, n if target_days is not None else 0, n * judged, n * responded, n * baseline,
                  n if response_days is not None else 0, int(visited or 0)]  # fmt: skip
        for numbers in (totals, by_indication.setdefault(pk, [0] * 7)):
            numbers[:] = [a + b for a, b in zip(numbers, counts, strict=True)]
        if target_days is not None:
            histograms["target_days"][int(target_days)] = histograms["target_days"].get(int(target_days), 0) + n
        if response_days is not None:
            days = int(response_days)
            histograms["response_days"][days] = histograms["response_days"].get(days, 0) + n
        if stopped:
            stops[reason or ""] = stops.get(reason or "", 0) + n
        effects = [a + int(b or 0) for a, b in zip(effects, group[10:], strict=True)]
    per_indication = list(by_indication.items())
    effects, stored_followups = effects[:_EFFECTS], effects[_EFFECTS:]
    started, reached, judged, responded, with_baseline, ever_responded, seen = totals
    review.started = started
    review.figures = [
        Figure("started", "Trials started", started),
        Figure("reached_target", "Reached the planned target dose", reached, started),
        Figure("baseline", "Had a baseline score", with_baseline, started),
        Figure("judged", "Scored at the judgement visit (with a baseline)", judged, started),
        Figure("responded", "Responded at the judgement visit", responded, judged),
        Figure(
            "responded_any",
            "Met the response threshold at any visit",
            ever_responded,
            started,
        ),
        Figure("stopped", "Stopped", sum(stops.values()), started),
    ]
    labels = dict(Plan.StopReason.choices)
    review.stops = [
        Figure(
            f"stop_{reason or 'not_recorded'}",
            labels.get(reason, "Not recorded (stopped at a visit)"),
            count,
            started,
        )
        for reason, count in sorted(stops.items(), key=lambda item: -item[1])
    ]
    days_to_target, days_to_response = (
        median(histograms["target_days"]),
        median(histograms["response_days"]),
    )
    review.medians = [
        Figure(
            "median_days_to_target",
            "Median days from the first dose to the target dose",
            None if days_to_target is None else int(days_to_target),
            reached,
        ),  # fmt: skip
        Figure(
            "median_days_to_response",
            "Median days from the first dose to the first response",
            None if days_to_response is None else int(days_to_response),
            ever_responded,
        ),  # fmt: skip
    ]
    names = dict(Indication.objects.values_list("id", "name"))
    review.by_indication = [
        (
            names.get(pk, "?"),
            Figure(f"indication_{pk}_responded", "Responded", numbers[3], numbers[2]),
            numbers[0],
        )
        for pk, numbers in sorted(per_indication, key=lambda item: names.get(item[0], ""))
    ]
    labels = dict(Visit.SideEffect.choices)
    review.side_effects = sorted(
        [
            Figure(f"side_effect_{key}", labels[key], n, seen)
            for key, n in zip(Visit.SideEffect.values, effects, strict=True)
            if n
        ],
        key=lambda f: -f.count,
    )
    review.warnings, review.reasons = _warnings(indication, cohort, started)
    review.followups = _followups(indication, cohort, today, late_days, stored_followups)
    review.responded = review.figures[4]
    if indication is not None:
        review.comparisons = _comparisons(indication)
        review.response_definition = threshold_text(indication.outcome_measure)
    return review


def _in_cohort(indication):
    return f"p.series IN (SELECT o.series FROM {_t(TrialOutcome)} o WHERE {_cohort(indication)})"


def _warnings(indication, cohort, started):
    sql = f"""
    SELECT a.card_code, MIN(a.card_summary), COUNT(DISTINCT p.series)
    FROM {_t(Acknowledgement)} a JOIN {_t(Plan)} p ON p.id = a.plan_id
    WHERE {_in_cohort(indication)}
    GROUP BY a.card_code ORDER BY 3 DESC, 1 LIMIT 10"""
    warnings = [Figure(f"warning_{code}", summary, n, started) for code, summary, n in _rows(sql, cohort)]
    sql = f"""
    SELECT a.card_code, a.reason, COUNT(DISTINCT p.series)
    FROM {_t(Acknowledgement)} a JOIN {_t(Plan)} p ON p.id = a.plan_id
    WHERE {_in_cohort(indication)}
    GROUP BY a.card_code, a.reason ORDER BY 3 DESC, 1, 2 LIMIT 15"""
    summaries = {f.key.removeprefix("warning_"): f.label for f in warnings}
    reasons = [(summaries.get(code, code), reason, n) for code, reason, n in _rows(sql, cohort)]
    return warnings, reasons


def _expired(indication):
    """The period's trials whose stored follow-up counts do not hold today, each branch an index range."""
    o, where = _t(TrialOutcome), _cohort(indication)
    return f"""
      SELECT o.series FROM {o} o WHERE {where} AND o.followups_late_days = %s AND o.followups_valid_until <= %s
      UNION ALL SELECT o.series FROM {o} o WHERE {where} AND o.followups_late_days < %s
      UNION ALL SELECT o.series FROM {o} o WHERE {where} AND o.followups_late_days > %s
      UNION ALL SELECT o.series FROM {o} o WHERE {where} AND o.followups_as_of > %s AND o.followups_late_days = %s
        AND (o.followups_valid_until IS NULL OR o.followups_valid_until > %s)"""


def _followups(indication, cohort, today, late_days, stored):
    """The follow-ups of the period's trials that fell due up to today (cancelled ones left out).

    Stored per trial (`TrialOutcome.followups_*`) while they hold; counted here, live, for the
    trials whose counts ran out since their row was written (none after the nightly refresh).
    """
    late_seen = _days("v.visit_date", "f.due_date")
    late_open = "(CAST(%s AS DATE) - f.due_date)" if connection.vendor == "postgresql" else _days("%s", "f.due_date")
    sql = f"""
    SELECT COUNT(*),
      SUM(CASE WHEN f.status = 'done' AND {late_seen} <= %s THEN 1 ELSE 0 END),
      SUM(CASE WHEN f.status = 'done' AND {late_seen} > %s THEN 1 ELSE 0 END),
      SUM(CASE WHEN f.status IN ('due', 'snoozed') AND {late_open} > %s THEN 1 ELSE 0 END),
      SUM(CASE WHEN f.status = 'missed' THEN 1 ELSE 0 END)
    FROM {_t(FollowUp)} f JOIN {_t(Plan)} p ON p.id = f.plan_id
      LEFT JOIN {_t(Visit)} v ON v.followup_id = f.id
    WHERE p.series IN ({_expired(indication)}) AND f.due_date <= %s AND f.status <> 'cancelled'
      AND p.status <> 'entered_in_error'"""
    expired = [*cohort, late_days, today, *cohort, late_days, *cohort, late_days, *cohort, today, late_days, today]
    params = [late_days, late_days, today, late_days, *expired, today]
    live = (int(n or 0) for n in _rows(sql, params)[0])
    due, on_time, late_seen_n, late_open_n, missed = (a + int(b or 0) for a, b in zip(live, stored, strict=True))
    return [
        Figure("followups_due", "Follow-ups due up to today", due),
        Figure("followups_on_time", f"Seen within {late_days} days of the due date", on_time, due),
        Figure("followups_late", f"Seen more than {late_days} days late", late_seen_n, due),
        Figure("followups_overdue", f"Not yet seen, more than {late_days} days overdue", late_open_n, due),
        Figure("followups_missed", "Marked as missed", missed, due),
    ]


def _comparisons(indication):
    measure = indication.outcome_measure
    rows = []
    for published in PublishedOutcome.objects.filter(indication=indication).select_related("measure"):
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
