"""Geometry of the trajectory chart: dates, doses and scores to SVG coordinates.

Pure Python (no Django, no clock): the caller passes today's date and the series' facts, and
the template draws what this returns. Everything is told apart by shape and dash pattern, not
colour alone, so the chart reads in grayscale and in print.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

WIDTH = 760
LEFT, RIGHT = 76, 24
PLOT_W = WIDTH - LEFT - RIGHT
DOSE_TOP, DOSE_H = 24, 150
ADHERENCE_Y = DOSE_TOP + DOSE_H + 22
SCORE_TOP, SCORE_H = ADHERENCE_Y + 28, 130
MARKER_TOP = SCORE_TOP + SCORE_H + 30
MARKER_ROW = 22
MARKER_R = 6  # half the width of a marker shape
LABEL_GAP = 6  # clear space between a row label's end and a marker on the first day
DOSE_HEADROOM = 16  # a strip above the highest dose where version labels sit, off the dose line
VERSION_LABEL_Y = DOSE_TOP + 10  # baseline of the "v2" labels, inside the headroom


@dataclass(frozen=True)
class DoseSpan:
    start: date
    end: date  # last night, inclusive
    dose_mg: Decimal
    version: int
    taper: bool = False


@dataclass(frozen=True)
class ScorePoint:
    day: date
    score: Decimal
    responded: bool | None = None


@dataclass(frozen=True)
class Marker:
    day: date
    row: str  # "side-effect", "finding", "warning", "stop"
    label: str


@dataclass(frozen=True)
class AdherencePoint:
    day: date
    level: str  # Visit.Adherence value
    label: str


@dataclass(frozen=True)
class ChartInput:
    today: date
    spans: tuple[DoseSpan, ...]
    scores: tuple[ScorePoint, ...] = ()
    adherence: tuple[AdherencePoint, ...] = ()
    markers: tuple[Marker, ...] = ()
    scale_min: Decimal | None = None
    scale_max: Decimal | None = None
    baseline: Decimal | None = None
    response_level: Decimal | None = None  # the score at which the response threshold is met
    measure_name: str = ""
    higher_is_worse: bool = True


@dataclass
class Chart:
    width: int = WIDTH
    height: int = 0
    left: int = LEFT
    right: int = WIDTH - RIGHT
    plot_width: int = PLOT_W
    dose_top: int = DOSE_TOP
    dose_bottom: int = DOSE_TOP + DOSE_H
    score_top: int = SCORE_TOP
    score_bottom: int = SCORE_TOP + SCORE_H
    adherence_y: int = ADHERENCE_Y
    row_label_x: int = LEFT - MARKER_R - LABEL_GAP  # marker row labels end here
    version_label_y: int = VERSION_LABEL_Y
    x_ticks: list = field(default_factory=list)  # (x, label)
    dose_ticks: list = field(default_factory=list)  # (y, label)
    score_ticks: list = field(default_factory=list)
    dose_segments: list = field(default_factory=list)  # dicts: d (path), css, start, end, dose
    version_lines: list = field(default_factory=list)  # (x, label)
    score_path: str = ""
    score_points: list = field(default_factory=list)  # dicts: x, y, day, score, css
    baseline_y: float | None = None
    response_y: float | None = None
    response_band: tuple | None = None  # (y, height) of the region that counts as a response
    adherence: list = field(default_factory=list)  # dicts: x, level, label, day
    markers: list = field(default_factory=list)  # dicts: x, y, row, label, day, points
    marker_rows: list = field(default_factory=list)  # (y, label)
    today_x: float | None = None
    has_scores_panel: bool = True


def _round(value) -> float:
    return round(float(value), 1)


def _nice_step(top: Decimal) -> Decimal:
    for step in (Decimal(1), Decimal(2), Decimal(5), Decimal(10), Decimal(25), Decimal(50), Decimal(100)):
        if top / step <= 6:
            return step
    return Decimal(100)


MARKER_ROWS = [
    ("side-effect", "Side effects"),
    ("finding", "Findings"),
    ("warning", "Warnings"),
    ("stop", "Stops"),
]


def build(data: ChartInput) -> Chart:
    """Lay out the chart for `data`; dates outside the first and last dose are clamped to them."""
    days = [s.start for s in data.spans] + [s.end + timedelta(days=1) for s in data.spans]
    days += [p.day for p in data.scores] + [m.day for m in data.markers] + [data.today]
    first, last = min(days), max(days)
    last = max(last, first + timedelta(days=14))
    span_days = (last - first).days

    def x(day: date) -> float:
        return _round(LEFT + (day - first).days / span_days * PLOT_W)

    chart = Chart()
    chart.today_x = x(data.today)

    # Dates along the bottom: weekly ticks for short series, four-weekly for longer ones.
    step = 7 if span_days <= 120 else 28
    day = first
    while day <= last:
        chart.x_ticks.append((x(day), f"{day.day} {day:%b}"))
        day += timedelta(days=step)

    # Dose panel: a step line, solid up to today, dashed where it is still planned.
    top_dose = max([s.dose_mg for s in data.spans] + [Decimal(10)])
    dose_step = _nice_step(top_dose)
    top_dose = ((top_dose + dose_step - 1) // dose_step) * dose_step

    def y_dose(mg: Decimal) -> float:
        return _round(DOSE_TOP + DOSE_H - mg / top_dose * (DOSE_H - DOSE_HEADROOM))

    tick = Decimal(0)
    while tick <= top_dose:
        chart.dose_ticks.append((y_dose(tick), f"{tick.normalize():f} mg"))
        tick += dose_step
    previous_version = None
    for span in data.spans:
        end = span.end + timedelta(days=1)
        pieces = [(span.start, end, "past")]
        if span.start < data.today < end:
            pieces = [(span.start, data.today, "past"), (data.today, end, "planned")]
        elif span.start >= data.today:
            pieces = [(span.start, end, "planned")]
        for start, stop, when in pieces:
            y = y_dose(span.dose_mg)
            css = f"dose dose-{when}" + (" dose-taper" if span.taper else "")
            chart.dose_segments.append(
                {
                    "d": f"M{x(start)},{y} H{x(stop)}",
                    "css": css,
                    "start": start,
                    "end": stop - timedelta(days=1),
                    "dose": span.dose_mg,
                    "version": span.version,
                }  # fmt: skip
            )
        if previous_version is not None and span.version != previous_version:
            chart.version_lines.append((x(span.start), f"v{span.version}"))
        previous_version = span.version
    # Risers joining consecutive spans, so the line reads as one staircase.
    for before, after in zip(data.spans, data.spans[1:], strict=False):
        joint = x(after.start)
        chart.dose_segments.append(
            {
                "d": f"M{joint},{y_dose(before.dose_mg)} V{y_dose(after.dose_mg)}",
                "css": "dose-riser " + ("dose-past" if after.start <= data.today else "dose-planned"),
                "start": None,
                "end": None,
                "dose": None,
                "version": after.version,
            }  # fmt: skip
        )

    for point in data.adherence:
        chart.adherence.append({"x": x(point.day), "level": point.level, "label": point.label, "day": point.day})

    # Score panel: the scale of the measure, the baseline and the response threshold.
    values = [p.score for p in data.scores] + [v for v in (data.baseline, data.response_level) if v is not None]
    low = data.scale_min if data.scale_min is not None else Decimal(0)
    high = data.scale_max if data.scale_max is not None else max(values + [Decimal(10)])
    chart.has_scores_panel = bool(values) or data.scale_max is not None
    if high <= low:
        high = low + 1

    def y_score(value: Decimal) -> float:
        return _round(SCORE_TOP + SCORE_H - (value - low) / (high - low) * SCORE_H)

    score_step = _nice_step(high - low)
    tick = low
    while tick <= high:
        chart.score_ticks.append((y_score(tick), f"{tick.normalize():f}"))
        tick += score_step
    if data.baseline is not None:
        chart.baseline_y = y_score(data.baseline)
    if data.response_level is not None:
        level = min(max(data.response_level, low), high)
        chart.response_y = y_score(level)
        if data.higher_is_worse:  # the band below the threshold counts as a response
            chart.response_band = (chart.response_y, _round(SCORE_TOP + SCORE_H - chart.response_y))
        else:
            chart.response_band = (SCORE_TOP, _round(chart.response_y - SCORE_TOP))
    coords = []
    for point in data.scores:
        px, py = x(point.day), y_score(min(max(point.score, low), high))
        coords.append(f"{px},{py}")
        css = "score" + {True: " score-response", False: " score-no-response", None: ""}[point.responded]
        chart.score_points.append({"x": px, "y": py, "day": point.day, "score": point.score, "css": css})
    if len(coords) > 1:
        chart.score_path = "M" + " L".join(coords)

    # Marker rows under the scores: one row per kind, each marker a distinct shape.
    rows = {}
    for i, (row, label) in enumerate(MARKER_ROWS):
        y = MARKER_TOP + i * MARKER_ROW
        rows[row] = y
        chart.marker_rows.append((y, label))
    for marker in data.markers:
        mx, my = x(marker.day), rows[marker.row]
        chart.markers.append(
            {
                "x": mx,
                "y": my,
                "row": marker.row,
                "label": marker.label,
                "day": marker.day,
                "points": _shape(marker.row, mx, my),
            }  # fmt: skip
        )
    chart.height = MARKER_TOP + len(MARKER_ROWS) * MARKER_ROW + 28
    return chart


def _shape(row, x, y):
    """Polygon points for a marker: triangle, square, diamond or cross-like bar."""
    r = MARKER_R
    if row == "side-effect":
        return f"{x},{y - r} {x + r},{y + r} {x - r},{y + r}"
    if row == "finding":
        return f"{x - r},{y - r} {x + r},{y - r} {x + r},{y + r} {x - r},{y + r}"
    if row == "warning":
        return f"{x},{y - r} {x + r},{y} {x},{y + r} {x - r},{y}"
    return f"{x - r},{y - 2} {x + r},{y - 2} {x + r},{y + 2} {x - r},{y + 2}"
