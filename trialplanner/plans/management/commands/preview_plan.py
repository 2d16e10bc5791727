import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from trialplanner.plans.preview import RequestError, preview


class Command(BaseCommand):
    help = "Read a JSON plan request (docs/plan-request.md) and print the plan as JSON. Writes nothing."

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True, help="Request file, or - for standard input.")

    def handle(self, *args, input, **options):
        try:
            if input == "-":
                text = sys.stdin.read()
            else:
                with open(input, encoding="utf-8") as fh:
                    text = fh.read()
        except OSError as exc:
            raise CommandError(f"input: cannot read {input} ({exc.strerror})") from None
        try:
            result = preview(text)
        except RequestError as exc:
            raise CommandError(str(exc)) from None
        except DatabaseError:
            raise CommandError(
                "database: the catalog is not available; run `manage.py migrate` and `manage.py load_catalog` first"
            ) from None
        self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
