from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trialplanner.catalog.loader import DEFAULT_PATH, CatalogError, load_catalog


class Command(BaseCommand):
    help = "Load the reference catalog file into the database (idempotent: updates rows, never duplicates)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--file", type=Path, default=DEFAULT_PATH, help="Catalog TOML file (default: the bundled one)."
        )
        parser.add_argument(
            "--check", action="store_true", help="Validate the file against the database; write nothing."
        )

    def handle(self, *args, file, check, **options):
        try:
            report = load_catalog(file, dry_run=check)
        except CatalogError as exc:
            raise CommandError(str(exc)) from None
        verb = "Checked" if check else "Loaded"
        self.stdout.write(self.style.SUCCESS(f"{verb} catalog version {report.version} from {file}"))
        for line in report.lines():
            self.stdout.write(f"  {line}")
