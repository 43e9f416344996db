"""tus fixtures: the real app over the filesystem store and the S3 server, a case to upload to."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.core.keys import KeyRing
from backend.core.settings import MiB, Settings
from tests import factories as make
from tests.conftest import app_for
from tests.factories import PASSWORD, Person

BASE = "/api/mobile/v1/uploads"
TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_STREAM = {"Content-Type": "application/offset+octet-stream"}


def pdf_bytes(size: int, seed: int = 0) -> bytes:
    """A file the evidence service accepts as a document (sniffed as PDF), of any size."""
    head = b"%PDF-1.4\n"
    body = hashlib.shake_256(f"fieldproof-{seed}".encode()).digest(max(0, size - len(head)))
    return (head + body)[:size]


def metadata(data: bytes, case: Any, **overrides: str | None) -> str:
    values: dict[str, str | None] = {
        "filename": "scene.pdf",
        "filetype": "application/pdf",
        "sha256": hashlib.sha256(data).hexdigest(),
        "case_id": str(case),
        "captured_at": "2026-05-01T09:30:00+08:00",
        "device_id": "phone-1",
    }
    values.update(overrides)
    return ",".join(
        key if value is None else f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items()
    )


@dataclass
class Tus:
    """A thin tus test client over the ASGI app (protocol-level tests; e2e uses tuspy)."""

    client: AsyncTestClient[Litestar]
    auth: dict[str, str]
    case_id: Any
    extra: dict[str, str] = field(default_factory=dict)

    def headers(self, **more: str) -> dict[str, str]:
        return {**TUS, **self.auth, **self.extra, **more}

    async def create(self, data: bytes, *, length: int | None = None, body: bytes | None = None, **meta: str | None) -> Any:
        headers = self.headers(**{"Upload-Length": str(len(data) if length is None else length)})
        headers["Upload-Metadata"] = metadata(data, self.case_id, **meta)
        if body is not None:
            headers.update(OFFSET_STREAM)
        return await self.client.post(BASE + "/", headers=headers, content=body or b"")

    async def patch(self, url: str, offset: int, chunk: bytes, **more: str) -> Any:
        headers = self.headers(**OFFSET_STREAM, **{"Upload-Offset": str(offset)}, **more)
        return await self.client.patch(url, headers=headers, content=chunk)

    async def head(self, url: str) -> Any:
        return await self.client.head(url, headers=self.headers())

    async def upload(self, data: bytes, chunk: int) -> Any:
        created = await self.create(data)
        assert created.status_code == 201, created.text
        url = created.headers["location"]
        response = None
        for start in range(0, len(data), chunk):
            response = await self.patch(url, start, data[start : start + chunk])
            assert response.status_code == 204, response.text
        return url, response


@pytest.fixture(params=["files", "s3"])
def upload_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    base = settings if request.param == "files" else request.getfixturevalue("s3_settings")
    # Small parts keep the tests quick while still crossing several 5 MiB part boundaries.
    return msgspec.structs.replace(base, s3_part_size=5 * MiB, tus_chunk_limit=8 * MiB)


@pytest.fixture
def app(upload_settings: Settings, key_ring: KeyRing) -> Litestar:
    return app_for(upload_settings, key_ring)


@pytest.fixture
async def officer(make_person: Any) -> Person:
    return await make_person(roles=["officer"])


async def login(client: AsyncTestClient[Litestar], person: Person) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"username": person.username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def tus(client: AsyncTestClient[Litestar], officer: Person) -> Tus:
    case = await make.case(officer)
    return Tus(client=client, auth=await login(client, officer), case_id=case.id)
