"""Loading a year's statutory calendar (the Justice Bureau) and what it recomputes.

``backend/org/calendar.py`` keeps the calendar and computes every deadline; this module is
the one way a year gets loaded — the data file (``fieldproof calendar load``) and the admin
endpoint both come here — because loading must also set final every provisional deadline
stored by the domains (answer periods of decisions, complaint due dates, the agreement
deadlines of jurisdiction disputes), in the same
transaction, each recomputation ledgered.
"""

from __future__ import annotations

from backend.core.access import agency_parts, authorize
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.decisions import deadlines as decision_deadlines
from backend.org import calendar
from backend.oversight import complaint_deadlines, jurisdiction, rules, schemas
from backend.oversight.errors import JusticeBureauOnly

# The package's years shown beside the loaded ones (its data starts in 2004).
_FIRST_PACKAGE_YEAR = 2004


def _loaded_out(year: calendar.LoadedYear) -> schemas.CalendarYearOut:
    return schemas.CalendarYearOut(
        year=year.year,
        source="loaded",
        notice_ref=year.notice_ref,
        holidays=year.holidays,
        makeup_workdays=year.makeup_workdays,
        loaded_by_id=year.loaded_by,
        loaded_at=year.loaded_at,
    )


async def load_year(*, principal: Principal | None, notice: calendar.YearNotice) -> schemas.CalendarLoadOut:
    """Store the year and recompute the provisional deadlines it settles.

    ``principal`` None is the server's operator running the CLI with the data file.
    """
    if principal is not None:
        authorize(agency_parts(principal), rules.CALENDAR_LOAD)
        if not principal.is_justice_bureau:
            raise JusticeBureauOnly("the State Council's holiday notice is loaded by the Justice Bureau")
    calendar.validate(notice)
    actor = principal.user_id if principal else None
    async with write_transaction():
        stored = await calendar.store_year(principal=principal, notice=notice)
        notices = await decision_deadlines.recompute_provisional(actor_id=actor, years=[notice.year])
        complaints = await complaint_deadlines.recompute_provisional(actor_id=actor, years=[notice.year])
        disputes = await jurisdiction.recompute_provisional(actor_id=actor, years=[notice.year])
    return schemas.CalendarLoadOut(
        year=_loaded_out(stored), recomputed_notices=notices, recomputed_complaints=complaints, recomputed_disputes=disputes
    )


async def years(*, principal: Principal) -> list[schemas.CalendarYearOut]:
    """The years deadlines are final in: the package's and the loaded ones (a loaded year wins)."""
    authorize(agency_parts(principal), rules.CALENDAR_READ)
    loaded = {y.year: _loaded_out(y) for y in await calendar.loaded_years()}
    out: list[schemas.CalendarYearOut] = []
    year = _FIRST_PACKAGE_YEAR
    while calendar.package_covers(year):
        if year not in loaded:
            holidays, makeup = calendar.package_year(year)
            out.append(
                schemas.CalendarYearOut(
                    year=year, source="package", notice_ref="chinesecalendar", holidays=holidays, makeup_workdays=makeup
                )
            )
        year += 1
    out.extend(loaded.values())
    return sorted(out, key=lambda y: y.year)
