"""Many captures described at once (found by the load benchmark, issue 15.7): the media probe
runs in a worker thread and reads the object back through the store, which runs its own
blocking I/O in worker threads. Probes must never take every thread those reads need, or
every capture stalls until the metadata timeout and is recorded without its metadata."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from evidence import description
from evidence.hashing import content_key
from evidence.schemas import CaptureDeclaration
from evidence.store import ObjectStore
from tests.integration.evidence.media_factory import jpeg

AT_ONCE = 48  # more than AnyIO's default pool of 40 worker threads


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.mark.requirement("R-REC-5")
async def test_more_captures_than_worker_threads_are_all_described(store: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(description, "METADATA_TIMEOUT_S", 20)  # a stall shows as "timeout" within the test's time
    photo = jpeg()
    sha256 = hashlib.sha256(photo).hexdigest()
    key = content_key(sha256)
    await store.put_stream(key, _one_chunk(photo), content_type="image/jpeg")
    declared = CaptureDeclaration(sha256=sha256, kind="photo", captured_at=datetime.now(UTC), device_id="phone-1")

    described = await asyncio.gather(
        *(description.describe(store=store, key=key, media_type="image/jpeg", declared=declared) for _ in range(AT_ONCE))
    )

    assert [info.error for info, _ in described] == [None] * AT_ONCE
    assert all(info.media_captured_at is not None and thumbnail for info, thumbnail in described)
