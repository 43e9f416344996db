"""The SQLite engine keeps connections only while the app runs, in WAL mode, and commits a
lease write without a sync of its own while every other write stays FULL (issue 16)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from backend.core import db
from backend.core.sqlite_pool import PooledSQLiteEngine


async def _synchronous(engine: PooledSQLiteEngine) -> int:
    rows = await engine._run_in_new_connection("PRAGMA synchronous")
    return int(rows[0]["synchronous"])


async def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'wal.sqlite3'}")
    assert isinstance(engine, PooledSQLiteEngine)
    with sqlite3.connect(tmp_path / "wal.sqlite3") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_connections_are_kept_only_inside_the_pool(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'kept.sqlite3'}")
    assert isinstance(engine, PooledSQLiteEngine)
    await engine._run_in_new_connection("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
    assert engine._idle == []  # outside the lifespan: a connection per query, none kept
    await db.start_pool(engine, max_size=2)
    try:
        await engine._run_in_new_connection("INSERT INTO t (v) VALUES (1)")
        kept = list(engine._idle)
        assert len(kept) == 1
        rows = await engine._run_in_new_connection("SELECT v FROM t")
        assert rows == [{"v": 1}]
        assert engine._idle == kept  # the same connection served the second query
    finally:
        await db.close_pool(engine)
    assert engine._idle == []


async def test_a_failed_statement_does_not_return_its_connection(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'failed.sqlite3'}")
    assert isinstance(engine, PooledSQLiteEngine)
    await db.start_pool(engine, max_size=2)
    try:
        with contextlib.suppress(sqlite3.OperationalError):
            await engine._run_in_new_connection("SELECT * FROM missing")
        assert engine._idle == []
    finally:
        await db.close_pool(engine)


async def test_only_lease_writes_skip_their_own_sync(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'sync.sqlite3'}")
    assert isinstance(engine, PooledSQLiteEngine)
    await db.start_pool(engine, max_size=2)
    try:
        assert await _synchronous(engine) == 2  # FULL: a commit is durable
        with db.lease_write():
            assert await _synchronous(engine) == 1  # NORMAL: synced by the next durable commit
        assert await _synchronous(engine) == 2
    finally:
        await db.close_pool(engine)
