"""Days as the registers read them: a training date from a cell, and where a session stands in latest-wins."""
from datetime import date, datetime

import pytest

from visits.attendance import counted_at
from visits.imports.values import FORMULA_WITHOUT_VALUE, Bad, calendar_day


@pytest.mark.parametrize("cell, day", [
    ("15/06/2024", date(2024, 6, 15)), ("5-6-2024", date(2024, 6, 5)), (" 05.06.2024 ", date(2024, 6, 5)),
    ("2024-06-15", date(2024, 6, 15)), (datetime(2024, 6, 15, 0, 0), date(2024, 6, 15)),
    (date(2024, 6, 15), date(2024, 6, 15)), (None, None), ("  ", None)])
def test_days_written_the_usual_ways(cell, day):
    assert calendar_day(cell) == day


@pytest.mark.parametrize("cell, message", [
    ("31/02/2024", "không có thật"), ("06/15/2024", "không có thật"), (45458, "là một con số"),
    (45458.0, "là một con số"), ("15 tháng 6", "Không đọc được ngày"), (FORMULA_WITHOUT_VALUE, "công thức")])
def test_what_is_not_a_day_is_named(cell, message):
    with pytest.raises(Bad, match=message):
        calendar_day(cell)


def test_a_session_counts_at_the_end_of_its_day_in_vietnam():
    # 23:59:59 in Hà Nội (UTC+7) on 5 October is 16:59:59 UTC that day.
    assert counted_at(date(2026, 10, 5)) == datetime(2026, 10, 5, 16, 59, 59)
    assert counted_at(date(2026, 10, 5)) < datetime(2026, 10, 5, 17, 0)  # 00:00 on the 6th, Vietnam time
