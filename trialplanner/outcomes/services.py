"""Keep the per-trial outcome rows (`TrialOutcome`) in step with the plans, steps and visits.

`refresh_trials(series)` rewrites the rows of the given trials from the records themselves
(`facts.trial_facts_sql`, the definition of each figure, and the visits' side effects). The
plan services call it explicitly, next to their audit call, whenever what happened to a trial
may have changed: activation, stopping, marking a version entered in error, recording a visit.
It is never called from `save()`. `refresh_all()` rebuilds every row (the data migration, bulk
loads, and repair).
"""

from datetime import date

from django.db import connection, transaction

from trialplanner.outcomes.facts import trial_facts_sql
from trialplanner.outcomes.models import TrialOutcome
from trialplanner.plans.models import Plan, Visit

BATCH = 500  # trials per statement when rebuilding


def _prep(series):
    field = Plan._meta.get_field("series")
    return [field.get_db_prep_value(s, connection, prepared=False) for s in series]


def refresh_trials(series) -> int:
    """Rewrite the outcome rows of these trials (plan series); returns how many rows now exist."""
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
    field, rows = Plan._meta.get_field("series"), []
    for sid, clinic, indication, started, target_on, baseline, judged, responded, response_on, stopped, reason in facts:
        sid = field.to_python(sid)
        keys = sorted(effects.get(sid, ()))
        rows.append(TrialOutcome(
            series=sid, clinic_id=clinic, indication_id=indication, started=_date(started), target_on=_date(target_on),
            has_baseline=bool(baseline), judged=bool(judged), responded=bool(responded),
            response_on=_date(response_on), stopped=bool(stopped), stop_reason=reason or "",
            had_visit=sid in seen, side_effects=f",{','.join(keys)}," if keys else "",
        ))  # fmt: skip
    TrialOutcome.objects.filter(series__in=series).delete()
    TrialOutcome.objects.bulk_create(rows)
    return len(rows)


def _date(value):
    """SQLite returns the dates of a raw query as text."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


@transaction.atomic
def refresh_all(batch=BATCH) -> int:
    """Rebuild every trial's row, `batch` trials at a time; returns the number of rows."""
    every = list(Plan.objects.filter(activated_at__isnull=False).values_list("series", flat=True).distinct())
    TrialOutcome.objects.all().delete()  # a trial whose every version was entered in error has none
    done = 0
    for first in range(0, len(every), batch):
        done += refresh_trials(every[first : first + batch])
    return done
