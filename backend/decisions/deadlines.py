"""Answer-period deadlines on the PRC statutory calendar (R-DISC-7, time conventions).

Working days come from the maintained ``chinesecalendar`` package (holidays and make-up
workdays). A year the package does not know is flagged (``calendar-missing``), never
guessed. Calendar-day periods do not roll over holidays. The trigger day is not counted;
a deadline ends at 23:59:59 Asia/Shanghai on its last day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import chinese_calendar

from backend.core.errors import Conflict

COUNTY_TZ = ZoneInfo("Asia/Shanghai")


class CalendarMissing(Conflict):
    slug = "calendar-missing"
    title = "The statutory calendar for this year is not loaded"


def is_working_day(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        raise CalendarMissing(
            f"the statutory working-day calendar for {day.year} is not available; the deadline cannot be computed",
            year=day.year,
        ) from None


def last_day(start: date, days: int, day_kind: Literal["calendar", "working"]) -> date:
    """The last day of a period of ``days`` starting the day after ``start``."""
    if day_kind == "calendar":
        return start + timedelta(days=days)
    current, counted = start, 0
    while counted < days:
        current += timedelta(days=1)
        if is_working_day(current):
            counted += 1
    return current


def period_end(trigger: datetime, days: int, day_kind: Literal["calendar", "working"]) -> datetime:
    """UTC instant at which the period ends (end of its last day, county time)."""
    if days == 0:
        return trigger.astimezone(UTC)
    local_day = trigger.astimezone(COUNTY_TZ).date()
    final = last_day(local_day, days, day_kind)
    end = datetime.combine(final, time(23, 59, 59), tzinfo=COUNTY_TZ)
    return end.astimezone(UTC)
