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

``relaxed()`` marks statements whose loss in a power cut is harmless — taking a tus upload's
write lease, which a lost commit merely never took — so they run on kept connections with
``synchronous=NORMAL``: committed without an fsync of their own (the next durable commit
syncs the log past them). Everything else stays FULL.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sqlite3
from collections.abc import Iterator
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table


def use_wal(path: str, *, timeout: float) -> None:
    """Switch the database file to write-ahead logging (a no-op when it already is).

    A file that cannot be opened now is left alone: the server still starts and answers
    503 database-unavailable until the file is reachable (tests/integration/core/test_faults.py).
    """
    try:
        connection = sqlite3.connect(path, timeout=timeout)
    except sqlite3.OperationalError:
        return
    try:
        with contextlib.suppress(sqlite3.OperationalError):  # locked by a running writer: it is WAL already, or next time
            connection.execute("PRAGMA journal_mode=WAL").fetchall()
    finally:
        connection.close()


_RELAXED: contextvars.ContextVar[bool] = contextvars.ContextVar("sqlite_relaxed", default=False)


@contextlib.contextmanager
def relaxed() -> Iterator[None]:
    """Statements inside need not survive a power cut (see the module docstring)."""
    token = _RELAXED.set(True)
    try:
        yield
    finally:
        _RELAXED.reset(token)


class PooledSQLiteEngine(SQLiteEngine):
    """SQLiteEngine whose autocommit queries reuse kept connections inside the app's lifespan."""

    def __init__(self, path: str, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self._idle: list[aiosqlite.Connection] = []
        self._idle_relaxed: list[aiosqlite.Connection] = []  # synchronous=NORMAL
        self._loop: asyncio.AbstractEventLoop | None = None
        self._max_size = 0

    async def start_pool(self, *, max_size: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._max_size = max_size

    async def close_pool(self) -> None:
        self._loop = None
        idle, self._idle, self._idle_relaxed = [*self._idle, *self._idle_relaxed], [], []
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
        idle = self._idle_relaxed if _RELAXED.get() else self._idle
        if idle:
            connection = idle.pop()
        else:
            connection = await self.get_connection()  # foreign_keys set there
            if idle is self._idle_relaxed:
                await connection.execute("PRAGMA synchronous=NORMAL")
        try:
            # isolation_level None: the statement commits by itself, the connection is clean after it.
            async with connection.execute(query, args or []) as cursor:
                rows = await cursor.fetchall()
        except BaseException:
            # Failed or cancelled mid-statement: its state is unknown, so it is not kept.
            with contextlib.suppress(BaseException):
                await asyncio.shield(connection.close())
            raise
        if self._pooling() and len(idle) < self._max_size:
            idle.append(connection)
        else:
            await connection.close()
        return rows
