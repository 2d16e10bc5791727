"""Judging response on an outcome measure against the catalog's response threshold."""

from dataclasses import dataclass
from decimal import Decimal


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


def judge_response(measure: MeasureFacts, baseline: Decimal, current: Decimal) -> ResponseJudgement | None:
    """Compare a score with the baseline; None when the measure has no numeric rule or no baseline."""
    if measure.response_rule not in ("percent_fall", "points_fall") or measure.response_threshold is None:
        return None
    if baseline is None or current is None:
        return None
    improvement = (baseline - current) if measure.higher_is_worse else (current - baseline)
    percent = None if baseline == 0 else (improvement / baseline * 100).quantize(Decimal("1"))
    threshold = measure.response_threshold
    if measure.response_rule == "percent_fall":
        responded = percent is not None and percent >= threshold
        rule = f"a fall of at least {threshold.normalize():f}%"
    else:
        responded = improvement >= threshold
        rule = f"a fall of at least {threshold.normalize():f} points"
    shown = f"{improvement.normalize():f} points" + (f" ({percent}%)" if percent is not None else "")
    verdict = "meets" if responded else "does not yet meet"
    text = f"{measure.short_name} improved by {shown} from baseline; this {verdict} the response threshold ({rule})."
    if improvement < 0:
        text = f"{measure.short_name} is worse than at baseline by {(-improvement).normalize():f} points."
    return ResponseJudgement(change=improvement, percent=percent, responded=responded, text=text)
