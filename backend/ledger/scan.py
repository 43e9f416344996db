"""Reading the whole ledger fast, in sequence order, for re-verification (R-REC-8).

Verification replays a million entries; through Piccolo ``select()`` every row became a dict
of typed values (UUID objects, datetimes) that were then formatted back into text — most of
the cost. Here the database renders each row's canonical body (``chain.stored_body_text``'s
splice: ids as text, the time as ``chain.format_time`` writes it, free text JSON-escaped, the
details as stored) and returns it as bytes; all hashing stays in Python (``verify``), and any
row rendered differently from the canonical rules simply fails the fast check and is
re-checked from its typed Piccolo row — so this module can make verification slow, never
wrong: a rendering that hashes to the stored value *is* the entry's canonical body.

Keyset pagination (``seq > last``) in large batches on a dedicated connection; on PostgreSQL
inside one read-only REPEATABLE READ transaction, so every batch sees the same snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from backend.core.db import current_engine

# Every row is (seq, body, prev_hash, entry_hash): ``body`` the UTF-8 bytes of the entry's
# canonical body as ``chain.stored_body_text`` splices it — keys in sorted order, ids quoted,
# the time as ``chain.format_time`` writes it, free text JSON-escaped, the details as stored —
# built by the database, so a row costs Python four values and two SHA-256 instead of twelve
# values and a splice. Should a rendering ever differ from the canonical rules (or a column
# be NULL: the body becomes empty), the hash misses and the typed row is judged by the full
# rules. tests/integration/custody/test_verify_fast.py proves the rendering canonical on both
# engines, awkward text included.
Row = Sequence[Any]
Fetch = Callable[[int], Awaitable[list[Row]]]


def _body_sql(*, time: str, quote: str, text: str) -> str:
    """The canonical body as one SQL expression: ``quote`` JSON-escapes a text, ``time`` formats
    the time, ``text`` casts a uuid or integer column to text (templates with ``{}``)."""

    def uuid(column: str) -> str:
        return f"coalesce('\"' || {text.format(column)} || '\"', 'null')"

    parts = [
        "'{\"action_id\":'", uuid("action_id"), "',\"actor_id\":'", uuid("actor_id"),
        "',\"agency_id\":'", uuid("agency_id"), "',\"case_id\":'", uuid("case_id"),
        "',\"details\":'", "details", "',\"event\":'", quote.format("event"),
        "',\"recorded_at\":\"'", time, "'\",\"seq\":'", text.format("seq"),
        "',\"subject_id\":'", quote.format("subject_id"), "',\"subject_type\":'", quote.format("subject_type"), "'}'",
    ]  # fmt: skip
    return "coalesce(" + " || ".join(parts) + ", '')"


_PG_SQL = (
    "SELECT seq, convert_to("  # noqa: S608 - constant text, no input
    + _body_sql(
        time="to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        quote="to_json({})::text",
        text="{}::text",
    )
    + ", 'UTF8'), prev_hash, entry_hash FROM custody_ledger WHERE seq > $1 ORDER BY seq LIMIT $2"
)

# Piccolo stores a UTC timestamptz on SQLite as str(datetime): 'YYYY-MM-DD HH:MM:SS.ffffff+00:00',
# without '.ffffff' when the microseconds are 0. Only these exact shapes are reformatted;
# anything else becomes NULL (an empty body), misses and is judged by the slow path with
# Piccolo's own conversion.
_SQLITE_TIME = (
    "CASE"
    " WHEN length(recorded_at) = 32 AND substr(recorded_at, 11, 1) = ' ' AND substr(recorded_at, 27) = '+00:00'"
    " THEN substr(recorded_at, 1, 10) || 'T' || substr(recorded_at, 12, 15) || 'Z'"
    " WHEN length(recorded_at) = 25 AND substr(recorded_at, 11, 1) = ' ' AND substr(recorded_at, 20) = '+00:00'"
    " THEN substr(recorded_at, 1, 10) || 'T' || substr(recorded_at, 12, 8) || '.000000Z' END"
)
_SQLITE_SQL = (
    "SELECT seq, CAST("  # noqa: S608 - constant text, no input
    + _body_sql(time=_SQLITE_TIME, quote="json_quote({})", text="{}")
    + " AS BLOB), prev_hash, entry_hash FROM custody_ledger WHERE seq > ? ORDER BY seq LIMIT ?"
)


@contextlib.asynccontextmanager
async def ledger_batches(batch: int) -> AsyncIterator[Fetch]:
    """``fetch(after_seq)``: the next ``batch`` rows with ``seq > after_seq``, as text tuples."""
    engine = current_engine()
    if isinstance(engine, PostgresEngine):
        async with _postgres(engine, batch) as fetch:
            yield fetch
    elif isinstance(engine, SQLiteEngine):
        async with _sqlite(engine, batch) as fetch:
            yield fetch
    else:  # pragma: no cover - the app only binds these two
        raise RuntimeError(f"unsupported engine {type(engine).__name__}")


@contextlib.asynccontextmanager
async def _postgres(engine: PostgresEngine, batch: int) -> AsyncIterator[Fetch]:
    connection = await engine.get_new_connection()
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            statement = await connection.prepare(_PG_SQL)

            async def fetch(after: int) -> list[Row]:
                return list(await statement.fetch(after, batch))

            yield fetch
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def _sqlite(engine: SQLiteEngine, batch: int) -> AsyncIterator[Fetch]:
    # A plain connection (no type converters): the rows stay text. Each batch is its own
    # statement — no read transaction spans batches, which would block writers on SQLite.
    path = engine.connection_kwargs["database"]
    connection = await asyncio.to_thread(sqlite3.connect, path, timeout=30, check_same_thread=False)

    def read(after: int) -> list[Row]:
        return connection.execute(_SQLITE_SQL, (after, batch)).fetchall()

    async def fetch(after: int) -> list[Row]:
        return await asyncio.to_thread(read, after)

    try:
        yield fetch
    finally:
        await asyncio.to_thread(connection.close)
