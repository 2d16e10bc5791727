from datetime import UTC, date, datetime
from types import SimpleNamespace

import time_machine

from trialplanner.clinictime import clinic_now, clinic_today

WEST = SimpleNamespace(time_zone="America/Los_Angeles")
EAST = SimpleNamespace(time_zone="Asia/Tokyo")


def test_it_reads_the_date_on_the_clinics_own_clock():
    evening_in_the_west = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)  # 23:30 on 1 March in Los Angeles
    assert clinic_today(WEST, evening_in_the_west) == date(2026, 3, 1)
    assert clinic_today(EAST, evening_in_the_west) == date(2026, 3, 2)


@time_machine.travel(datetime(2026, 6, 30, 15, 30, tzinfo=UTC), tick=False)
def test_it_uses_the_current_time_when_none_is_given():
    assert clinic_today(EAST) == date(2026, 7, 1)  # 00:30 the next day in Tokyo
    assert clinic_now(EAST).utcoffset().total_seconds() == 9 * 3600
