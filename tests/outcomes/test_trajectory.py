"""The trajectory on the plan page: the SVG holds the doses in force and the scores (parsed, not
compared as an image), the response status is in words, and the visit history is listed."""

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from tests.plans.conftest import START
from trialplanner.plans import services
from trialplanner.plans.models import Plan

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"
HISTORY = r'<table class="table table-sm align-top visit-history stack-table".*?</table>'


def record(plan, user, decision, day, **fields):
    followup = plan.followups.filter(status="due").first()
    values = {"visit_date": day, "outcome_score": None, "side_effects": [], "side_effects_other": "",
              "adherence": "all", "qtc_ms": None, "decision": decision, "notes": ""}  # fmt: skip
    values.update(fields)
    return services.followup_record_visit(followup=followup, user=user, **values)


def chart(body):
    match = re.search(r'<svg class="trajectory-chart".*?</svg>', body, re.S)
    assert match, "no trajectory chart on the page"
    return ET.fromstring(match.group(0))  # noqa: S314 (our own page)


def doses(svg):
    return [
        (p.get("data-start"), p.get("data-end"), p.get("data-dose-mg"), p.get("data-version"))
        for p in svg.iter(f"{SVG}path")
        if p.get("data-dose-mg") is not None
    ]


@time_machine.travel("2026-12-20 12:00Z", tick=False)
def test_it_holds_the_doses_in_force_and_the_scores_in_the_chart(client, clinician, active):
    active.baseline_score = Decimal(8)
    active.save()
    record(
        active,
        clinician,
        "continue",
        START + timedelta(days=15),
        outcome_score=Decimal(5),
        side_effects=["dry_mouth"],
        adherence="most",
    )
    new = Plan.objects.get(series=active.series, version=2)
    client.force_login(clinician)
    body = client.get(new.get_absolute_url()).content.decode()
    svg = chart(body)
    # Version 1 ran 1-15 Dec (its 30 mg step cut short by the visit); version 2 from 16 Dec.
    # The day the chart is drawn (20 Dec) splits the 30 mg step into taken and planned.
    assert doses(svg)[:5] == [
        ("2026-12-01", "2026-12-07", "10", "1"),
        ("2026-12-08", "2026-12-14", "20", "1"),
        ("2026-12-15", "2026-12-15", "30", "1"),
        ("2026-12-16", "2026-12-19", "30", "2"),
        ("2026-12-20", "2026-12-22", "30", "2"),
    ]
    assert {d[2] for d in doses(svg)[5:]} == {"40", "50"}
    scores = [(c.get("data-date"), c.get("data-score"), c.get("class")) for c in svg.iter(f"{SVG}circle")
              if c.get("data-score")]  # fmt: skip
    assert scores == [("2026-12-16", "5", "score score-response")]
    assert [line.get("data-baseline") for line in svg.iter(f"{SVG}line") if line.get("data-baseline")] == ["8"]
    assert [(m.get("data-date"), m.get("data-kind")) for m in svg.iter(f"{SVG}polygon")] == [
        ("2026-12-16", "side-effect")
    ]
    assert [c.get("data-adherence") for c in svg.iter(f"{SVG}circle") if c.get("data-adherence")] == ["most"]
    assert "Pain NRS down 37% from baseline: response" in body
    assert ' style="' not in re.search(r'<section class="trajectory.*?</section>', body, re.S).group(0)
    history = re.search(HISTORY, body, re.S).group(0)
    assert "16 Dec 2026" in history and "Dry mouth" in history and "alice" in history


@time_machine.travel("2026-12-20 12:00Z", tick=False)
def test_it_says_so_on_the_chart_without_a_baseline(client, clinician, active):
    record(active, clinician, "continue", START + timedelta(days=15), outcome_score=Decimal(5))
    client.force_login(clinician)
    body = client.get(active.get_absolute_url()).content.decode()
    svg = chart(body)
    assert "No baseline score" in "".join(svg.itertext())
    assert "No baseline score: response cannot be judged." in body


@time_machine.travel("2026-12-20 12:00Z", tick=False)
def test_it_shows_the_reason_for_a_stop_and_the_taper(client, clinician, active):
    taper = services.plan_stop(
        plan=active,
        user=clinician,
        lock_version=active.lock_version,
        reason="Drowsy",
        stop_date=date(2026, 12, 10),
        stop_reason=Plan.StopReason.SIDE_EFFECT,
    )
    client.force_login(clinician)
    svg = chart(client.get(taper.get_absolute_url()).content.decode())
    stops = [m.find(f"{SVG}title").text for m in svg.iter(f"{SVG}polygon") if m.get("data-kind") == "stop"]
    assert stops == ["10 Dec 2026: Stopped: Side effects"]
    tapers = [p for p in svg.iter(f"{SVG}path") if "dose-taper" in p.get("class") and p.get("data-dose-mg")]
    assert tapers[0].get("data-start") == "2026-12-10"
    assert Decimal(tapers[0].get("data-dose-mg")) < 20  # below the 20 mg being taken on 10 Dec


def test_it_asks_for_a_baseline_score_when_the_plan_is_created(client, clinician, young_patient, indication,
                                                              with_profile):  # fmt: skip
    with_profile(young_patient)
    url = f"/patients/{young_patient.uuid}/plans/new/?indication={indication.slug}"
    data = {"indication": indication.slug, "start_date": "2026-12-01", "target_mg": "50", "tablet_strength_mg": "10"}
    with time_machine.travel("2026-12-01 12:00Z", tick=False):
        client.force_login(clinician)  # on the day travelled to: the idle logout counts from the log-in
        response = client.post(url, {**data, "baseline_score": "11"})
        assert response.status_code == 200
        assert "Enter a score from 0 to 10." in response.content.decode()
        response = client.post(url, {**data, "baseline_score": "7.5"})
    assert response.status_code == 302
    assert Plan.objects.get(patient=young_patient).baseline_score == Decimal("7.5")


def test_it_styles_the_chart_in_grayscale_only():
    """Meaning is carried by shape and dash pattern: every colour of the chart's stylesheet is a grey."""
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "static" / "css" / "outcomes.css").read_text(encoding="utf-8")
    colours = re.findall(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b", css)
    assert colours
    for colour in colours:
        full = "".join(c * 2 for c in colour) if len(colour) == 3 else colour
        r, g, b = (int(full[i : i + 2], 16) for i in (0, 2, 4))
        assert max(r, g, b) - min(r, g, b) <= 20, colour  # Bootstrap's neutral greys are faintly cool
    assert not re.search(r"\b(rgb|hsl)a?\(|\b(red|green|blue|orange|yellow)\b", css)
    assert "stroke-dasharray" in css  # planned, taper, baseline, threshold and today differ by dashes


@time_machine.travel("2026-12-20 12:00Z", tick=False)
def test_it_holds_what_the_chart_draws_in_the_data_table(client, clinician, active):
    active.baseline_score = Decimal(8)
    active.save()
    record(
        active, clinician, "continue", START + timedelta(days=15), outcome_score=Decimal(5), side_effects=["dry_mouth"]
    )
    new = Plan.objects.get(series=active.series, version=2)
    client.force_login(clinician)
    body = client.get(new.get_absolute_url()).content.decode()
    svg = chart(body)
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "trajectory-title trajectory-desc"
    tables = re.search(r'<details class="trajectory-data.*?</details>', body, re.S).group(0)
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td class=\"text-end\">([^<]+)</td>", tables)
    drawn = {(d[2], d[3]) for d in doses(svg)}  # (dose, version) of every drawn segment
    listed = {(dose.split()[0], version) for _start, _end, dose in rows for version in {"1", "2"}}
    assert {dose for dose, _v in drawn} == {dose for dose, _v in listed}
    assert "Dry mouth" in tables
    history = re.search(HISTORY, body, re.S).group(0)
    assert "16 Dec 2026" in history and ">5<" in history.replace(" ", "")


def test_it_gives_the_row_and_version_labels_room_when_today_is_the_first_day():
    """A warning acknowledged on the first day sits at the left edge; a new version can reach the top dose."""
    from trialplanner.outcomes import chart as ch

    first = date(2026, 12, 1)
    data = ch.ChartInput(
        today=first,
        spans=(
            ch.DoseSpan(first, first + timedelta(days=13), Decimal(10), 1),
            ch.DoseSpan(first + timedelta(days=14), first + timedelta(days=41), Decimal(50), 2),
        ),
        markers=(ch.Marker(first, "warning", "Acknowledged"),),
    )
    drawn = ch.build(data)
    marker = drawn.markers[0]
    left_edge = min(float(point.split(",")[0]) for point in marker["points"].split())
    # The labels end (text-anchor: end) at row_label_x: a clear gap before the diamond's left point.
    assert left_edge - drawn.row_label_x >= ch.LABEL_GAP
    assert drawn.version_lines and drawn.version_lines[0][1] == "v2"
    # The "v2" text (10 units high, on its baseline) stays above the thick dose line (3 units wide).
    highest_dose_line = min(float(s["d"].split(",")[1].split()[0]) for s in drawn.dose_segments if s["dose"])
    assert drawn.version_label_y + 3 <= highest_dose_line - 1.5
