"""Load the open medicine dictionary into the catalog database (recognition of real medicine names)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trialplanner.catalog import dictionary


class Command(BaseCommand):
    help = (
        "Load the pinned open medicine dictionary (names, brands and synonyms of about 20,000 medicines) "
        "into the catalog database; does nothing when the same data is already loaded."
    )

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, help="a dictionary file to load instead of the pinned package's")
        parser.add_argument("--force", action="store_true", help="load again even if unchanged")

    def handle(self, *args, file, force, **options):
        try:
            loaded = dictionary.load(file, force=force)
        except dictionary.DictionaryError as exc:
            raise CommandError(f"medicine dictionary: {exc}; nothing was changed") from None
        if loaded.unchanged:
            self.stdout.write(f"Medicine dictionary: {loaded.names:,} names from {loaded.source}, already loaded.")
            return
        self.stdout.write(
            f"Medicine dictionary: {loaded.names:,} names of {loaded.medicines:,} medicines from {loaded.source} "
            f"({loaded.skipped:,} names skipped: ambiguous or malformed; sha256 {loaded.sha256[:12]})."
        )
