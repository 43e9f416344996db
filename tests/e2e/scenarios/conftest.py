"""The scenarios' town: the demo loaded by ``fieldproof demo`` (a real process) into a database
of its own, then a real ``fieldproof serve`` process on it with the S3 server as its store.

One town per test process (session scope): loading the demo is most of a scenario's cost, and
each scenario plays on its own cases and actions, so the four can share it in any order.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import databases
from tests.conftest import S3Server, _free_port, _wait_for_port, _worker_id
from tests.e2e.scenarios.town import Town

ROOT = Path(__file__).resolve().parents[3]
MiB = 1024 * 1024


@pytest.fixture(scope="session")
def town_database(migrated_postgres: str, pytestconfig: pytest.Config) -> Iterator[str]:
    """A database of this run for the town, cloned from the run's migrated template."""
    server = databases.server_url()
    assert server is not None  # migrated_postgres skips without one
    name = databases.worker_name(f"town_{_worker_id(pytestconfig)}")
    url = asyncio.run(databases.create(server, name, template=databases.template_name()))
    try:
        yield url
    finally:
        asyncio.run(databases.drop(server, name))


@pytest.fixture(scope="session")
def town_env(town_database: str, s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("town")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDPROOF_") or k.startswith("FIELDPROOF_TEST_")}
    bucket = f"town-{uuid.uuid4().hex[:10]}"
    env.update(
        {
            "FIELDPROOF_DATA_DIR": str(folder / "server"),
            "FIELDPROOF_DATABASE_URL": town_database,
            "FIELDPROOF_KEY_DIR": str(folder / "server-keys"),
            "FIELDPROOF_STORE_URL": s3_server.endpoint,
            "FIELDPROOF_S3_ACCESS_KEY": s3_server.access_key,
            "FIELDPROOF_S3_SECRET_KEY": s3_server.secret_key,
            "FIELDPROOF_S3_BUCKET": bucket,
            "FIELDPROOF_S3_STAGING_BUCKET": f"{bucket}-staging",
            "FIELDPROOF_S3_PART_SIZE": str(5 * MiB),
            "FIELDPROOF_DATABASE_POOL_MAX": "4",
            "FIELDPROOF_LOG_LEVEL": "WARNING",
        }
    )
    return env


@pytest.fixture(scope="session")
def town_server(town_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """新绛县 on the demo data, served by a real API process (killed at the end); its URL."""
    command = [sys.executable, "-m", "backend.cli", "demo"]
    demo = subprocess.run(command, cwd=ROOT, env=town_env, capture_output=True, text=True, timeout=600, check=False)
    assert demo.returncode == 0, demo.stderr[-4000:]
    port = _free_port()
    log = (tmp_path_factory.mktemp("town-log") / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)], cwd=ROOT, env=town_env, stdout=log, stderr=log
    )
    try:
        _wait_for_port(port, timeout=120)  # a loaded machine starts slowly
        yield f"http://127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait(timeout=10)
        log.close()


@pytest.fixture
def town(town_server: str) -> Iterator[Town]:
    """The town seen by one scenario: its own HTTP client, its people signed in afresh."""
    with httpx.Client(base_url=town_server, timeout=60) as http:
        yield Town(url=town_server, http=http)
