"""Unfinished uploads reserve their declared length; the staging area never overcommits (issue #6 limits)."""

from __future__ import annotations

import msgspec
import pytest

from backend.core.settings import MiB, Settings
from evidence.uploads.tables import Upload
from tests.integration.uploads.conftest import pdf_bytes

KiB = 1024


@pytest.fixture
def upload_settings(settings: Settings) -> Settings:
    """The file store with a 1 MiB staging quota (overrides the conftest's store matrix)."""
    return msgspec.structs.replace(settings, s3_part_size=5 * MiB, tus_chunk_limit=8 * MiB, tus_staging_quota=MiB)


async def test_staging_quota_refuses_what_would_overcommit(tus):
    first = await tus.create(pdf_bytes(600 * KiB))
    assert first.status_code == 201
    refused = await tus.create(pdf_bytes(600 * KiB))
    assert refused.status_code == 507
    assert refused.json()["type"] == "/problems/staging-quota-exceeded"
    assert await Upload.count() == 1
    # Terminating the first frees its reservation.
    assert (await tus.client.delete(first.headers["location"], headers=tus.headers())).status_code == 204
    assert (await tus.create(pdf_bytes(600 * KiB))).status_code == 201
