"""Answer-period deadlines on the statutory calendar (R-DISC-7, time conventions)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from backend.decisions import deadlines


def test_calendar_days_do_not_skip_holidays_and_end_at_county_midnight() -> None:
    # Served 2026-09-30 10:00 Shanghai; 5 calendar days run into the National Day holiday.
    served = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
    end = deadlines.period_end(served, 5, "calendar")
    assert end == datetime(2026, 10, 5, 15, 59, 59, tzinfo=UTC)


def test_working_days_skip_holidays_and_count_make_up_workdays() -> None:
    # Spring Festival 2026: 14 Feb (Saturday) is a make-up workday, 15–23 Feb are holidays.
    assert deadlines.last_day(date(2026, 2, 13), 1, "working") == date(2026, 2, 14)
    assert deadlines.last_day(date(2026, 2, 14), 1, "working") == date(2026, 2, 24)


def test_trigger_day_in_the_evening_counts_in_county_time() -> None:
    # 23:30 UTC on 1 March is already 2 March in Shanghai: the period starts the day after that.
    served = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert deadlines.period_end(served, 3, "calendar") == datetime(2026, 3, 5, 15, 59, 59, tzinfo=UTC)


def test_a_year_the_calendar_does_not_know_is_flagged_not_guessed() -> None:
    with pytest.raises(deadlines.CalendarMissing) as caught:
        deadlines.last_day(date(2026, 12, 28), 5, "working")
    assert caught.value.extra["year"] == 2027
    # Calendar days need no statutory calendar.
    assert deadlines.last_day(date(2026, 12, 28), 5, "calendar") == date(2027, 1, 2)


def test_zero_days_ends_at_service() -> None:
    served = datetime(2026, 5, 6, 1, 0, tzinfo=UTC)
    assert deadlines.period_end(served, 0, "working") == served
