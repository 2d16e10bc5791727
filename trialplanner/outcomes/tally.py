"""How one trial's outcome row counts in the review, and the sums of those counts kept per start
day and start month (`TrialTally`), so the review reads a few tallies instead of every trial.

`contribution(row, today, late_days)` is the one definition of what a trial adds to each figure
on a given day: the review counts tallies built from it, and counts the trials of a tally that
ran out with it too. `apply(old, new)` moves the tallies from a trial's old row to its new one
(the plan services' writes, through `outcomes.services.refresh_trials`); `rebuild(...)` sums
tallies again from the rows (the nightly command, and a full rebuild).
"""

from calendar import monthrange
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import reduce
from operator import add, or_

from django.db import connections
from django.db.models import Q

from trialplanner.outcomes.models import TrialOutcome, TrialTally

FOLLOWUPS = ("due", "on_time", "late", "overdue", "missed")
SEP = "\x1f"  # between a card code and a preset reason's key in a count's name


@dataclass
class Part:
    """What a trial (or several) adds to the counts on `as_of`, and the first later day it changes."""

    counts: Counter
    as_of: date
    valid_until: date | None

    def add(self, other: "Part", sign: int = 1) -> None:
        for key, n in other.counts.items():
            self.counts[key] += sign * n
        self.as_of = max(self.as_of, other.as_of)
        if sign > 0:  # taking a trial away never makes the rest hold longer
            self.valid_until = _earliest(self.valid_until, other.valid_until)


def _earliest(a, b):
    return b if a is None else a if b is None else min(a, b)


def followups_hold(row: TrialOutcome, today: date, late_days: int) -> bool:
    """Whether the follow-up counts stored on the trial row are the ones of `today`."""
    return (
        row.followups_late_days == late_days
        and row.followups_as_of <= today
        and (row.followups_valid_until is None or row.followups_valid_until > today)
    )


def contribution(row: TrialOutcome, today: date, late_days: int, followups: dict | None = None) -> Part:
    """What one trial adds to each count of the review on `today`.

    `followups`: the trial's follow-up counts of `today` (`services.followup_counts`), when the
    stored ones do not hold; without them the stored ones are used and the part holds no longer
    than they do.
    """
    counts = Counter(trials=1)
    valid_until = None
    if row.target_on is not None:
        if row.target_on <= today:
            counts["reached"] += 1
            counts[f"target:{(row.target_on - row.started).days}"] += 1
        else:
            valid_until = row.target_on  # reached that day
    for flag, name in ((row.has_baseline, "baseline"), (row.judged, "judged"), (row.responded, "responded"),
                       (row.had_visit, "visited")):  # fmt: skip
        if flag:
            counts[name] += 1
    if row.response_on is not None:
        counts["responded_any"] += 1
        counts[f"response:{(row.response_on - row.started).days}"] += 1
    if row.stopped:
        counts[f"stop:{row.stop_reason}"] += 1
    for key in filter(None, row.side_effects.split(",")):
        counts[f"effect:{key}"] += 1
    if followups is None:
        followups = {f"followups_{name}": getattr(row, f"followups_{name}") for name in FOLLOWUPS}
        if followups_hold(row, today, late_days):
            valid_until = _earliest(valid_until, row.followups_valid_until)
        else:
            valid_until = today  # ran out already: the tally does not hold today
    for name in FOLLOWUPS:
        if followups[f"followups_{name}"]:
            counts[f"fu:{name}"] += followups[f"followups_{name}"]
    # A trial counts once per warning and per (warning, reason), even when versions acknowledged it again.
    for code, preset in row.warnings:
        counts[f"warning:{code}"] = counts[f"reason:{code}{SEP}{preset}"] = 1
    return Part(counts, today, valid_until)


def reason_group(reason: str, presets: list[tuple[str, str]]) -> str:
    """The key of the catalog preset (key, text) a recorded reason is, or begins with (details
    added); "" for the clinician's own words. The review counts reasons by preset: free text
    rarely repeats, and each reason stays in full on its plan."""
    for key, text in presets:
        if reason == text or reason.startswith(f"{text.rstrip('.')}. "):
            return key
    return ""


STORED = ["counts", "target_days", "response_days", "as_of", "valid_until", "late_days"]
HISTOGRAMS = ("target", "response")  # counted as "target:<days>", stored densely in `target_days`


def dense(histogram: dict[int, int]) -> list[int]:
    """{days: n} as [first days, n, n, ...] (zeros inside kept, none outside); [] when empty."""
    if not histogram:
        return []
    low = min(histogram)
    return [low, *(histogram.get(day, 0) for day in range(low, max(histogram) + 1))]


def add_dense(total: dict[int, int], stored: list[int]) -> None:
    """Add a dense list's counts into {days: n}."""
    for offset, n in enumerate(stored[1:]):
        if n:
            total[stored[0] + offset] = total.get(stored[0] + offset, 0) + n


def merge_dense(stored: Iterable[list[int]]) -> dict[int, int]:
    """The sum of dense lists as {days: n}, added slice by slice (a year's tallies in well under a millisecond)."""
    stored = [kept for kept in stored if kept]
    if not stored:
        return {}
    low = min(kept[0] for kept in stored)
    total = [0] * (max(kept[0] + len(kept) - 1 for kept in stored) - low)
    for kept in stored:
        first, values = kept[0] - low, kept[1:]
        total[first : first + len(values)] = map(add, total[first : first + len(values)], values)
    return {low + days: n for days, n in enumerate(total) if n}


def stored(tally: TrialTally) -> Counter:
    """A tally's counts as one flat Counter, its histograms as "target:<days>" and "response:<days>"."""
    counts = Counter(tally.counts)
    for name, kept in zip(HISTOGRAMS, (tally.target_days, tally.response_days), strict=True):
        histogram = {}
        add_dense(histogram, kept)
        counts.update({f"{name}:{days}": n for days, n in histogram.items()})
    return counts


def split(counts: Counter) -> tuple[dict, dict[str, dict[int, int]]]:
    """Flat counts as (the counts without the histograms, {"target": {days: n}, "response": ...}), zeros left out."""
    histograms: dict[str, dict[int, int]] = {name: {} for name in HISTOGRAMS}
    flat = {}
    for key, n in sorted(counts.items()):
        if not n:
            continue
        name, _, days = key.partition(":")
        if name in histograms:
            histograms[name][int(days)] = n
        else:
            flat[key] = n
    return flat, histograms


def store(tally: TrialTally, counts: Counter) -> None:
    """Set a tally's fields from flat counts (zeros left out)."""
    flat, histograms = split(counts)
    tally.counts = flat
    tally.target_days, tally.response_days = dense(histograms["target"]), dense(histograms["response"])


def buckets(row) -> list[tuple]:
    """The tallies (clinic, indication, span, first day) a trial row counts in: its start day and month."""
    return [
        (row.clinic_id, row.indication_id, TrialTally.Span.DAY, row.started),
        (row.clinic_id, row.indication_id, TrialTally.Span.MONTH, row.started.replace(day=1)),
    ]


def apply(old: Iterable[TrialOutcome], new: Iterable[TrialOutcome], todays: dict, late_days: int) -> None:
    """Move the tallies from the trials' old rows to their new ones (inside the writer's transaction).

    `todays`: {clinic id: the clinic's today}. The tallies are locked in one order, so two writes
    of trials in the same month wait for each other instead of losing a count.
    """
    deltas: dict[tuple, Part] = {}
    for rows, sign in ((old, -1), (new, 1)):
        for row in rows:
            today = todays.get(row.clinic_id)
            if today is None:
                continue
            part = contribution(row, today, late_days)
            for key in buckets(row):
                deltas.setdefault(key, Part(Counter(), today, None)).add(part, sign)
    if not deltas:
        return
    # Every bucket is created first if need be (in lock order, before any lock is held), then all are
    # locked in that one order: two writers, or a writer and the nightly rebuild, never wait on each
    # other in a circle.
    TrialTally.objects.bulk_create(
        [TrialTally(clinic_id=c, indication_id=i, span=s, first_day=d, counts={}, as_of=deltas[(c, i, s, d)].as_of,
                    valid_until=None, late_days=late_days) for c, i, s, d in sorted(deltas, key=lock_order)],
        ignore_conflicts=True,
    )  # fmt: skip
    found = _locked(deltas)
    changed = []
    for key, delta in deltas.items():
        tally = found[key]
        if tally.late_days != late_days:  # counted with another setting: only a rebuild can put it right
            delta.valid_until = delta.as_of
            tally.late_days = late_days
        part = Part(stored(tally), tally.as_of, tally.valid_until)
        part.add(delta)
        store(tally, part.counts)
        tally.as_of, tally.valid_until = part.as_of, part.valid_until
        changed.append(tally)
    TrialTally.objects.bulk_update(changed, STORED)


def lock_order(key: tuple) -> tuple:
    """The one order tallies are locked in: clinic, span, first day, indication."""
    clinic, indication, span, first_day = key
    return clinic, span, first_day, indication


def any_of(conditions: list[Q], size: int = 200) -> Iterable[Q]:
    """The conditions OR-ed in chunks: SQLite refuses an expression of about 1,000 terms."""
    for first in range(0, len(conditions), size):
        yield reduce(or_, conditions[first : first + size])


def _locked(keys) -> dict:
    """The tallies of these buckets, locked for the rest of the transaction, in one order."""
    found = {}
    wanted = [Q(clinic_id=c, indication_id=i, span=s, first_day=d) for c, i, s, d in sorted(keys, key=lock_order)]
    for chunk in any_of(wanted):
        query = TrialTally.objects.filter(chunk).order_by("clinic_id", "span", "first_day", "indication_id")
        found.update({(t.clinic_id, t.indication_id, t.span, t.first_day): t for t in query.select_for_update()})
    return found


def rebuild(rows: Iterable[TrialOutcome], todays: dict, late_days: int) -> list[TrialTally]:
    """Unsaved tallies summed from these trial rows (every row of each bucket they fall in)."""
    sums: dict[tuple, Part] = {}
    for row in rows:
        today = todays[row.clinic_id]
        part = contribution(row, today, late_days)
        for key in buckets(row):
            sums.setdefault(key, Part(Counter(), today, None)).add(part)
    tallies = []
    for (clinic, indication, span, first_day), part in sums.items():
        kept = TrialTally(clinic_id=clinic, indication_id=indication, span=span, first_day=first_day,
                          as_of=part.as_of, valid_until=part.valid_until, late_days=late_days)  # fmt: skip
        store(kept, part.counts)
        tallies.append(kept)
    return tallies


def month_end(day: date) -> date:
    return day.replace(day=monthrange(day.year, day.month)[1])


def spans(start: date, end: date) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """The period cut into whole months (first and last month's first day, or None) and the day ranges left."""
    first = start if start.day == 1 else month_end(start) + timedelta(days=1)
    last = (end if month_end(end) == end else end.replace(day=1) - timedelta(days=1)).replace(day=1)
    if last < first:  # no whole month inside
        return None, [(start, end)]
    days = []
    if start < first:
        days.append((start, first - timedelta(days=1)))
    if month_end(last) < end:
        days.append((month_end(last) + timedelta(days=1), end))
    return (first, last), days


def period_filter(start: date, end: date) -> Q:
    """The tallies that together count the trials started from `start` to `end`, each once."""
    months, days = spans(start, end)
    wanted = Q(pk__in=[])
    if months:
        wanted |= Q(span=TrialTally.Span.MONTH, first_day__gte=months[0], first_day__lte=months[1])
    for first, last in days:
        wanted |= Q(span=TrialTally.Span.DAY, first_day__gte=first, first_day__lte=last)
    return wanted


def holds(tally: TrialTally, today: date, late_days: int) -> bool:
    """Whether the tally's counts are the ones of `today`."""
    return (
        tally.late_days == late_days
        and tally.as_of <= today
        and (tally.valid_until is None or tally.valid_until > today)
    )


def summed_counts(tallies) -> dict[int, Counter]:
    """{indication id: the sum of these tallies' `counts`}, added up by the database (one row per
    indication and name), which is several times cheaper than decoding every tally in Python."""
    ids, params = tallies.values("id").query.sql_with_params()
    db = connections[tallies.db]  # the replica, when the review reads from one
    table = db.ops.quote_name(TrialTally._meta.db_table)
    if db.vendor == "postgresql":
        each, value = "jsonb_each_text(t.counts)", "CAST(j.value AS INTEGER)"
    else:
        each, value = "json_each(t.counts)", "j.value"
    sql = (
        f"SELECT t.indication_id, j.key, SUM({value}) FROM {table} t, {each} j"  # noqa: S608 - names only
        f" WHERE t.id IN ({ids}) GROUP BY t.indication_id, j.key"
    )
    summed: dict[int, Counter] = {}
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        for indication, key, n in cursor.fetchall():
            if indication not in summed:
                summed[indication] = Counter()
            summed[indication][key] = int(n)
    return summed


def covers(tally: TrialTally) -> tuple[date, date]:
    """The start days a tally counts."""
    if tally.span == TrialTally.Span.DAY:
        return tally.first_day, tally.first_day
    return tally.first_day, month_end(tally.first_day)
