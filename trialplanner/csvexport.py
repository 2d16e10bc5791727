"""CSV downloads that a spreadsheet cannot turn into formulas.

A cell starting with = + - @ (or a tab or carriage return before one) is run as a formula by
Excel, LibreOffice and Google Sheets (OWASP "CSV injection"); such cells are prefixed with a
single quote so they read as text. Every CSV export in the app goes through `csv_response`.
"""

import csv

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """The cell text for `value`, quoted with ' when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_response(filename: str, header, rows) -> HttpResponse:
    """An attachment `filename` with the header row and every row neutralised."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return response
