from datetime import date

START = date(2026, 12, 1)
