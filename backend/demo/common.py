"""What every part of the demo shares: stable ids, the demo's clock and the people's principals.

The demo is idempotent: every object it makes has an id derived from its name, so a rerun
finds it and skips it. Its times are local working hours in Asia/Shanghai (新绛县 keeps China
Standard Time); what the scenarios need to have happened before today is written with the
server clock moved back (``clock.frozen_clock``), in order, so the custody ledger stays in time
order.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backend.core import clock
from backend.core.auth import Principal
from backend.org import service as org_service
from backend.org.tables import User

DEMO_PASSWORD = "fieldproof-demo"  # noqa: S105 - printed and documented as demo-only

NAMESPACE = uuid.UUID("6f1c2a3e-2022-4b28-9d28-000000000028")  # stable ids: reruns find their records


def _shanghai() -> tzinfo:
    try:
        return ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:  # a slim image without tzdata: China has kept +08:00 since 1991
        return timezone(timedelta(hours=8), "Asia/Shanghai")


SHANGHAI = _shanghai()


def demo_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, name)


_day: list[date] = []  # the demo's today, fixed when loading starts (``begin``)


def begin() -> None:
    """Fix the demo's today before any of its past is written with the clock moved back."""
    _day[:] = [clock.now().astimezone(SHANGHAI).date()]


def today() -> date:
    """The local date in 新绛县 when the demo started loading (never the moved-back clock's)."""
    if not _day:
        begin()
    return _day[0]


def local(days: int, hour: int, minute: int = 0) -> datetime:
    """``days`` from today at ``hour:minute`` Asia/Shanghai (negative days: in the past)."""
    return datetime.combine(today() + timedelta(days=days), time(hour, minute), tzinfo=SHANGHAI)


@contextlib.contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Write what happened at ``moment`` (never later than now: the ledger only moves forward)."""
    with clock.frozen_clock(min(moment, clock.now())):
        yield


async def principal(username: str) -> Principal:
    row = await User.select(User.id).where(User.username == username).first()
    if row is None:
        raise LookupError(f"demo user {username!r} is missing")
    return await org_service.principal_for(row["id"])


async def user_id(username: str) -> uuid.UUID:
    return (await principal(username)).user_id
