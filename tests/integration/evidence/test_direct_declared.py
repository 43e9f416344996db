"""A direct upload whose length is declared sends each part while it arrives (issue 16): the
stored bytes are exactly the body at any size around the part boundaries, on both stores, and
a body that ends before its declared length leaves nothing behind (R-REC-5)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import msgspec
import pytest

from backend.core.settings import Settings
from evidence import capture
from evidence.errors import StoreUnavailableError
from evidence.schemas import CaptureContext
from evidence.store import ObjectStore
from tests.integration.evidence.helpers import chunks_of, declare, read_all
from tests.integration.evidence.test_finalize import staged_keys
from tests.integration.uploads.conftest import pdf_bytes

KiB = 1024
MiB = 1024 * KiB


def _settings(store_settings: Settings) -> Settings:
    # Parts of 5 MiB (S3's smallest; the file store streams 2 MiB parts), bodies up to 12 MiB.
    return msgspec.structs.replace(store_settings, s3_part_size=5 * MiB, direct_upload_limit=16 * MiB)


@pytest.mark.requirement("R-REC-5")
@pytest.mark.parametrize("size", [100 * KiB, 2 * MiB, 5 * MiB, 5 * MiB + 1, 12 * MiB - 3])
async def test_a_declared_body_is_stored_exactly(
    store: ObjectStore, store_settings: Settings, context: CaptureContext, size: int
) -> None:
    data = pdf_bytes(size, seed=size)
    result = await capture.receive_direct(
        store=store,
        chunks=chunks_of(data, 96 * KiB + 1),
        declared=declare(data, "document"),
        context=context,
        settings=_settings(store_settings),
        size=size,
    )
    assert result.evidence.sha256 == hashlib.sha256(data).hexdigest()
    assert await read_all(store, result.evidence.object_key) == data
    assert await staged_keys(store) == []


@pytest.mark.requirement("R-REC-5")
async def test_a_body_shorter_than_declared_leaves_nothing(
    store: ObjectStore, store_settings: Settings, context: CaptureContext
) -> None:
    data = pdf_bytes(7 * MiB, seed=5)

    async def short() -> AsyncIterator[bytes]:
        async for chunk in chunks_of(data[: 6 * MiB]):
            yield chunk

    with pytest.raises(StoreUnavailableError):
        await capture.receive_direct(
            store=store,
            chunks=short(),
            declared=declare(data, "document"),
            context=context,
            settings=_settings(store_settings),
            size=len(data),
        )
    assert await staged_keys(store) == []
    assert await store.stat(f"sha256/{hashlib.sha256(data).hexdigest()}") is None
