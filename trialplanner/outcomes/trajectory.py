"""One plan series' trajectory: the doses in force, visits, scores and markers, and the chart.

A series is every version of one plan. The dose line follows the versions that were in force
(activated, not entered in error), each from its start until the next one began.
"""

from dataclasses import dataclass, replace
from datetime import timedelta

from trialplanner import engine
from trialplanner.clinictime import clinic_today
from trialplanner.outcomes import chart as ch
from trialplanner.plans.models import Acknowledgement, Plan, Step, Visit
from trialplanner.plans.selectors import baseline_score
from trialplanner.plans.services import measure_facts

CHART_DAYS_AHEAD = 42  # how far past today the chart draws the planned doses (a layout choice)


@dataclass
class Trajectory:
    plan: Plan
    measure: object
    baseline: object
    status: str  # the response status in words
    threshold_text: str
    judgement_day: object
    chart: ch.Chart
    spans: list
    visits: list
    acknowledgements: list
    today: object


def versions_in_force(plan):
    """The versions of the series that were in force, oldest first, with the day each ended."""
    versions = list(
        Plan.objects.filter(series=plan.series)
        .exclude(status=Plan.Status.ENTERED_IN_ERROR)
        .exclude(activated_at__isnull=True)
        .order_by("version")
        .only("id", "version", "kind", "status", "start_date", "end_date", "stop_reason", "end_reason", "ended_at")
    )
    if not versions:  # a draft not yet activated: show what it plans
        versions = [plan]
    ends = {}
    for current, following in zip(versions, versions[1:] + [None], strict=True):
        ends[current.pk] = (following.start_date - timedelta(days=1)) if following else current.end_date
    return versions, ends


def _spans(versions, ends):
    steps = Step.objects.filter(plan__in=versions).order_by("plan__version", "number")
    by_plan = {v.pk: v for v in versions}
    spans = []
    for step in steps:
        version = by_plan[step.plan_id]
        end = min(step.end_date, ends[version.pk])
        if step.start_date > end:
            continue  # replaced before it began
        spans.append(ch.DoseSpan(step.start_date, end, step.dose_mg, version.version, version.kind == Plan.Kind.TAPER))
    return spans


def trajectory(plan, today=None) -> Trajectory:
    """Everything the trajectory include shows for `plan`'s series, as of `today` (clinic time)."""
    today = today or clinic_today(plan.patient.clinic)
    measure = plan.indication.outcome_measure
    facts = measure_facts(measure)
    baseline = baseline_score(plan)
    versions, ends = versions_in_force(plan)
    judgement_day = versions[0].start_date + timedelta(days=plan.indication.protocol.response_judgement_days)
    # A long last step (a year at the target) would squeeze the history: draw up to a few weeks
    # past today or the judgement point, whichever is later; the tables list every step in full.
    spans = _spans(versions, ends)
    until = max(today + timedelta(days=CHART_DAYS_AHEAD), judgement_day + timedelta(days=14))
    drawn = [replace(s, end=min(s.end, until)) for s in spans if s.start <= until]
    visits = list(
        Visit.objects.filter(plan__series=plan.series)
        .select_related("recorded_by", "followup")
        .order_by("visit_date", "id")
    )
    acks = _distinct_acknowledgements(plan)

    scores, adherence, markers = [], [], []
    for visit in visits:
        visit.judgement = None
        if visit.outcome_score is not None:
            if baseline is not None:
                visit.judgement = engine.judge_response(facts, baseline, visit.outcome_score)
            responded = visit.judgement.responded if visit.judgement else None
            scores.append(ch.ScorePoint(visit.visit_date, visit.outcome_score, responded))
        adherence.append(ch.AdherencePoint(visit.visit_date, visit.adherence, visit.get_adherence_display()))
        effects = visit.side_effect_labels + ([visit.side_effects_other] if visit.side_effects_other else [])
        if effects:
            markers.append(ch.Marker(visit.visit_date, "side-effect", "; ".join(effects)))
        visit.finding_labels = finding_labels(visit)
        if visit.finding_labels:
            markers.append(ch.Marker(visit.visit_date, "finding", "; ".join(visit.finding_labels)))
    clinic = plan.patient.clinic
    for ack in acks:
        markers.append(ch.Marker(clinic_today(clinic, ack.acknowledged_at), "warning", ack.card_summary))
    for version in versions:
        if version.status == Plan.Status.STOPPED:
            reason = version.get_stop_reason_display() or "reason not recorded"
            markers.append(ch.Marker(ends[version.pk] + timedelta(days=1), "stop", f"Stopped: {reason}"))

    chart = (
        ch.build(
            ch.ChartInput(
                today=today,
                spans=tuple(drawn),
                scores=tuple(scores),
                adherence=tuple(adherence),
                markers=tuple(markers),
                scale_min=measure.scale_min,
                scale_max=measure.scale_max,
                baseline=baseline,
                response_level=engine.response_level(facts, baseline),
                measure_name=measure.short_name,
                higher_is_worse=measure.higher_is_worse,
            )
        )
        if drawn
        else None
    )
    return Trajectory(
        plan=plan,
        measure=measure,
        baseline=baseline,
        status=_status(facts, baseline, visits),
        threshold_text=threshold_text(measure),
        judgement_day=judgement_day,
        chart=chart,
        spans=spans,
        visits=list(reversed(visits)),
        acknowledgements=acks,
        today=today,
    )


def finding_labels(visit):
    """Findings recorded at a visit, in words (whatever the visit model records)."""
    labels = []
    if visit.qtc_ms is not None:
        labels.append(f"QTc {visit.qtc_ms} ms")
    for finding in getattr(visit, "finding_list", None) or []:
        labels.append(str(finding))
    return labels


def threshold_text(measure) -> str:
    """The catalog's response definition for a measure, in words."""
    if measure.response_threshold is None:
        return measure.get_response_rule_display()
    amount = f"{measure.response_threshold.normalize():f}"
    if measure.response_rule == measure.ResponseRule.PERCENT_FALL:
        return f"a fall of at least {amount}% from baseline"
    return f"a fall of at least {amount} points from baseline"


def _status(facts, baseline, visits):
    scored = [v for v in visits if v.outcome_score is not None]
    if baseline is None:
        return "No baseline score: response cannot be judged."
    if facts.response_rule not in ("percent_fall", "points_fall"):
        return "This measure is judged by the patient's rating, not by a score threshold."
    if not scored:
        return f"Baseline {facts.short_name} {baseline.normalize():f}; no score recorded since."
    latest = scored[-1]
    return f"{latest.judgement.summary} (visit on {latest.visit_date:%-d %b %Y})."


def _distinct_acknowledgements(plan):
    """Each acknowledged warning once: re-planning copies acknowledgements to the new version."""
    seen, result = set(), []
    acks = (
        Acknowledgement.objects.filter(plan__series=plan.series)
        .select_related("acknowledged_by")
        .order_by("acknowledged_at", "id")
    )
    for ack in acks:
        key = (ack.card_code, ack.reason)
        if key not in seen:
            seen.add(key)
            result.append(ack)
    return result
