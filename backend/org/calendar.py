"""Working days on the PRC statutory calendar: the one function for every deadline.

Every period counted in working days (the answer period of a decision's notice, a
complaint's 30 working days, …) is computed by ``deadline(...)`` here. A working day is
a Monday to Friday that is no public holiday, or a make-up working day (调休上班) on a
weekend, as the State Council's yearly notice sets them:

- years the maintained ``chinesecalendar`` package covers are taken from it;
- later years (the package ends with 2026, deadlines set from December 2026 reach into
  2027) are loaded by the Justice Bureau from that notice (``store_year``; a loaded year
  prevails over the package);
- a year neither knows is counted on weekends only and the deadline is marked
  ``provisional`` — never refused, never silently final. Whoever stores a provisional
  deadline recomputes it when the year is loaded (``backend/oversight/calendar.py``).

The trigger day is not counted; a deadline ends at 23:59:59 Asia/Shanghai on its last day.
Calendar-day periods count every day and are never provisional.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import chinese_calendar
import msgspec
from msgspec import Meta

from backend.core import clock
from backend.core.auth import Principal
from backend.core.errors import InvalidInput
from backend.core.rows import fetch_all
from backend.ledger.service import append_event
from backend.org.tables import StatutoryYear

COUNTY_TZ = ZoneInfo("Asia/Shanghai")
DayKind = Literal["calendar", "working"]
# A State Council notice lists about 30 holidays and a handful of make-up days.
_MAX_DAYS = 80


class YearNotice(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """The State Council's holiday notice for one year (国务院办公厅关于…年部分节假日安排的通知)."""

    year: Annotated[int, Meta(ge=2000, le=2200)]
    notice_ref: Annotated[str, Meta(min_length=1, max_length=200, examples=["国办发明电〔2026〕7号"])]
    holidays: Annotated[list[date], Meta(min_length=1, max_length=_MAX_DAYS)]
    makeup_workdays: Annotated[list[date], Meta(max_length=_MAX_DAYS)] = []


class LoadedYear(msgspec.Struct, frozen=True, kw_only=True):
    year: int
    notice_ref: str
    holidays: list[date]
    makeup_workdays: list[date]
    loaded_by: uuid.UUID | None
    loaded_at: datetime


class Deadline(msgspec.Struct, frozen=True, kw_only=True):
    """When a period ends; ``provisional`` while a year it reaches into is not loaded."""

    due_at: datetime
    last_day: date
    provisional: bool = False
    provisional_years: list[int] = []


class WorkingCalendar:
    """The package's years and the loaded ones, read once for a computation."""

    def __init__(self, loaded: Iterable[LoadedYear] = ()) -> None:
        self._years: set[int] = set()
        self._holidays: set[date] = set()
        self._makeup: set[date] = set()
        for year in loaded:
            self._years.add(year.year)
            self._holidays.update(year.holidays)
            self._makeup.update(year.makeup_workdays)

    def working(self, day: date) -> tuple[bool, bool]:
        """(is a working day, the year is known); an unknown year counts weekends only."""
        if day.year in self._years:
            return day in self._makeup or (day.weekday() < 5 and day not in self._holidays), True
        try:
            return bool(chinese_calendar.is_workday(day)), True
        except NotImplementedError:
            return day.weekday() < 5, False


def package_year(year: int) -> tuple[list[date], list[date]]:
    """The package's holidays and make-up working days of ``year`` (empty beyond its range)."""
    holidays = sorted(day for day in chinese_calendar.holidays if day.year == year)
    makeup = sorted(day for day in chinese_calendar.workdays if day.year == year)
    return holidays, makeup


def package_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def compute(trigger: datetime, days: int, day_kind: DayKind, calendar: WorkingCalendar) -> Deadline:
    """The end of a period of ``days`` starting the day after ``trigger`` (county time)."""
    if days == 0:
        at = trigger.astimezone(UTC)
        return Deadline(due_at=at, last_day=trigger.astimezone(COUNTY_TZ).date())
    current = trigger.astimezone(COUNTY_TZ).date()
    unknown: set[int] = set()
    if day_kind == "calendar":
        current += timedelta(days=days)
    else:
        counted = 0
        while counted < days:
            current += timedelta(days=1)
            working, known = calendar.working(current)
            if not known:
                unknown.add(current.year)
            counted += working
    end = datetime.combine(current, time(23, 59, 59), tzinfo=COUNTY_TZ).astimezone(UTC)
    return Deadline(due_at=end, last_day=current, provisional=bool(unknown), provisional_years=sorted(unknown))


async def loaded_years() -> list[LoadedYear]:
    query = StatutoryYear.select(
        StatutoryYear.year,
        StatutoryYear.notice_ref,
        StatutoryYear.holidays,
        StatutoryYear.makeup_workdays,
        StatutoryYear.loaded_by,
        StatutoryYear.loaded_at,
    ).order_by(StatutoryYear.year)
    return await fetch_all(LoadedYear, query)


async def current() -> WorkingCalendar:
    return WorkingCalendar(await loaded_years())


async def deadline(trigger: datetime, days: int, day_kind: DayKind) -> Deadline:
    """The one function for every deadline (see the module's documentation)."""
    calendar = await current() if day_kind == "working" else WorkingCalendar()
    return compute(trigger, days, day_kind, calendar)


def validate(notice: YearNotice) -> None:
    """A notice names days of its own year, each once, and make-up days only on weekends."""
    for field, days in (("holidays", notice.holidays), ("makeup_workdays", notice.makeup_workdays)):
        seen: set[date] = set()
        for index, day in enumerate(days):
            name = f"{field}[{index}]"
            if day.year != notice.year:
                raise InvalidInput(f"{day.isoformat()} is not in {notice.year}", field=name)
            if day in seen:
                raise InvalidInput(f"{day.isoformat()} is listed twice", field=name)
            seen.add(day)
    both = sorted(set(notice.holidays) & set(notice.makeup_workdays))
    if both:
        raise InvalidInput(f"{both[0].isoformat()} cannot be both a holiday and a make-up working day", field="makeup_workdays")
    for index, day in enumerate(notice.makeup_workdays):
        # A make-up working day moves work onto a weekend; a weekday is a working day anyway.
        if day.weekday() < 5:
            raise InvalidInput(f"{day.isoformat()} is a weekday, not a make-up working day", field=f"makeup_workdays[{index}]")


async def store_year(*, principal: Principal | None, notice: YearNotice) -> LoadedYear:
    """Store (or correct) a year's notice; call inside the caller's write transaction."""
    validate(notice)
    now = clock.now()
    holidays = sorted(notice.holidays)
    makeup = sorted(notice.makeup_workdays)
    loaded_by = principal.user_id if principal else None
    holiday_texts = [d.isoformat() for d in holidays]
    makeup_texts = [d.isoformat() for d in makeup]
    replaced = await StatutoryYear.exists().where(StatutoryYear.year == notice.year)
    if replaced:
        await StatutoryYear.update(
            {
                StatutoryYear.notice_ref: notice.notice_ref,
                StatutoryYear.holidays: holiday_texts,
                StatutoryYear.makeup_workdays: makeup_texts,
                StatutoryYear.loaded_by: loaded_by,
                StatutoryYear.loaded_at: now,
            }
        ).where(StatutoryYear.year == notice.year)
    else:
        row = StatutoryYear(
            id=uuid.uuid4(),
            year=notice.year,
            notice_ref=notice.notice_ref,
            holidays=holiday_texts,
            makeup_workdays=makeup_texts,
            loaded_by=loaded_by,
            loaded_at=now,
        )
        await StatutoryYear.insert(row)
    await append_event(
        event="calendar.year_loaded",
        actor_id=principal.user_id if principal else None,
        agency_id=principal.agency_id if principal else None,
        subject_type="calendar_year",
        subject_id=str(notice.year),
        details={
            "notice_ref": notice.notice_ref,
            "holidays": [d.isoformat() for d in holidays],
            "makeup_workdays": [d.isoformat() for d in makeup],
            "replaced": replaced,
        },
    )
    return LoadedYear(
        year=notice.year,
        notice_ref=notice.notice_ref,
        holidays=holidays,
        makeup_workdays=makeup,
        loaded_by=principal.user_id if principal else None,
        loaded_at=now,
    )
