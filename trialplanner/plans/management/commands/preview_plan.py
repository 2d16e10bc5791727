import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from trialplanner.plans.preview import MAX_REQUEST_CHARS, RequestError, preview


class Command(BaseCommand):
    help = "Read a JSON plan request (docs/plan-request.md) and print the plan as JSON. Writes nothing."

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True, help="Request file, or - for standard input.")

    def handle(self, *args, input, **options):
        try:
            # One character more than allowed is enough to say "too large" without reading it all.
            if input == "-":
                text = sys.stdin.read(MAX_REQUEST_CHARS + 1)
            else:
                with open(input, encoding="utf-8") as fh:
                    text = fh.read(MAX_REQUEST_CHARS + 1)
        except OSError as exc:
            raise CommandError(f"input: cannot read {input} ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise CommandError(f"input: {input} is not UTF-8 text") from None
        try:
            result = preview(text)
        except RequestError as exc:
            raise CommandError(str(exc)) from None
        except DatabaseError:
            raise CommandError(
                "database: the catalog is not available; run `manage.py migrate` and `manage.py load_catalog` first"
            ) from None
        except Exception as exc:
            # Whatever else goes wrong, one line naming the failure, never a traceback.
            raise CommandError(f"request: could not be previewed ({type(exc).__name__}); check its values") from None
        for reading in result["read_as"]:
            self.stderr.write(f"note: {reading}")
        for field in result["ignored_fields"]:
            self.stderr.write(f"warning: {field}: not a field of a plan request; ignored (see docs/plan-request.md)")
        self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
