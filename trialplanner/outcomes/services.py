"""Keep the per-trial outcome rows (`TrialOutcome`) in step with the plans, steps and visits.

`refresh_trials(series)` rewrites the rows of the given trials from the records themselves
(`facts.trial_facts_sql`, the definition of each figure, and the visits' side effects). The
plan services call it explicitly, next to their audit call, whenever what happened to a trial
may have changed: activation, stopping, marking a version entered in error, recording a visit,
marking a follow-up missed. It is never called from `save()`. `refresh_expired()` rewrites the
rows whose follow-up counts ran out with the passing days (nightly); `refresh_all()` rebuilds
every row (the data migration, bulk loads, and repair).
"""

from datetime import date, timedelta

from django.db import connection, transaction
from django.db.models import Q

from trialplanner.catalog import selectors as catalog
from trialplanner.catalog.models import ReasonPreset
from trialplanner.clinictime import clinic_today
from trialplanner.outcomes import tally
from trialplanner.outcomes.facts import trial_facts_sql
from trialplanner.outcomes.models import TrialOutcome, TrialTally
from trialplanner.patients.models import Clinic
from trialplanner.plans.models import Acknowledgement, FollowUp, Plan, Visit

BATCH = 500  # trials per statement when rebuilding


def _prep(series):
    field = Plan._meta.get_field("series")
    return [field.get_db_prep_value(s, connection, prepared=False) for s in series]


def refresh_trials(series, late_days=None) -> int:
    """Rewrite the outcome rows of these trials (plan series); returns how many rows now exist.

    `late_days`: the catalog's `followup_late_days`, when the caller has read it (batches)."""
    series = sorted(set(series), key=str)
    if not series:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(trial_facts_sql(len(series)), _prep(series))
        facts = cursor.fetchall()
    effects, seen = {}, set()
    for key, chosen in Visit.objects.filter(plan__series__in=series).values_list("plan__series", "side_effects"):
        seen.add(key)
        effects.setdefault(key, set()).update(chosen or ())
    late_days = late_days_now() if late_days is None else late_days
    old = list(TrialOutcome.objects.filter(series__in=series))
    clinics = {row[1] for row in facts} | {row.clinic_id for row in old}
    todays = {c.pk: clinic_today(c) for c in Clinic.objects.filter(pk__in=clinics)}
    followups = followups_of(series)
    acknowledged = list(
        Acknowledgement.objects.filter(plan__series__in=series)
        .values_list("plan__series", "card_code", "reason")
        .distinct()
    )
    presets = list(ReasonPreset.objects.values_list("key", "text")) if acknowledged else []
    warnings = {}
    for key, code, reason in acknowledged:
        warnings.setdefault(key, set()).add((code, tally.reason_group(reason, presets)))
    field, rows = Plan._meta.get_field("series"), []
    for sid, clinic, indication, started, target_on, baseline, judged, responded, response_on, stopped, reason in facts:
        sid = field.to_python(sid)
        keys = sorted(effects.get(sid, ()))
        rows.append(
            TrialOutcome(
                series=sid,
                clinic_id=clinic,
                indication_id=indication,
                started=_date(started),
                target_on=_date(target_on),
                has_baseline=bool(baseline),
                judged=bool(judged),
                responded=bool(responded),
                response_on=_date(response_on),
                stopped=bool(stopped),
                stop_reason=reason or "",
                had_visit=sid in seen,
                side_effects=f",{','.join(keys)}," if keys else "",
                **followup_counts(followups.get(sid, ()), todays[clinic], late_days),
                warnings=sorted(list(w) for w in warnings.get(sid, ())),
            )
        )
    TrialOutcome.objects.filter(series__in=series).delete()
    TrialOutcome.objects.bulk_create(rows)
    tally.apply(old, rows, todays, late_days)
    return len(rows)


def followups_of(series, db="default") -> dict:
    """{series: [(due date, status, visit date or None)]}: the follow-ups the review counts, of these trials."""
    found = {}
    for key, due, status, seen_on in (
        FollowUp.objects.using(db).filter(plan__series__in=series).exclude(status=FollowUp.Status.CANCELLED)
        .exclude(plan__status=Plan.Status.ENTERED_IN_ERROR).values_list("plan__series", "due_date", "status",
                                                                         "visit__visit_date")
    ):  # fmt: skip
        found.setdefault(key, []).append((due, status, seen_on))
    return found


def late_days_now() -> int:
    """The catalog's `followup_late_days`, from the rule book a write has usually read already."""
    return int(catalog.rulebook().parameters["followup_late_days"])


def followup_counts(followups, today, late_days) -> dict:
    """The review's follow-up counts for one trial on `today`, and the first later day they change.

    `followups`: (due date, status, visit date or None) of the trial's follow-ups, cancelled
    ones and those of versions entered in error left out (as outcomes.review counts them live).
    """
    counts = dict.fromkeys(["due", "on_time", "late", "overdue", "missed"], 0)
    changes = []
    for due, status, seen in followups:
        if due > today:
            changes.append(due)  # falls due that day
        else:
            counts["due"] += 1
            if status == FollowUp.Status.DONE and seen is not None:
                counts["on_time" if (seen - due).days <= late_days else "late"] += 1
            elif status == FollowUp.Status.MISSED:
                counts["missed"] += 1
        if status in (FollowUp.Status.DUE, FollowUp.Status.SNOOZED):
            late_on = due + timedelta(days=late_days + 1)  # the first day it counts as overdue
            if (today - due).days > late_days:
                counts["overdue"] += 1
            else:
                changes.append(late_on)
    return {
        **{f"followups_{key}": n for key, n in counts.items()},
        "followups_as_of": today, "followups_valid_until": min(changes, default=None),
        "followups_late_days": late_days,
    }  # fmt: skip


def _date(value):
    """SQLite returns the dates of a raw query as text."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def refresh_expired(clinics=None) -> int:
    """Rewrite the rows whose follow-up counts ran out, then the tallies that ran out (run nightly by the
    scheduler for each clinic, or `manage.py refresh_trial_outcomes` for all), one clinic per transaction."""
    if not TrialOutcome.objects.exists():
        return 0
    late_days, done = late_days_now(), 0
    for clinic in Clinic.objects.order_by("pk") if clinics is None else clinics:
        with transaction.atomic():
            today = clinic_today(clinic)
            # Every tally of the clinic is locked first, in the writers' order: a visit being
            # recorded finishes first or waits for this clinic's rebuild, never both ways at once.
            list(TrialTally.objects.filter(clinic=clinic).order_by(*LOCK_FIELDS).select_for_update())
            expired = TrialOutcome.objects.filter(clinic=clinic).filter(
                Q(followups_valid_until__lte=today) | Q(followups_as_of__gt=today) | ~Q(followups_late_days=late_days)
            )
            every = list(expired.values_list("series", flat=True))
            for first in range(0, len(every), BATCH):
                done += refresh_trials(every[first : first + BATCH], late_days)
            rebuild_tallies(clinic, today, late_days)
    return done


LOCK_FIELDS = ("clinic_id", "span", "first_day", "indication_id")  # as tally.lock_order


def rebuild_tallies(clinic, today, late_days, everything=False) -> int:
    """Sum again, from the trial rows, the clinic's tallies that ran out (or all of them); returns how many.

    The tallies are locked first (in the writers' order), so a write under way either lands
    before the sums are read or moves its trial from the rebuilt sums after."""
    query = TrialTally.objects.filter(clinic=clinic).order_by(*LOCK_FIELDS).select_for_update()
    stale = [t for t in query if everything or not tally.holds(t, today, late_days)]
    if not stale:
        return 0
    keys = {(t.clinic_id, t.indication_id, t.span, t.first_day): t for t in stale}
    ranges = [Q(indication_id=t.indication_id, started__range=tally.covers(t)) for t in stale]
    sums = {}
    for chunk in tally.any_of(ranges):  # each month's or day's rows come whole with its own range
        rows = TrialOutcome.objects.filter(clinic=clinic).filter(chunk)
        for t in tally.rebuild(rows, {clinic.pk: today}, late_days):
            key = (t.clinic_id, t.indication_id, t.span, t.first_day)
            if key in keys and key not in sums:
                sums[key] = t
    for key, kept in keys.items():
        summed = sums.get(key)
        kept.counts = summed.counts if summed else {}
        kept.target_days, kept.response_days = (summed.target_days, summed.response_days) if summed else ([], [])
        kept.as_of, kept.late_days = today, late_days
        kept.valid_until = summed.valid_until if summed else None
    TrialTally.objects.bulk_update(stale, tally.STORED, batch_size=BATCH)
    return len(stale)


@transaction.atomic
def refresh_all(batch=BATCH) -> int:
    """Rebuild every trial's row, `batch` trials at a time; returns the number of rows."""
    every = list(Plan.objects.filter(activated_at__isnull=False).values_list("series", flat=True).distinct())
    TrialOutcome.objects.all().delete()  # a trial whose every version was entered in error has none
    TrialTally.objects.all().delete()  # summed again from the rows as they are written
    if not every:  # nothing to count (a new database: the catalog may not be loaded yet)
        return 0
    done, late_days = 0, late_days_now()
    for first in range(0, len(every), batch):
        done += refresh_trials(every[first : first + batch], late_days)
    return done
