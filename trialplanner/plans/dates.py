"""How far from the clinic's today each date field may be: all the windows in one place.

These are workflow limits that catch a slip of the keyboard (2062 for 2026, a stop date years
ahead), not clinical numbers. Each form field names its own limit in its message.
"""

from datetime import date, timedelta

PLAN_START_PAST_DAYS = 30  # a plan started a little before it was entered
PLAN_START_AHEAD_DAYS = 180  # planned for a later appointment
VISIT_PAST_DAYS = 30  # a visit recorded late
STOP_AHEAD_DAYS = 90  # a taper arranged ahead of time; never in the past: it starts today or later
BOOK_AHEAD_DAYS = 180  # an appointment booked for a later review; never in the past: today or later

# The JSON plan request (preview_plan, docs/plan-request.md) has no clinic, so no "today":
# any start date in this range, far inside what the engine can represent.
PREVIEW_EARLIEST = date(2000, 1, 1)
PREVIEW_LATEST = date(2100, 12, 31)


def days_from(today: date, days: int) -> date:
    return today + timedelta(days=days)
