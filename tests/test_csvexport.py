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
