"""The one input policy (issue 15, point 3): what any string and date-time from outside may be.

- Text refuses NUL, the other C0 and C1 control characters, DEL and lone surrogates
  (PostgreSQL cannot store NUL; asyncpg cannot encode a surrogate; no field of ours means a
  control character). Multi-line text (JSON body strings) may carry tab, newline and carriage
  return; single-line values (query and path parameters, headers, device ids, file names) may
  not.
- A date-time, once taken to UTC, lies in 1970–2200. ``9999-12-31T23:59:59-14:00`` is parsed
  by msgspec but overflows ``astimezone(UTC)``; ``0001-01-01T00:00:00+14:00`` lies before year 1
  in UTC. Both are refused here, naming the field, before any service sees them.
- JSON is at most ``MAX_DEPTH`` deep.

The HTTP side (``backend.core.http.input``) applies these to every request before its route
runs; services that receive declarations by other ways (tus metadata, a stored upload's row)
call ``check_declaration`` before they store a byte (``evidence/capture.py``,
``evidence/uploads/creation.py``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from backend.core.errors import DateTimeOutOfRange, InvalidText, JSONTooDeep

MAX_DEPTH = 32
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

# C0 controls but tab/newline/carriage return, DEL, C1 controls, lone surrogates.
_BAD_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The RFC 3339 shapes msgspec and Litestar accept for a datetime (date, T or space, time, offset).
_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$"
)


def check_text(value: str, *, field: str, multiline: bool = False) -> None:
    """Raise InvalidText (422, naming ``field``) for a character no field of ours may hold."""
    found = (_BAD_IN_TEXT if multiline else _BAD_IN_LINE).search(value)
    if found is not None:
        code = ord(found.group())
        raise InvalidText(
            f"{field} contains U+{code:04X} at position {found.start()}; control characters, NUL and lone surrogates "
            "are not allowed" + ("" if not multiline else " (tab and newline are)"),
            field=field,
        )


def check_instant(moment: datetime, *, field: str) -> None:
    """A date-time must lie in 1970–2200 in UTC (a naive one is read as UTC)."""
    try:
        utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise DateTimeOutOfRange(
            f"{field} {moment.isoformat()} lies outside {EARLIEST.isoformat()} … {LATEST.date().isoformat()} (UTC)",
            field=field,
        )


def check_datetime_text(value: str, *, field: str) -> None:
    """A string shaped like a date-time is held to ``check_instant``; any other string passes
    (the route's own validation says whether it had to be a date-time)."""
    match = _DATETIME.match(value.strip())
    if match is None:
        return
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    try:
        local = datetime(year, month, day, hour, minute, int(match.group(6) or 0))
    except ValueError:
        return  # not a real calendar date: the decoder refuses it with its own message
    offset = timedelta(0)
    if match.group(8):
        offset = timedelta(hours=int(match.group(9)), minutes=int(match.group(10)))
        offset = offset if match.group(8) == "+" else -offset
    try:
        utc = (local - offset).replace(tzinfo=UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise DateTimeOutOfRange(
            f"{field} {value.strip()[:40]} lies outside {EARLIEST.isoformat()} … {LATEST.date().isoformat()} (UTC)",
            field=field,
        )


def check_line(value: str, *, field: str) -> None:
    """A single-line value from a query, a path or a header: text and date-time rules."""
    check_text(value, field=field)
    check_datetime_text(value, field=field)


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_tree(value: Any, *, root: str = "") -> None:
    """Every string (keys included) and date-time in decoded JSON; depth at most MAX_DEPTH.

    Iterative on purpose: a deep document must not cost a deep Python stack.
    """
    stack: list[tuple[Any, str, int]] = [(value, root, 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise JSONTooDeep(f"JSON is nested deeper than {MAX_DEPTH} levels", field=path or None)
        if isinstance(item, str):
            check_text(item, field=path or "body", multiline=True)
            check_datetime_text(item, field=path or "body")
        elif isinstance(item, datetime):
            check_instant(item, field=path or "body")
        elif isinstance(item, dict):
            for key, child in item.items():
                name = _child(path, str(key))
                check_text(str(key), field=name)
                stack.append((child, name, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((child, _child(path, index), depth + 1) for index, child in enumerate(item))


def check_declaration(declaration: msgspec.Struct) -> None:
    """A Struct from a phone (capture metadata): its strings are single-line values and its
    date-times lie in range. Called before any byte of the capture is stored."""
    for name in declaration.__struct_fields__:
        value = getattr(declaration, name)
        if isinstance(value, str):
            check_text(value, field=name)
        elif isinstance(value, datetime):
            check_instant(value, field=name)


__all__ = ["MAX_DEPTH", "check_datetime_text", "check_declaration", "check_instant", "check_line", "check_text", "check_tree"]
