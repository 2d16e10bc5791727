"""Time the clinic outcome review in-process at 1,000 and 100,000 trials with realistic variety.

Usage: DEBUG=true DATABASE_URL=... .venv/bin/python bench/outcomes_review.py [--sizes 1000,100000] [--json]

`bench/run`'s load data starts every trial within 80 days and records no side effects or
warnings, so its tallies are few and small. Here each size gets a clinic of its own whose trials
start evenly over three years, across eight indications, with spread days to target and to
response, side effects, stops and acknowledged warnings with free-text reasons: the tallies are
as full as a busy clinic's. The trial rows are written directly (the review reads only them and
the tallies), the tallies summed from them, and the review timed for a year and for three years,
all indications and one; then again with every tally run out (counted from the trial rows, as
between midnight and the nightly `refresh_trial_outcomes`). The clinics are removed at the end.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialplanner.settings")

import django  # noqa: E402

django.setup()

from trialplanner.catalog.models import Indication, ReasonPreset  # noqa: E402
from trialplanner.clinictime import clinic_today  # noqa: E402
from trialplanner.outcomes import review as rv  # noqa: E402
from trialplanner.outcomes import services as outcomes  # noqa: E402
from trialplanner.outcomes import tally  # noqa: E402
from trialplanner.outcomes.models import TrialOutcome, TrialTally  # noqa: E402
from trialplanner.patients.models import Clinic  # noqa: E402
from trialplanner.plans.models import Plan, Visit  # noqa: E402

SAMPLES = 25


def trial_rows(clinic, count, today, late_days, rng):
    indications = list(Indication.objects.values_list("pk", flat=True)[:8])
    effects = list(Visit.SideEffect.values)
    presets = {}  # the catalog's preset reasons of each warning that has any
    for code, text in ReasonPreset.rules.through.objects.values_list("rule__code", "reasonpreset__text"):
        presets.setdefault(code, []).append(text)
    known = list(ReasonPreset.objects.values_list("key", "text"))
    stops = [c for c, _ in Plan.StopReason.choices]
    for _ in range(count):
        started = today - timedelta(days=rng.randrange(3 * 365))
        target = started + timedelta(days=rng.choice([14, 21, 28, 35, 42, 49, 56, 63]) + rng.randrange(4))
        responded = rng.random() < 0.4
        chosen = sorted(rng.sample(effects, rng.randrange(4)))
        warned = rng.sample(sorted(presets), rng.randrange(3))
        yield TrialOutcome(
            series=uuid.UUID(int=rng.getrandbits(128)), clinic=clinic, indication_id=rng.choice(indications),
            started=started, target_on=target if rng.random() < 0.8 else None, has_baseline=rng.random() < 0.85,
            judged=rng.random() < 0.6, responded=responded,
            response_on=started + timedelta(days=rng.randrange(21, 200)) if responded else None,
            stopped=rng.random() < 0.3, stop_reason=rng.choice(stops), had_visit=rng.random() < 0.9,
            side_effects=f",{','.join(chosen)}," if chosen else "",
            followups_due=rng.randrange(6), followups_on_time=rng.randrange(4), followups_late=rng.randrange(2),
            followups_overdue=rng.randrange(2), followups_missed=rng.randrange(2), followups_as_of=today,
            followups_valid_until=None if rng.random() < 0.7 else today + timedelta(days=1 + rng.randrange(60)),
            followups_late_days=late_days,
            warnings=sorted([code, tally.reason_group(reason(rng, presets[code]), known)] for code in warned),
        )  # fmt: skip


def reason(rng, presets):
    """As recorded: a preset (half), a preset with details (a fifth), or the clinician's own words."""
    roll = rng.random()
    if roll < 0.5:
        return rng.choice(presets)
    if roll < 0.7:
        return f"{rng.choice(presets).rstrip('.')}. Seen by cardiology {rng.randrange(1000)}"
    return f"Patient {rng.randrange(100000)} discussed this and wishes to go ahead"


def build(size, rng):
    clinic = Clinic.objects.create(name=f"Outcome Bench {size}")
    today, late_days = clinic_today(clinic), outcomes.late_days_now()
    rows = list(trial_rows(clinic, size, today, late_days, rng))
    TrialOutcome.objects.bulk_create(rows, batch_size=2000)
    tallies = tally.rebuild(rows, {clinic.pk: today}, late_days)
    TrialTally.objects.bulk_create(tallies, batch_size=2000)
    return clinic, today, len(tallies), statistics.mean(len(json.dumps(t.counts)) for t in tallies)


def timed(clinic, today, days, indication):
    times = []
    for _ in range(SAMPLES):
        began = time.perf_counter()
        result = rv.clinic_review(clinic=clinic, indication=indication, start=today - timedelta(days=days), end=today,
                                  today=today)  # fmt: skip
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), result.started


def main(sizes, as_json):
    rng = random.Random(2026)
    one = Indication.objects.order_by("display_order").first()
    cases = [("year, all", 365, None), ("year, one indication", 365, one), ("3 years, all", 3 * 365, None)]
    found, clinics = {}, []
    try:
        for size in sizes:
            clinic, today, count, mean_json = build(size, rng)
            clinics.append(clinic)
            found[size] = {"tallies": count, "mean_tally_json_bytes": round(mean_json)}
            for label, days, indication in cases:
                took, started = timed(clinic, today, days, indication)
                found[size][label] = {"tallies_ms": took, "trials": started}
            TrialTally.objects.filter(clinic=clinic).update(valid_until=today)  # every tally ran out
            for label, days, indication in cases:
                found[size][label]["ran_out_ms"] = timed(clinic, today, days, indication)[0]
    finally:
        for clinic in clinics:
            TrialOutcome.objects.filter(clinic=clinic).delete()
            clinic.delete()
    small, large = min(sizes), max(sizes)
    ratios = {label: round(found[large][label]["tallies_ms"] / found[small][label]["tallies_ms"], 2)
              for label, _, _ in cases}  # fmt: skip
    if as_json:
        print(json.dumps({"sizes": found, "scale_ratio": ratios}, indent=2))
        return
    for size in sizes:
        print(f"{size:>7,} trials: {found[size]['tallies']} tallies, {found[size]['mean_tally_json_bytes']} bytes each")
        for label, _, _ in cases:
            row = found[size][label]
            print(f"   {label:<22} {row['trials']:>6} trials  tallies {row['tallies_ms']:6.1f} ms"
                  f"  ran out {row['ran_out_ms']:7.1f} ms")  # fmt: skip
    print("scale ratio (tallies, largest / smallest):", ratios)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    main([int(n) for n in options.sizes.split(",")], options.json)
