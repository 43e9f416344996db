"""A live API server for contract and fuzz tests: its own PostgreSQL database, seeded people.

``start_live_api`` clones the run's migrated template into a database of this server's own
(``fp_test_<run>_live_<worker>``, tests/databases.py), seeds one agency with an admin and a
certified officer leading a case with a planned action, starts ``fieldproof serve`` on a free
port with the embedded file store, and returns how to reach it. ``stop`` kills the process and
drops the database.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import requests

from backend.core import clock, db
from backend.field import action_schemas
from backend.field import actions as action_service
from backend.registry import all_tables
from tests import databases, factories
from tests.conftest import _free_port, _wait_for_port
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Seeded:
    admin: str
    officer: str
    agency_id: uuid.UUID
    case_id: uuid.UUID
    action_id: uuid.UUID


@dataclass
class LiveApi:
    url: str
    database: str
    seeded: Seeded
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def login(self, persona: str) -> str:
        """A fresh access token (a login per run: a fuzzed admin may end a user's sessions)."""
        username = self.seeded.admin if persona == "admin" else self.seeded.officer
        response = requests.post(f"{self.url}/api/v1/auth/login", json={"username": username, "password": PASSWORD}, timeout=30)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def parameters_toml(self, persona: str) -> str:
        """Path parameters naming seeded rows, so generated requests reach past the 404."""
        if persona == "admin":
            values = {"agency_id": self.seeded.agency_id}
        else:
            values = {"case_id": self.seeded.case_id, "action_id": self.seeded.action_id}
        lines = [f'"path.{name}" = "{value}"' for name, value in values.items()]
        return "\n[parameters]\n" + "\n".join(lines) + "\n"

    def cli(self, *command: str) -> subprocess.CompletedProcess[str]:
        """A ``fieldproof`` command on the server's database and store."""
        return subprocess.run(
            [sys.executable, "-m", "backend.cli", *command],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def server_errors(self) -> list[str]:
        """Log lines of unhandled errors (the server's 500s), with their traceback."""
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        found = []
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("event") == "unhandled error":
                found.append(line[:4000])
        return found

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        server = databases.server_url()
        if server is not None:
            asyncio.run(databases.drop(server, self.database))


async def _seed(url: str) -> Seeded:
    engine = db.make_engine(url)
    db.bind(engine, all_tables())
    admin = await factories.person(["admin", "supervisor", "officer"], username=f"admin-{uuid.uuid4().hex[:6]}")
    officer = await factories.person(
        ["officer"], admin.agency, username=f"officer-{uuid.uuid4().hex[:6]}", certified=True, certified_by=admin
    )
    case = await factories.case(officer)
    planned = action_schemas.ActionIn(
        case_id=case.id,
        kind="inspection",
        planned_at=clock.now() + timedelta(hours=1),
        participant_ids=[officer.user.id],
    )
    action = await action_service.create_action(principal=officer.principal, data=planned)
    return Seeded(admin=admin.username, officer=officer.username, agency_id=admin.agency.id, case_id=case.id, action_id=action.id)


def start_live_api(worker: str, folder: Path) -> LiveApi:
    server = databases.server_url()
    assert server is not None, databases.SKIP_REASON
    name = f"fp_test_{databases.run_id()}_live_{worker}"
    asyncio.run(databases.drop(server, name))  # a leftover of this run's earlier module
    url = asyncio.run(databases.create(server, name, template=databases.template_name()))
    seeded = asyncio.run(_seed(url))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDPROOF_") or k.startswith("FIELDPROOF_TEST_")}
    env.update(
        {
            "FIELDPROOF_DATA_DIR": str(folder / "server"),
            "FIELDPROOF_DATABASE_URL": url,
            "FIELDPROOF_KEY_DIR": str(folder / "keys"),
            "FIELDPROOF_DATABASE_POOL_MAX": "4",
            "FIELDPROOF_ACCESS_TOKEN_TTL_S": "900",
            "FIELDPROOF_LOG_LEVEL": "WARNING",
            "FIELDPROOF_CHECKPOINT_INTERVAL_S": "0",
            "FIELDPROOF_SWEEP_INTERVAL_S": "0",
        }
    )
    log = folder / "server.log"
    api = LiveApi(url=f"http://127.0.0.1:{port}", database=name, seeded=seeded, log=log, env=env)
    with log.open("wb") as sink:
        api.process = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port)
    except RuntimeError:
        api.stop()
        raise
    return api
