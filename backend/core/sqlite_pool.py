"""SQLite with kept connections while the app runs, in write-ahead-log mode.

Piccolo's SQLite engine opens a new connection (a new aiosqlite thread, the file opened,
``PRAGMA foreign_keys``) for every query outside a transaction: ≈ 2 ms each on a loaded
2-CPU machine, more than the query. A tus PATCH makes three queries (principal, lock,
commit), a check-in more, so this was most of their fixed cost (issue 16: py-spy and
timings in README "Performance"). While the app's lifespan runs, ``start_pool`` keeps up to
``max_size`` idle connections and reuses them; outside it (CLI commands, migrations, other
event loops) every query gets its own connection as before, so nothing keeps a thread alive
at exit.

WAL: a commit appends to the log and syncs it once (``synchronous`` stays FULL: a committed
transaction survives a power loss, as before); readers do not block the writer. Set once on
the file (it persists), when the engine is made.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table


def use_wal(path: str, *, timeout: float) -> None:
    """Switch the database file to write-ahead logging (a no-op when it already is)."""
    connection = sqlite3.connect(path, timeout=timeout)
    try:
        with contextlib.suppress(sqlite3.OperationalError):  # locked by a running writer: it is WAL already, or next time
            connection.execute("PRAGMA journal_mode=WAL").fetchall()
    finally:
        connection.close()


class PooledSQLiteEngine(SQLiteEngine):
    """SQLiteEngine whose autocommit queries reuse kept connections inside the app's lifespan."""

    def __init__(self, path: str, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self._idle: list[aiosqlite.Connection] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._max_size = 0

    async def start_pool(self, *, max_size: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._max_size = max_size

    async def close_pool(self) -> None:
        self._loop = None
        idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                await connection.close()

    def _pooling(self) -> bool:
        if self._loop is None:
            return False
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Any:
        if not self._pooling():
            return await super()._run_in_new_connection(query, args, query_type, table)
        connection = self._idle.pop() if self._idle else await self.get_connection()  # foreign_keys set there
        try:
            # isolation_level None: the statement commits by itself, the connection is clean after it.
            async with connection.execute(query, args or []) as cursor:
                rows = await cursor.fetchall()
        except BaseException:
            # Failed or cancelled mid-statement: its state is unknown, so it is not kept.
            connection.stop()
            raise
        if self._pooling() and len(self._idle) < self._max_size:
            self._idle.append(connection)
        else:
            await connection.close()
        return rows
