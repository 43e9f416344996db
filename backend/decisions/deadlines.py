"""Answer-period deadlines of written notices (R-DISC-7) on the one statutory calendar.

The computation is ``backend.org.calendar.deadline`` (working days from the maintained
package or a year the Justice Bureau loaded). A year neither knows makes the deadline
``provisional`` (weekends only) instead of refusing: the notice stores the flag, and
``recompute_provisional`` sets the final deadline when the year is loaded.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from backend.core.rows import fetch_all
from backend.decisions.tables import WrittenNotice
from backend.ledger.service import append_event
from backend.org import calendar
from backend.org.calendar import COUNTY_TZ, DayKind, Deadline

__all__ = ["COUNTY_TZ", "answer_deadline", "period_end", "recompute_provisional"]


def period_end(trigger: datetime, days: int, day_kind: DayKind) -> datetime:
    """A calendar-day period's end (no calendar needed: every day counts)."""
    if day_kind != "calendar":
        raise ValueError("working-day periods need the loaded calendar: use answer_deadline")
    return calendar.compute(trigger, days, "calendar", calendar.WorkingCalendar()).due_at


async def answer_deadline(served_at: datetime, days: int, day_kind: str) -> Deadline:
    return await calendar.deadline(served_at, days, "working" if day_kind == "working" else "calendar")


class _Provisional(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    decision_id: UUID
    case_id: UUID
    agency_id: UUID
    served_at: datetime
    answer_days: int
    answer_day_kind: str
    answer_deadline: datetime


async def recompute_provisional(*, actor_id: UUID | None, years: list[int]) -> int:
    """Recompute every provisional answer deadline now that ``years`` are loaded; ledgered.

    Call inside the loading transaction. Returns how many notices changed.
    """
    query = WrittenNotice.select(
        WrittenNotice.id,
        WrittenNotice.decision.as_alias("decision_id"),
        WrittenNotice.decision.case_id.as_alias("case_id"),
        WrittenNotice.decision.agency.as_alias("agency_id"),
        WrittenNotice.served_at,
        WrittenNotice.answer_days,
        WrittenNotice.answer_day_kind,
        WrittenNotice.answer_deadline,
    ).where((WrittenNotice.answer_deadline_provisional.eq(True)) & (WrittenNotice.served_at.is_not_null()))
    working = await calendar.current()
    changed = 0
    for notice in await fetch_all(_Provisional, query):
        kind: DayKind = "working" if notice.answer_day_kind == "working" else "calendar"
        found = calendar.compute(notice.served_at, notice.answer_days, kind, working)
        await WrittenNotice.update(
            {WrittenNotice.answer_deadline: found.due_at, WrittenNotice.answer_deadline_provisional: found.provisional}
        ).where(WrittenNotice.id == notice.id)
        changed += 1
        await append_event(
            event="decision.answer_deadline_recomputed",
            actor_id=actor_id,
            agency_id=notice.agency_id,
            subject_type="decision",
            subject_id=str(notice.decision_id),
            case_id=notice.case_id,
            details={
                "notice_id": str(notice.id),
                "years": years,
                "was": notice.answer_deadline.isoformat(),
                "answer_deadline": found.due_at.isoformat(),
                "provisional": found.provisional,
            },
        )
    return changed
