"""Clear answers under faults (issue 15, defect 9): a database that does not answer gives
503 problem+json with Retry-After on every route, never 500; /ready reports it."""

from __future__ import annotations

import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.core import db
from backend.core.auth import Principal, TokenIssuer
from backend.core.keys import KeyRing
from backend.core.settings import Settings
from backend.registry import all_tables


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _token(settings: Settings, keys: KeyRing) -> str:
    issuer = TokenIssuer(keys, issuer=settings.issuer, audience=settings.audience, ttl_s=settings.access_token_ttl_s)
    principal = Principal(
        user_id=uuid.uuid4(), username="officer", agency_id=uuid.uuid4(), agency_kind="agency", roles=("officer",)
    )
    return issuer.issue(principal)


@pytest.fixture
async def restore_engine() -> AsyncIterator[None]:
    """These apps bind the tables to a database that is not there; put the previous one back."""
    previous = db._engine
    yield
    if previous is not None:
        db.bind(previous, all_tables())


LOGIN = {"username": "officer", "password": "secret-password"}
ROUTES: list[tuple[str, str, dict[str, str] | None, bool]] = [
    ("POST", "/api/v1/auth/login", LOGIN, False),
    ("GET", "/api/mobile/v1/me", None, True),
    ("GET", "/api/v1/units", None, True),
    ("GET", "/api/v1/cases", None, True),
]


async def _assert_unavailable(client: AsyncTestClient[Litestar], token: str) -> None:
    for method, path, body, signed_in in ROUTES:
        headers = {"Authorization": f"Bearer {token}"} if signed_in else {}
        response = await client.request(method, path, headers=headers, json=body)
        assert response.status_code == 503, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["retry-after"] == str(db.RETRY_AFTER_S)
        body = response.json()
        assert body["type"] == "/problems/database-unavailable"
        assert body["title"] == "数据库暂不可用，请稍后重试"
        assert body["retry_after"] == db.RETRY_AFTER_S
    english = await client.post("/api/v1/auth/login", json=LOGIN, headers={"Accept-Language": "en"})
    assert english.json()["title"] == "The database is unavailable; retry shortly"
    ready = await client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"].startswith("unreachable")


# Piccolo's engine asks the server for its version when it is made, and warns if it cannot.
@pytest.mark.filterwarnings("ignore:.*Unable to fetch server version")
@pytest.mark.parametrize("pool_max", [0, 4])
async def test_postgresql_not_answering_gives_503_with_retry_after(
    tmp_path: Path, key_ring: KeyRing, restore_engine: None, pool_max: int
) -> None:
    """The app starts although the server refuses connections (an empty pool that connects
    on first use) and answers 503 on login, a phone route and office routes."""
    settings = Settings(
        data_dir=str(tmp_path),
        database_url=f"postgresql://postgres@127.0.0.1:{_free_port()}/fieldproof",
        key_dir=str(tmp_path / "keys"),
        database_pool_max=pool_max,
        checkpoint_interval_s=0,
        sweep_interval_s=0,
    )
    async with AsyncTestClient(create_app(settings, keys=key_ring)) as client:
        await _assert_unavailable(client, _token(settings, key_ring))


async def test_sqlite_unable_to_open_gives_503(tmp_path: Path, key_ring: KeyRing, restore_engine: None) -> None:
    folder = tmp_path / "not-a-database-file"
    folder.mkdir()  # SQLite cannot open a folder: "unable to open database file"
    settings = Settings(
        data_dir=str(tmp_path),
        database_url=f"sqlite:///{folder}",
        key_dir=str(tmp_path / "keys"),
        checkpoint_interval_s=0,
        sweep_interval_s=0,
    )
    async with AsyncTestClient(create_app(settings, keys=key_ring)) as client:
        await _assert_unavailable(client, _token(settings, key_ring))


def test_only_unavailability_is_classified_as_such() -> None:
    """A failing disk or object store is no database outage; a locked SQLite file is."""
    assert db.is_unavailable(sqlite3.OperationalError("database is locked"))
    assert not db.is_unavailable(sqlite3.OperationalError("no such table: x"))
    assert not db.is_unavailable(ConnectionRefusedError(111, "raised outside the database driver"))
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = sqlite3.OperationalError("unable to open database file")
    assert db.is_unavailable(wrapped)
