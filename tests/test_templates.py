"""Template hygiene: Django's {# #} comments end on their line; a longer one would be shown as text."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_it_closes_every_short_comment_on_its_line():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "templates").rglob("*.*")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if line.count("{#") > line.count("#}")
    ]
    assert offenders == [], "use {% comment %} for comments over several lines"
