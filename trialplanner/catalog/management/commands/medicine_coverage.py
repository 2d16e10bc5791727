"""Print how much of a medicine list is reviewed, recognised, or not recognised (reference A.4)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trialplanner.catalog import coverage
from trialplanner.catalog.selectors import rulebook
from trialplanner.engine.medicines import ReviewState


class Command(BaseCommand):
    help = (
        "Read a list of medicines (one per line, as clinicians type them) as the risk form does and print "
        "the share reviewed by the catalog, recognised by the open dictionary, and not recognised."
    )

    def add_arguments(self, parser):
        parser.add_argument("list", type=Path, help="a text file: one medicine per line, '#' for comments")
        parser.add_argument("--show", action="store_true", help="list every line not reviewed")
        parser.add_argument("--min-recognised", type=float, help="fail below this percentage recognised")
        parser.add_argument("--min-reviewed", type=float, help="fail below this percentage reviewed")

    def handle(self, *args, list, show, min_recognised, min_reviewed, **options):
        try:
            lines = coverage.list_lines(list.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {list}: {exc.__class__.__name__}") from None
        if not lines:
            raise CommandError(f"{list} holds no medicine lines")
        found = coverage.measure(lines, rulebook())
        reviewed = found.count(ReviewState.REVIEWED)
        self.stdout.write(f"{found.lines} lines from {list}")
        self.stdout.write(f"  recognised: {found.recognised} ({found.percent(found.recognised):.1f}%)")
        self.stdout.write(f"    reviewed: {reviewed} ({found.percent(reviewed):.1f}%)")
        for state in (ReviewState.RECOGNISED, ReviewState.NOT_RECOGNISED):
            count = found.count(state)
            self.stdout.write(f"  {state.value}: {count} ({found.percent(count):.1f}%)")
            if show:
                for reading in found.by_state[state]:
                    generic = f" -> {', '.join(reading.unreviewed)}" if reading.unreviewed else ""
                    self.stdout.write(f"    {reading.entered}{generic}")
        failed = []
        if min_recognised is not None and found.percent(found.recognised) < min_recognised:
            failed.append(f"recognised below {min_recognised}%")
        if min_reviewed is not None and found.percent(reviewed) < min_reviewed:
            failed.append(f"reviewed below {min_reviewed}%")
        if failed:
            raise CommandError("; ".join(failed))
