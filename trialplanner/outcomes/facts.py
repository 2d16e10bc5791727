"""What happened to each trial, derived from its plans, steps and visits: the definition that the
stored `TrialOutcome` rows are kept equal to (outcomes.services.refresh_trials)."""

# ruff: noqa: S608 - the SQL below interpolates only table names from model metadata and fixed
# fragments of this module; every value is passed as a query parameter.

from django.db import connection

from trialplanner.catalog.models import Indication, OutcomeMeasure
from trialplanner.patients.models import Patient
from trialplanner.plans.models import FollowUp, Plan, Step, Visit


def _t(model):
    return connection.ops.quote_name(model._meta.db_table)


def trial_facts_sql(count):
    """One row per trial of `count` given series (parameters: the series): what happened to it.

    Columns: series, clinic_id, indication_id, started, target_on, has_baseline, judged,
    responded, response_on, stopped, stop_reason. `target_on` is the first day of a target
    step in force, whether or not that day has come (the review compares it with today).
    Run by outcomes.services.refresh_trials to keep `TrialOutcome` rows, one trial at a time
    or a few hundred at once; it is the definition the stored rows are checked against.
    """
    improvement = "(CASE WHEN higher_is_worse THEN b10 - s10 ELSE s10 - b10 END)"
    marks = ", ".join(["%s"] * count)
    return f"""WITH
    versions AS (
      SELECT p.id, p.series, p.version, p.start_date, p.indication_id, p.status, p.stop_reason, pt.clinic_id
      FROM {_t(Plan)} p JOIN {_t(Patient)} pt ON pt.id = p.patient_id
      WHERE p.series IN ({marks}) AND p.activated_at IS NOT NULL AND p.status <> 'entered_in_error'
    ),
    cohort AS (
      SELECT series, MIN(start_date) AS started, MIN(indication_id) AS indication_id, MIN(clinic_id) AS clinic_id
      FROM versions GROUP BY series
    ),
    bounded AS (
      SELECT v.id, v.series,
             LEAD(v.start_date) OVER (PARTITION BY v.series ORDER BY v.version) AS next_start
      FROM versions v
    ),
    targets AS (
      SELECT b.series, MIN(s.start_date) AS target_on
      FROM bounded b JOIN {_t(Step)} s ON s.plan_id = b.id
      WHERE s.kind = 'target' AND (b.next_start IS NULL OR s.start_date < b.next_start)
      GROUP BY b.series
    ),
    baselines AS (
      SELECT c.series, COALESCE(
        (SELECT p.baseline_score FROM {_t(Plan)} p WHERE p.series = c.series AND p.baseline_score IS NOT NULL
         ORDER BY p.version LIMIT 1),
        (SELECT v.outcome_score FROM {_t(Visit)} v JOIN {_t(FollowUp)} f ON f.id = v.followup_id
           JOIN {_t(Plan)} p ON p.id = v.plan_id
         WHERE p.series = c.series AND f.kind = 'baseline' AND v.outcome_score IS NOT NULL
         ORDER BY v.visit_date, v.id LIMIT 1)) AS baseline
      FROM cohort c
    ),
    scored AS (
      SELECT p.series, v.id, v.visit_date, f.kind AS followup_kind, m.response_rule, m.higher_is_worse,
             ROUND(v.outcome_score * 10) AS s10, ROUND(b.baseline * 10) AS b10, ROUND(m.response_threshold * 10) AS t10
      FROM {_t(Visit)} v JOIN {_t(Plan)} p ON p.id = v.plan_id JOIN {_t(FollowUp)} f ON f.id = v.followup_id
        JOIN baselines b ON b.series = p.series
        JOIN {_t(Indication)} i ON i.id = p.indication_id JOIN {_t(OutcomeMeasure)} m ON m.id = i.outcome_measure_id
      WHERE v.outcome_score IS NOT NULL AND b.baseline IS NOT NULL AND m.response_threshold IS NOT NULL
        AND m.response_rule IN ('percent_fall', 'points_fall')
    ),
    judged AS (
      SELECT series, id, visit_date, followup_kind,
        CASE WHEN response_rule = 'percent_fall'
             THEN CASE WHEN b10 > 0 AND {improvement} * 1000 >= t10 * b10 THEN 1 ELSE 0 END
             ELSE CASE WHEN {improvement} >= t10 THEN 1 ELSE 0 END END AS responded
      FROM scored
    ),
    judgement AS (
      SELECT series, responded FROM (
        SELECT series, responded, ROW_NUMBER() OVER (PARTITION BY series ORDER BY visit_date, id) AS n
        FROM judged WHERE followup_kind = 'response') first_judged
      WHERE n = 1
    ),
    first_response AS (SELECT series, MIN(visit_date) AS response_on FROM judged WHERE responded = 1 GROUP BY series),
    stops AS (SELECT series, MAX(stop_reason) AS stop_reason FROM versions WHERE status = 'stopped' GROUP BY series)
    SELECT c.series, c.clinic_id, c.indication_id, c.started, t.target_on,
           CASE WHEN b.baseline IS NULL THEN 0 ELSE 1 END AS has_baseline,
           CASE WHEN j.series IS NULL THEN 0 ELSE 1 END AS judged,
           COALESCE(j.responded, 0) AS responded, r.response_on,
           CASE WHEN s.series IS NULL THEN 0 ELSE 1 END AS stopped, COALESCE(s.stop_reason, '') AS stop_reason
    FROM cohort c LEFT JOIN targets t ON t.series = c.series LEFT JOIN baselines b ON b.series = c.series
      LEFT JOIN judgement j ON j.series = c.series LEFT JOIN first_response r ON r.series = c.series
      LEFT JOIN stops s ON s.series = c.series"""
