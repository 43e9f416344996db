"""Rows as typed Structs: the one way a service reads Piccolo rows.

Every service declares a msgspec Struct for the columns it reads and passes that Struct
between its functions — never a ``dict[str, Any]``. JSON columns are decoded here
(``output(load_json=True)``), and datetimes come back timezone-aware UTC on both engines
(Piccolo on SQLite may hand back naive ones, stored as UTC), so no area keeps a JSON decoder
or a datetime fix of its own. A Struct may name fewer fields than the row has: the rest is
ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from piccolo.query.methods.objects import Objects
from piccolo.query.methods.select import Select
from piccolo.query.methods.update import Update
from piccolo.utils.encoding import load_json

S = TypeVar("S", bound=msgspec.Struct)


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def row_as(kind: type[S], row: Mapping[str, Any]) -> S:
    """One row (as Piccolo returns it on either engine) as ``kind``."""
    return msgspec.convert({key: _utc(value) for key, value in row.items()}, kind)


def rows_as(kind: type[S], rows: Iterable[Mapping[str, Any]]) -> list[S]:
    return [row_as(kind, row) for row in rows]


async def fetch_all(kind: type[S], query: Select[Any]) -> list[S]:
    """Run a select and read every row as ``kind`` (JSON columns decoded)."""
    return rows_as(kind, await query.output(load_json=True))


async def fetch_one(kind: type[S], query: Select[Any]) -> S | None:
    """The first row of a select as ``kind``, or None."""
    rows = await query.limit(1).output(load_json=True)
    return row_as(kind, rows[0]) if rows else None


async def fetch_returned(kind: type[S], query: Update[Any]) -> S | None:
    """The row an ``UPDATE … RETURNING`` wrote, as ``kind`` (None when nothing matched).

    Piccolo decodes JSON columns only for selects; the returned row's JSON columns are decoded
    here the same way, so a caller can change a row and read it back in one query.
    """
    table = query.table
    rows = await query.returning(*table.all_columns())
    if not rows:
        return None
    row = dict(rows[0])
    for column in table._meta.json_columns:
        name = column._meta.name
        if isinstance(row.get(name), str):
            row[name] = load_json(row[name])
    return row_as(kind, row)


def object_as(kind: type[S], obj: Any) -> S:
    """A Piccolo table instance (``Table.objects()``) as ``kind``."""
    return row_as(kind, obj.to_dict())


async def objects_as(kind: type[S], query: Objects[Any]) -> list[S]:
    return [object_as(kind, obj) for obj in await query.output(load_json=True)]


def json_text(value: Any) -> str:
    """A value for a JSON column written through ``raw``/``update`` (compact, keys as given)."""
    return msgspec.json.encode(value).decode()
