"""Database engine chosen from the URL; one place for transactions and unique violations."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from backend.core.errors import DuplicateValue

_engine: Engine[Any] | None = None


def make_engine(url: str) -> Engine[Any]:
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :]).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=str(path), timeout=30)
    parsed = urlparse(url)
    config: dict[str, Any] = {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": unquote(parsed.username or "postgres"),
        "database": (parsed.path or "/postgres").lstrip("/") or "postgres",
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


async def start_pool(engine: Engine[Any], *, max_size: int) -> None:
    if isinstance(engine, PostgresEngine) and max_size > 0:
        await engine.start_connection_pool(min_size=1, max_size=max_size)


async def close_pool(engine: Engine[Any]) -> None:
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()
