"""Database engine chosen from the URL; one place for transactions, unique violations and
"the database cannot be reached" (``is_unavailable``)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlparse

import structlog
from asyncpg import exceptions as pg
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from backend.core.errors import DuplicateValue
from backend.core.sqlite_pool import PooledSQLiteEngine, relaxed, use_wal

_engine: Engine[Any] | None = None
log = structlog.get_logger("fieldproof.db")

# A PostgreSQL server that does not answer fails a request after this long, not asyncpg's 60 s.
CONNECT_TIMEOUT_S = 10
# What a client is told to wait before retrying while the database is unavailable.
RETRY_AFTER_S = 5


def make_engine(url: str) -> Engine[Any]:
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :]).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        # WAL and kept connections: issue 16 (backend/core/sqlite_pool.py says why).
        use_wal(str(path), timeout=30)
        return PooledSQLiteEngine(path=str(path), timeout=30)
    parsed = urlparse(url)
    config: dict[str, Any] = {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": unquote(parsed.username or "postgres"),
        "database": (parsed.path or "/postgres").lstrip("/") or "postgres",
        "timeout": CONNECT_TIMEOUT_S,
    }
    if parsed.password:
        config["password"] = unquote(parsed.password)
    return PostgresEngine(config=config, log_queries=False)


def is_postgres(engine: Engine[Any] | None = None) -> bool:
    return isinstance(engine or current_engine(), PostgresEngine)


def bind(engine: Engine[Any], tables: Iterable[type[Table]]) -> None:
    """Point every table at this engine (the app picks the engine at start, not at import)."""
    global _engine
    _engine = engine
    for table in tables:
        table._meta._db = engine


def current_engine() -> Engine[Any]:
    if _engine is None:
        raise RuntimeError("database engine not bound; call backend.core.db.bind() first")
    return _engine


@contextlib.asynccontextmanager
async def write_transaction() -> AsyncIterator[None]:
    """A write transaction; on SQLite an IMMEDIATE one so concurrent writers queue, not fail."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        async with engine.transaction(transaction_type=TransactionType.immediate):
            yield
    else:
        async with engine.transaction():
            yield


def lease_write() -> contextlib.AbstractContextManager[None]:
    """A write whose loss in a power cut is harmless (a lease): SQLite commits it without an
    fsync of its own (backend/core/sqlite_pool.py); PostgreSQL as any write."""
    return relaxed()


def is_unique_violation(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return "unique" in text or "duplicate key" in text


@contextlib.contextmanager
def unique_as(detail: str, *, field: str | None = None) -> Any:
    """Turn the engine-specific unique violation into one DuplicateValue problem."""
    try:
        yield
    except Exception as exc:
        if is_unique_violation(exc):
            raise DuplicateValue(detail, field=field) from None
        raise


# --- the database cannot be reached --------------------------------------------------------

_PG_UNAVAILABLE: tuple[type[BaseException], ...] = (
    pg.PostgresConnectionError,  # SQLSTATE class 08, e.g. the connection dropped mid-query
    pg.CannotConnectNowError,  # starting up or shutting down
    pg.AdminShutdownError,
    pg.CrashShutdownError,
    pg.TooManyConnectionsError,
)
_PG_CLOSED = ("connection is closed", "pool is closed", "pool is closing")
_SQLITE_UNAVAILABLE = ("unable to open", "database is locked", "disk i/o error")
_DRIVER_MODULES = ("asyncpg", "aiosqlite", "sqlite3", "piccolo.engine")


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the database cannot be reached now: a
    connection refused, reset or timed out on the way to PostgreSQL, the server shutting
    down or full, or SQLite unable to open its file or locked beyond its timeout. The HTTP
    layer answers these 503 with Retry-After instead of 500 (issue 15, defect 9)."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if _says_unavailable(current):
            return True
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return False


def _says_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, _PG_UNAVAILABLE):
        return True
    message = str(exc).lower()
    if isinstance(exc, pg.InterfaceError):
        return any(text in message for text in _PG_CLOSED)
    if isinstance(exc, sqlite3.OperationalError):
        return any(text in message for text in _SQLITE_UNAVAILABLE)
    # ConnectionRefusedError, TimeoutError, socket.gaierror…: only when the database driver
    # raised them, so a failing disk or object store is never reported as the database.
    return isinstance(exc, OSError) and _raised_in_driver(exc.__traceback__)


def _raised_in_driver(trace: TracebackType | None) -> bool:
    while trace is not None:
        if str(trace.tb_frame.f_globals.get("__name__", "")).startswith(_DRIVER_MODULES):
            return True
        trace = trace.tb_next
    return False


async def start_pool(engine: Engine[Any], *, max_size: int) -> None:
    """The PostgreSQL pool; if the server does not answer at start, an empty pool that
    connects on first use, so the API starts and answers 503 until the database is back.
    On SQLite: kept connections while the app runs (backend/core/sqlite_pool.py)."""
    if isinstance(engine, PooledSQLiteEngine):
        await engine.start_pool(max_size=max(1, max_size))
        return
    if isinstance(engine, PostgresEngine) and max_size > 0:
        try:
            await engine.start_connection_pool(min_size=1, max_size=max_size)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            log.warning("database.unavailable_at_start", error=f"{type(exc).__name__}: {exc}")
            await engine.start_connection_pool(min_size=0, max_size=max_size)


async def close_pool(engine: Engine[Any]) -> None:
    if isinstance(engine, PooledSQLiteEngine):
        await engine.close_pool()
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()
