"""Judging response on an outcome measure against the catalog's response threshold."""

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal


@dataclass(frozen=True)
class MeasureFacts:
    slug: str
    short_name: str
    response_rule: str  # "percent_fall", "points_fall" or "category"
    response_threshold: Decimal | None
    higher_is_worse: bool = True
    scale_min: Decimal | None = None
    scale_max: Decimal | None = None


@dataclass(frozen=True)
class ResponseJudgement:
    change: Decimal  # improvement in points (positive is better)
    percent: Decimal | None  # improvement as a percentage of baseline
    responded: bool
    text: str
    summary: str = ""  # one line for the chart, e.g. "IBS-SSS down 42% from baseline: response"


def judge_response(measure: MeasureFacts, baseline: Decimal, current: Decimal) -> ResponseJudgement | None:
    """Compare a score with the baseline; None when the measure has no numeric rule or no baseline."""
    if measure.response_rule not in ("percent_fall", "points_fall") or measure.response_threshold is None:
        return None
    if baseline is None or current is None:
        return None
    improvement = (baseline - current) if measure.higher_is_worse else (current - baseline)
    # Shown rounded toward zero, so a 29.6% fall never reads as meeting a 30% threshold; the
    # comparison itself is exact (the clinic review computes the same test in SQL).
    percent = None if baseline == 0 else (improvement / baseline * 100).quantize(Decimal("1"), ROUND_DOWN)
    threshold = measure.response_threshold
    if measure.response_rule == "percent_fall":
        responded = baseline > 0 and improvement * 100 >= threshold * baseline
        rule = f"a fall of at least {threshold.normalize():f}%"
    else:
        responded = improvement >= threshold
        rule = f"a fall of at least {threshold.normalize():f} points"
    shown = f"{improvement.normalize():f} points" + (f" ({percent}%)" if percent is not None else "")
    verdict = "meets" if responded else "does not yet meet"
    text = f"{measure.short_name} improved by {shown} from baseline; this {verdict} the response threshold ({rule})."
    if improvement < 0:
        text = f"{measure.short_name} is worse than at baseline by {(-improvement).normalize():f} points."
    return ResponseJudgement(
        change=improvement,
        percent=percent,
        responded=responded,
        text=text,
        summary=_summary(measure, improvement, percent, responded, rule),
    )


def _summary(measure: MeasureFacts, improvement: Decimal, percent: Decimal | None, responded: bool, rule: str) -> str:
    better = "down" if measure.higher_is_worse else "up"
    worse = "up" if measure.higher_is_worse else "down"
    size = abs(improvement).normalize()
    if measure.response_rule == "percent_fall" and percent is not None:
        moved = f"{abs(percent)}%"
    else:
        moved = f"{size:f} points" + (f" ({abs(percent)}%)" if percent is not None else "")
    if improvement < 0:
        return f"{measure.short_name} {worse} {moved} from baseline: worse"
    if improvement == 0:
        return f"{measure.short_name} unchanged from baseline: no response yet ({rule} needed)"
    verdict = "response" if responded else f"not yet a response ({rule} needed)"
    return f"{measure.short_name} {better} {moved} from baseline: {verdict}"


def response_level(measure: MeasureFacts, baseline: Decimal | None) -> Decimal | None:
    """The score at which the response threshold is met from `baseline` (None without a numeric rule)."""
    if measure.response_rule not in ("percent_fall", "points_fall") or measure.response_threshold is None:
        return None
    if baseline is None:
        return None
    if measure.response_rule == "percent_fall":
        delta = baseline * measure.response_threshold / 100
    else:
        delta = measure.response_threshold
    return baseline - delta if measure.higher_is_worse else baseline + delta
