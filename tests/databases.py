"""PostgreSQL databases a test run owns: created with a unique name, dropped at the end.

``FIELDPROOF_TEST_DATABASE_URL`` names a *server* (its database part is only used to issue
``CREATE DATABASE``/``DROP DATABASE``). A run never touches a database it did not create:
every name carries this run's id (``fp_test_<run>_…``), so two suites, or a suite and a
benchmark, on one server never see each other's rows.

Layout of one run: the first process that needs PostgreSQL migrates a template database
(``fp_test_<run>_tmpl``, under a file lock shared by pytest-xdist workers); every worker
clones its own database from it (``CREATE DATABASE … TEMPLATE``, a file copy, much faster
than migrating again); tests truncate the worker's tables between them. The controller
process drops the template at the end, each worker drops its own clone.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import Any
from urllib.parse import urlparse

import asyncpg
from piccolo.engine.postgres import PostgresEngine

SERVER_ENV = "FIELDPROOF_TEST_DATABASE_URL"
RUN_ENV = "FIELDPROOF_TEST_RUN_ID"
SKIP_REASON = (
    f"PostgreSQL tests need {SERVER_ENV} (a server where this run may create and drop its own "
    "databases, e.g. postgresql://postgres@127.0.0.1:5432/postgres); .ci/run sets it"
)


def server_url() -> str | None:
    return os.environ.get(SERVER_ENV) or None


def run_id() -> str:
    """This run's id; the controller sets it before pytest-xdist starts its workers."""
    rid = os.environ.get(RUN_ENV)
    if not rid:
        rid = secrets.token_hex(4)
        os.environ[RUN_ENV] = rid
    return rid


def template_name() -> str:
    return f"fp_test_{run_id()}_tmpl"


def worker_name(worker: str) -> str:
    return f"fp_test_{run_id()}_{worker}"


def url_for(server: str, name: str) -> str:
    return urlparse(server)._replace(path="/" + name).geturl()


def _quoted(name: str) -> str:
    # Names are built above from hex and worker ids; refuse anything else outright.
    if not name.replace("_", "").isalnum() or not name.startswith("fp_test_"):
        raise ValueError(f"refusing to manage database {name!r}: not one of this run's names")
    return f'"{name}"'


async def create(server: str, name: str, *, template: str | None = None) -> str:
    conn = await asyncpg.connect(server, timeout=10)
    try:
        clause = f" TEMPLATE {_quoted(template)}" if template else ""
        await conn.execute(f"CREATE DATABASE {_quoted(name)}{clause}")
    finally:
        await conn.close()
    return url_for(server, name)


async def drop(server: str, name: str) -> None:
    """Drop one of this run's databases (``_quoted`` refuses any other name)."""
    conn = await asyncpg.connect(server, timeout=10)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)")
    finally:
        await conn.close()


async def exists(server: str, name: str) -> bool:
    conn = await asyncpg.connect(server, timeout=10)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


async def truncate_all(url: str) -> None:
    """Empty every table of a database this run created (never called on any other URL)."""
    if not urlparse(url).path.lstrip("/").startswith(f"fp_test_{run_id()}_"):
        raise ValueError(f"refusing to truncate {url}: not this run's database")
    conn = await asyncpg.connect(url)
    try:
        # The ledger and its checkpoints refuse TRUNCATE by trigger (R-REC-7); the suite connects
        # as superuser, and in replica mode ordinary triggers do not fire for this connection.
        await conn.execute("SET session_replication_role = replica")
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migration'")
        # TRUNCATE gives every listed table a new file even when it is empty (~0.2 s for all
        # of them); a test fills a handful, so one query finds those and only they are emptied.
        probes = " UNION ALL ".join(
            f"SELECT {_literal(row['tablename'])} AS name WHERE EXISTS (SELECT 1 FROM {_identifier(row['tablename'])})"  # noqa: S608
            for row in rows  # the server's own table names, quoted
        )
        filled = [row["name"] for row in await conn.fetch(probes)] if probes else []
        if filled:
            await conn.execute(f"TRUNCATE {', '.join(map(_identifier, filled))} RESTART IDENTITY CASCADE")
        # A sequence can move without leaving a row (a rolled-back insert): restart those too.
        used = await conn.fetch(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL "
            "AND sequencename <> 'migration_id_seq'"
        )
        for row in used:
            await conn.execute(f"ALTER SEQUENCE {_identifier(row['sequencename'])} RESTART")
    finally:
        await conn.close()


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


# --- connections kept per event loop ------------------------------------------------------------


class PooledEngine(PostgresEngine):
    """The app's PostgreSQL engine, keeping connections while a test runs.

    The tests run with ``database_pool_max=0``: the ASGI test client serves requests on a loop
    of its own, and one asyncpg pool cannot serve two loops. Piccolo then opens a connection
    (a new server process) for every query outside a transaction, about a hundred per test.
    Here each loop a fixture looks after (``keep_connections`` … ``release_connections``) gets
    a pool of its own; on any other loop a query opens its own connection as before.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self._pools: dict[asyncio.AbstractEventLoop, asyncpg.Pool] = {}
        super().__init__(config=config, log_queries=False)

    # Made from an engine of ``backend.core.db.make_engine``, which has checked the server
    # version and prepared the database already.
    async def check_version(self) -> None:
        return None

    async def prep_database(self) -> None:
        return None

    async def keep_connections(self) -> None:
        loop = asyncio.get_running_loop()
        if loop not in self._pools:
            # As many as the app's own pool may hold (Settings.database_pool_max), opened on demand.
            self._pools[loop] = await asyncpg.create_pool(min_size=0, max_size=10, **self.config)

    async def release_connections(self) -> None:
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            pool.terminate()  # idle by now; a connection a cancelled request left behind goes too

    async def get_new_connection(self) -> Any:
        pool = self._pools.get(asyncio.get_running_loop())
        if pool is None:
            return await super().get_new_connection()
        return _Lent(pool, await pool.acquire())


class _Lent:
    """A pooled connection that goes back to its pool where piccolo closes it."""

    __slots__ = ("_connection", "_pool")

    def __init__(self, pool: asyncpg.Pool, connection: Any) -> None:
        self._pool = pool
        self._connection = connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    async def close(self) -> None:
        await self._pool.release(self._connection)
