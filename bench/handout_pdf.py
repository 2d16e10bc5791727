"""Time the handout PDF render: median and p95 of N renders of one demo plan (in-process).

Usage: DEBUG=true .venv/bin/python bench/handout_pdf.py [N] [--json]   (after `make run` has seeded the demo)
The first render of the process is timed apart (fonts and stylesheets loaded once per process).
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialplanner.settings")

import django  # noqa: E402

django.setup()

from django.template.loader import render_to_string  # noqa: E402
from django.utils import timezone, translation  # noqa: E402

from trialplanner.handouts.content import handout_context  # noqa: E402
from trialplanner.handouts.pdf import render_pdf  # noqa: E402
from trialplanner.plans.models import Plan  # noqa: E402


def render(plan, language, large):
    started = time.perf_counter()
    with translation.override(language):
        ctx = handout_context(plan, language=language, large=large, paper="a4", today=timezone.localdate())
        ctx.update(pdf=True)
        data = render_pdf(render_to_string("handouts/handout.html", ctx))
    return time.perf_counter() - started, data


def p95(times):
    times = sorted(times)
    return times[max(0, int(round(0.95 * len(times))) - 1)]


def main(runs, as_json):
    plan = Plan.objects.filter(status=Plan.Status.ACTIVE).order_by("id").first()
    if plan is None:
        sys.exit("No active plan: run `make run` (or manage.py seed_demo) first.")
    first, _ = render(plan, "en", False)
    every = []
    for language, large in [("en", False), ("es", False), ("en", True)]:
        times = []
        for _ in range(runs):
            seconds, data = render(plan, language, large)
            times.append(seconds)
        every += times
        label = f"{language}{' large' if large else ''}"
        if not as_json:
            print(f"handout PDF {label:<9} renders={runs} median={statistics.median(times) * 1000:.0f} ms "
                  f"p95={p95(times) * 1000:.0f} ms size={len(data) / 1024:.0f} KiB")  # fmt: skip
    result = {"first_ms": round(first * 1000), "median_ms": round(statistics.median(every) * 1000),
              "p95_ms": round(p95(every) * 1000), "renders": len(every)}  # fmt: skip
    print(json.dumps(result) if as_json else f"first render of the process: {result['first_ms']} ms")


if __name__ == "__main__":
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    main(int(numbers[0]) if numbers else 20, "--json" in sys.argv)
