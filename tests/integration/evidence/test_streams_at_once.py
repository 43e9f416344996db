"""Many parts streamed at once (found by the load benchmark, issue 15.7): a streamed part's
worker thread waits on the event loop for bytes the loop is still receiving and hashing in
worker threads. With those waiting threads drawn from AnyIO's default pool, 40 parts at once
held every thread and their feeders could get none: the API process wedged for good."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import anyio.to_thread
import pytest

from evidence.store import ObjectStore

AT_ONCE = 48  # more than AnyIO's default pool of 40 worker threads
BATCHES = 4
BATCH = b"x" * 4096


async def _fed(hashed: list[int]) -> AsyncIterator[list[bytes]]:
    """Bytes as a PATCH feeds them: each batch is hashed in a worker thread first."""
    for _ in range(BATCHES):
        await anyio.to_thread.run_sync(hashed.append, len(BATCH))
        yield [BATCH]


@pytest.mark.requirement("R-REC-5")
async def test_more_streamed_parts_than_worker_threads_all_arrive(store: ObjectStore) -> None:
    keys = [f"staging/at-once-{n}" for n in range(AT_ONCE)]
    uploads = [await store.create_multipart(key) for key in keys]
    hashed: list[int] = []

    async def stream(n: int) -> str:
        return await store.stream_part(keys[n], uploads[n], 1, _fed(hashed), size=BATCHES * len(BATCH))

    etags = await asyncio.wait_for(asyncio.gather(*(stream(n) for n in range(AT_ONCE))), timeout=60)

    assert len(etags) == AT_ONCE
    assert all(etags)
    assert sum(hashed) == AT_ONCE * BATCHES * len(BATCH)
    for key, upload_id in zip(keys, uploads, strict=True):
        await store.abort_multipart(key, upload_id)
