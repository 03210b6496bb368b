"""Working days (工作日) with ``chinese-calendar``: weekends, statutory holidays and the adjusted
working days (调休上班) the State Council announces each year."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

from hub.errors import Unprocessable

#: 整改和问责情况 are reported within 10 working days of a 通报.
RECTIFICATION_WORKING_DAYS = 10


def is_workday(day: date) -> bool:
    """Whether ``day`` is a working day; a clear error for a year the installed calendar lacks."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        raise Unprocessable(f"工作日历尚未包含 {day.year} 年的节假日安排，请升级 chinese-calendar",
                            code="calendar_year_unknown") from None


def add_working_days(start: date, n: int) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself not counted)."""
    day, left = start, n
    while left > 0:
        day += timedelta(days=1)
        if is_workday(day):
            left -= 1
    return day


def rectification_due(received_on: date) -> date:
    """When a rectification opened by a 通报 received on ``received_on`` is due."""
    return add_working_days(received_on, RECTIFICATION_WORKING_DAYS)
