"""The server clock is authoritative. Tests move it with ``frozen_clock``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)
_frozen: datetime | None = None


def now() -> datetime:
    """Timezone-aware UTC now (server time)."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC) + _offset


@contextlib.contextmanager
def frozen_clock(at: datetime) -> Iterator[None]:
    global _frozen
    previous = _frozen
    _frozen = at.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous


def as_utc(value: datetime) -> datetime:
    """Piccolo on SQLite may hand back naive datetimes (stored as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
