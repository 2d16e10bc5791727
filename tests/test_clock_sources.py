"""The app reads the time from Python only, the one clock `make test-clock` (pytest --clock-offset) moves.

The database's clock (PostgreSQL's now(), CURRENT_DATE) and the browser's (`new Date()`) stay on the
real day under that check, so code reading either would pass or fail by the day the suite runs.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_CLOCK = re.compile(
    r"\bNow\(\)|CURRENT_(?:TIMESTAMP|DATE|TIME)\b|(?<![.\w])now\(\)|statement_timestamp|clock_timestamp"
)
BROWSER_CLOCK = re.compile(r"new Date\(\s*\)|Date\.now\(")


def _sources(folder, suffixes):
    for path in sorted((ROOT / folder).rglob("*")):
        if path.suffix in suffixes and "vendor" not in path.parts:
            yield path


def test_it_never_asks_the_database_for_the_time():
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _sources("trialplanner", {".py", ".sql"})
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if DATABASE_CLOCK.search(line)
    ]
    assert found == []


def test_it_never_asks_the_browser_for_the_time():
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in [*_sources("static", {".js"}), *_sources("templates", {".html"})]
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if BROWSER_CLOCK.search(line)
    ]
    assert found == []


def test_it_finds_a_database_or_browser_clock_when_there_is_one():
    assert DATABASE_CLOCK.search("qs.update(seen_at=Now())")
    assert DATABASE_CLOCK.search("SELECT CURRENT_DATE") and DATABASE_CLOCK.search("WHERE due < now()")
    assert BROWSER_CLOCK.search("const today = new Date();")
    assert not DATABASE_CLOCK.search("timezone.now()") and not DATABASE_CLOCK.search("late_days_now()")
