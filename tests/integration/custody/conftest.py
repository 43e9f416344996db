"""Custody fixtures: a real case with real evidence, and the people who may or may not see it."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from backend.core import db
from backend.core.settings import Settings
from backend.field import cases as field_cases
from backend.ledger.tables import LedgerRow
from evidence import capture
from evidence.schemas import CaptureDeclaration, EvidenceOut
from evidence.store import ObjectStore, open_store
from tests import factories as make

ROLES = {
    "officer": ["officer"],
    "colleague": ["officer"],
    "supervisor": ["supervisor"],
    "reviewer": ["legal_reviewer"],
    "admin": ["admin"],
}


@dataclass
class Scene:
    """One case of one agency; people are created (and logged in) only when a test asks."""

    agency: Any
    case_id: Any
    auth_headers: Any
    people: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    evidence: list[EvidenceOut] = field(default_factory=list)
    payloads: dict[Any, bytes] = field(default_factory=dict)

    async def person(self, name: str) -> Any:
        if name not in self.people:
            if name == "stranger":  # a reviewer and supervisor of another agency
                self.people[name] = await make.person(["legal_reviewer", "supervisor"])
            else:
                self.people[name] = await make.person(ROLES[name], self.agency)
        return self.people[name]

    async def h(self, name: str) -> dict[str, str]:
        if name not in self.headers:
            self.headers[name] = await self.auth_headers(await self.person(name))
        return self.headers[name]


async def _chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def attach(store: ObjectStore, settings: Settings, officer: Any, case_id: Any, data: bytes) -> EvidenceOut:
    """Attach bytes through the real capture path (authorize_capture → receive_direct)."""
    context = await field_cases.authorize_capture(principal=officer.principal, case_id=case_id, action_id=None)
    declared = CaptureDeclaration(
        sha256=hashlib.sha256(data).hexdigest(), kind="document", captured_at=datetime.now(UTC), device_id="device-1"
    )
    result = await capture.receive_direct(
        store=store, chunks=_chunks(data), declared=declared, context=context, settings=settings
    )
    return result.evidence


def pdf_bytes(size: int) -> bytes:
    """A document the media sniffer accepts, padded with random bytes to ``size``."""
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    return head + os.urandom(max(0, size - len(head) - 6)) + b"\n%%EOF"


@pytest.fixture
async def app_store(settings: Settings) -> AsyncIterator[ObjectStore]:
    store = open_store(settings)  # the same files the app's store serves
    yield store
    await store.close()


@pytest.fixture
async def scene(database: None, auth_headers: Any, settings: Settings, app_store: ObjectStore) -> Scene:
    scene = Scene(agency=await make.agency(), case_id=None, auth_headers=auth_headers)
    officer = await scene.person("officer")
    case = await make.case(officer)
    scene.case_id = case.id
    for size in (300_000, 12_345):
        payload = pdf_bytes(size)
        item = await attach(app_store, settings, officer, case.id, payload)
        scene.evidence.append(item)
        scene.payloads[item.id] = payload
    return scene


async def tamper_ledger(sql: str, *args: Any) -> None:
    """Change a stored row behind the service's back, the way an intruder with DB access would."""
    engine = db.current_engine()
    if db.is_postgres(engine):
        async with engine.transaction():
            await LedgerRow.raw("ALTER TABLE custody_ledger DISABLE TRIGGER custody_ledger_append_only")
            await LedgerRow.raw(sql, *args)
            await LedgerRow.raw("ALTER TABLE custody_ledger ENABLE TRIGGER custody_ledger_append_only")
    else:
        await LedgerRow.raw("DROP TRIGGER custody_ledger_no_update")
        await LedgerRow.raw("DROP TRIGGER custody_ledger_no_delete")
        await LedgerRow.raw(sql, *args)
