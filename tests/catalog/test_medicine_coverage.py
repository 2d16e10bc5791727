"""Real medicine lists: the share recognised and reviewed, measured on the tests' own list (reference A.4)."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

LIST = Path(__file__).with_name("common_medicines.txt")

pytestmark = pytest.mark.django_db


def test_the_common_medicines_list_is_at_least_99_percent_recognised_and_90_percent_reviewed(catalog, capsys):
    call_command("load_medicine_dictionary")
    capsys.readouterr()
    call_command("medicine_coverage", str(LIST), "--min-recognised", "99", "--min-reviewed", "90", "--show")
    out = capsys.readouterr().out
    lines = [line for line in LIST.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert len(lines) >= 200 and out.startswith(f"{len(lines)} lines from")
    assert "  recognised: " in out and "    reviewed: " in out and "not recognised: 0 (0.0%)" in out
    assert "warfarin 3mg -> warfarin" in out  # recognised, not reviewed (reference A.4 leaves it out)


def test_it_fails_below_the_threshold_and_refuses_an_empty_list(catalog, tmp_path):
    listed = tmp_path / "list.txt"
    listed.write_text("# a comment\nZorblatrex 5mg\nsertraline 50mg\n")
    with pytest.raises(CommandError, match="recognised below 99"):
        call_command("medicine_coverage", str(listed), "--min-recognised", "99")
    listed.write_text("# nothing\n\n")
    with pytest.raises(CommandError, match="holds no medicine lines"):
        call_command("medicine_coverage", str(listed))
