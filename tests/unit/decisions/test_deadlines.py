"""Deadlines on the statutory calendar (backend/org/calendar.py): the package's years, a
loaded year, and a year nobody knows yet (provisional, weekends only)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from backend.core.errors import InvalidInput
from backend.decisions import deadlines
from backend.org import calendar
from backend.org.calendar import LoadedYear, WorkingCalendar, YearNotice

PACKAGE_ONLY = WorkingCalendar()
# A 2027 notice as a test loads it (not the real one): three holidays, one make-up Saturday.
NOTICE_2027 = YearNotice(
    year=2027,
    notice_ref="国办发明电〔2026〕7号",
    holidays=[date(2027, 1, 1), date(2027, 1, 4), date(2027, 1, 5)],
    makeup_workdays=[date(2027, 1, 9)],
)
LOADED_2027 = LoadedYear(
    year=2027,
    notice_ref=NOTICE_2027.notice_ref,
    holidays=NOTICE_2027.holidays,
    makeup_workdays=NOTICE_2027.makeup_workdays,
    loaded_by=None,
    loaded_at=datetime(2026, 12, 1, tzinfo=UTC),
)


def _last(start: date, days: int, cal: WorkingCalendar = PACKAGE_ONLY) -> calendar.Deadline:
    # Noon in Shanghai on ``start``: the period starts the day after.
    trigger = datetime(start.year, start.month, start.day, 4, 0, tzinfo=UTC)
    return calendar.compute(trigger, days, "working", cal)


def test_calendar_days_do_not_skip_holidays_and_end_at_county_midnight() -> None:
    # Served 2026-09-30 10:00 Shanghai; 5 calendar days run into the National Day holiday.
    served = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
    assert deadlines.period_end(served, 5, "calendar") == datetime(2026, 10, 5, 15, 59, 59, tzinfo=UTC)


def test_spring_festival_2026_holidays_are_skipped_and_the_make_up_saturday_counts() -> None:
    # Spring Festival 2026: Saturday 14 Feb is a make-up working day, 15–23 Feb are holidays.
    assert _last(date(2026, 2, 13), 1).last_day == date(2026, 2, 14)
    assert _last(date(2026, 2, 14), 1).last_day == date(2026, 2, 24)
    assert not _last(date(2026, 2, 13), 5).provisional


def test_national_day_2026_holidays_are_skipped_and_its_make_up_days_count() -> None:
    # 1–7 Oct 2026 are holidays; Sunday 20 Sep and Saturday 10 Oct are make-up working days.
    assert _last(date(2026, 9, 30), 1).last_day == date(2026, 10, 8)
    assert _last(date(2026, 10, 9), 1).last_day == date(2026, 10, 10)
    assert _last(date(2026, 9, 19), 1).last_day == date(2026, 9, 20)


@pytest.mark.requirement("R-CMP-2")
def test_thirty_working_days_across_mid_autumn_and_national_day() -> None:
    # Accepted Thursday 24 Sep 2026: 25–27 Sep (Mid-autumn) and 1–7 Oct are holidays, 10 Oct
    # is worked: 28–30 Sep (3), 8–10 Oct (6), 12 Oct–6 Nov (26), 9–12 Nov (30).
    found = _last(date(2026, 9, 24), 30)
    assert found.last_day == date(2026, 11, 12)
    assert found.due_at == datetime(2026, 11, 12, 15, 59, 59, tzinfo=UTC)


def test_a_year_nobody_loaded_counts_weekends_only_and_is_provisional() -> None:
    found = _last(date(2026, 12, 28), 5)
    # 29, 30, 31 Dec; then Fri 1 Jan and Mon 4 Jan 2027 on weekends only.
    assert found.last_day == date(2027, 1, 4)
    assert found.provisional
    assert found.provisional_years == [2027]
    # Calendar days are never provisional.
    served = datetime(2026, 12, 28, 4, 0, tzinfo=UTC)
    assert not calendar.compute(served, 5, "calendar", PACKAGE_ONLY).provisional


def test_a_loaded_year_settles_the_deadline() -> None:
    loaded = WorkingCalendar([LOADED_2027])
    found = _last(date(2026, 12, 28), 5, loaded)
    # 29, 30, 31 Dec; 1 Jan holiday, 2–3 weekend, 4 and 5 Jan holidays, 6 Jan, 7 Jan.
    assert found.last_day == date(2027, 1, 7)
    assert not found.provisional
    # The make-up Saturday 9 Jan 2027 is a working day.
    assert _last(date(2027, 1, 8), 1, loaded).last_day == date(2027, 1, 9)


def test_zero_days_ends_at_the_trigger() -> None:
    served = datetime(2026, 5, 6, 1, 0, tzinfo=UTC)
    assert calendar.compute(served, 0, "working", PACKAGE_ONLY).due_at == served


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"holidays": [date(2026, 12, 31)]}, "holidays[0]"),
        ({"holidays": [date(2027, 1, 1), date(2027, 1, 1)]}, "holidays[1]"),
        ({"makeup_workdays": [date(2027, 1, 1)]}, "makeup_workdays"),
        ({"makeup_workdays": [date(2027, 1, 6)]}, "makeup_workdays[0]"),
    ],
)
def test_a_notice_is_validated_naming_the_field(change: dict[str, list[date]], field: str) -> None:
    import msgspec

    notice = msgspec.structs.replace(NOTICE_2027, **change)
    with pytest.raises(InvalidInput) as caught:
        calendar.validate(notice)
    assert caught.value.field == field
