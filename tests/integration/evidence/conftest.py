"""Evidence fixtures: a store per implementation (files, S3 server over HTTP) and a capture context."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from backend.core.settings import Settings
from evidence.schemas import CaptureContext
from evidence.store import ObjectStore, open_store


@pytest.fixture(params=["files", "s3"])
def store_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The same tests run against the filesystem store and the S3 server (moto or MinIO)."""
    if request.param == "files":
        return settings
    s3: Settings = request.getfixturevalue("s3_settings")
    return s3


@pytest.fixture
async def store(store_settings: Settings) -> AsyncIterator[ObjectStore]:
    opened = open_store(store_settings)
    yield opened
    await opened.close()


@pytest.fixture
async def officer(make_person: Any) -> Any:
    return await make_person(roles=["officer"])


@pytest.fixture
def context(officer: Any) -> CaptureContext:
    return CaptureContext(
        agency_id=officer.agency.id,
        case_id=uuid.uuid4(),
        officer_id=officer.user.id,
        action_id=uuid.uuid4(),
        certificate_snapshot_id=str(uuid.uuid4()),
    )
