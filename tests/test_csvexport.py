import csv
import io

from trialplanner.csvexport import csv_response, neutralise


def test_it_quotes_cells_a_spreadsheet_would_run_as_formulas():
    for text in ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=x"]:
        assert neutralise(text) == "'" + text
    assert neutralise("Ann Smith") == "Ann Smith"
    assert neutralise(None) == ""
    assert neutralise(12) == "12"


def test_it_writes_an_attachment_with_every_cell_neutralised():
    response = csv_response("events.csv", ["who", "note"], [["=HYPERLINK(1)", "ok"]])
    assert response["Content-Disposition"] == 'attachment; filename="events.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["who", "note"], ["'=HYPERLINK(1)", "ok"]]


def test_it_is_the_only_csv_writer_in_the_app():
    """A new CSV export that bypasses csv_response would let formulas through: it fails here."""
    import re
    from pathlib import Path

    import trialplanner

    root = Path(trialplanner.__file__).parent
    uses_csv = re.compile(r"^\s*(import csv\b|from csv import)|text/csv", re.MULTILINE)
    writers = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "csvexport.py" and uses_csv.search(path.read_text())
    ]
    assert writers == []
