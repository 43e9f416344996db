"""Any file size, any PATCH cut and any cut of a PATCH body into pieces stores exactly the file
(R-REC-5), on both stores: bodies with a declared length (streamed to the store as one part
while they arrive, evidence.uploads.streamed) and bodies without one (buffered into parts),
1-byte pieces and PATCHes of exactly a part's size (issue 16, point 7)."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence.store import open_store
from evidence.tables import EvidenceItem
from evidence.uploads import receiving
from tests.integration.uploads.conftest import pdf_bytes
from tests.integration.uploads.test_tus_durability import stored_bytes, upload_id

KiB = 1024
MiB = 1024 * KiB
# The part sizes of the two stores (S3 5 MiB in these tests, files 1 MiB minimum / 2 MiB
# streamed parts): sizes and cuts at, just under and just over them.
EDGES = [1, 2, 1 * MiB - 1, 1 * MiB, 2 * MiB, 5 * MiB - 1, 5 * MiB, 5 * MiB + 1, 7 * MiB]
# A file must still sniff as the PDF it claims to be (its head is 9 bytes); PATCHes and body
# pieces go down to 1 byte.
SMALLEST = 64
# A body arrives as a few tiny pieces, then pieces of one bulk size.
TINY = [1, 7]
BULK = [64 * KiB, 1 * MiB, 5 * MiB]


@st.composite
def plans(draw):
    """(file size, PATCHes as (start, end, length declared?, (tiny pieces, bulk piece size)))."""
    size = draw(st.one_of(st.sampled_from([e for e in EDGES if e >= SMALLEST]), st.integers(SMALLEST, 8 * MiB)))
    cuts = draw(st.lists(st.one_of(st.sampled_from(EDGES), st.integers(1, 8 * MiB)), max_size=4))
    bounds = sorted({0, size, *(c for c in cuts if 0 < c < size)})
    patches = []
    for start, end in itertools.pairwise(bounds):
        declared = draw(st.booleans())
        tiny = draw(st.lists(st.sampled_from(TINY), max_size=3))
        patches.append((start, end, declared, (tiny, draw(st.sampled_from(BULK)))))
    return size, patches


async def _pieces(data: bytes, cut: tuple[list[int], int]) -> AsyncIterator[bytes]:
    tiny, bulk = cut
    position = 0
    for size in itertools.chain(tiny, itertools.repeat(bulk)):
        if position >= len(data):
            return
        yield data[position : position + size]
        position += size


@pytest.mark.requirement("R-REC-5")
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans(), seed=st.integers(0, 2**16))
async def test_any_size_and_any_cut_stores_exactly_the_file(tus, upload_settings, officer, plan, seed):
    size, patches = plan
    data = pdf_bytes(size, seed=seed)
    created = await tus.create(data)
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    store = open_store(upload_settings)
    try:
        state = None
        for start, end, declared, pieces in patches:
            request = receiving.ChunkRequest(
                upload_id=upload_id(url), offset=start, content_length=end - start if declared else None
            )
            state = await receiving.append_chunk(
                principal=officer.principal,
                request=request,
                body=_pieces(data[start:end], pieces),
                settings=upload_settings,
                store=store,
            )
            assert state.offset == end
    finally:
        await store.close()
    assert state is not None
    assert state.evidence_id is not None
    item = await EvidenceItem.select(EvidenceItem.sha256, EvidenceItem.size).where(EvidenceItem.id == state.evidence_id).first()
    assert item == {"sha256": hashlib.sha256(data).hexdigest(), "size": size}
    assert await stored_bytes(upload_settings, item["sha256"]) == data
    assert uuid.UUID(str(state.evidence_id))


@pytest.mark.requirement("R-REC-5")
async def test_a_declared_body_that_ends_short_keeps_what_arrived(tus, upload_settings, officer):
    """A streamed part whose body ends early is not recorded; the received bytes take the
    buffered path (a part or a tail piece) and the upload completes with the right bytes."""
    data = pdf_bytes(6 * MiB + 5, seed=11)
    url = (await tus.create(data)).headers["location"]

    async def dropped(after: int) -> AsyncIterator[bytes]:
        for start in range(0, after, 256 * KiB):
            yield data[start : min(after, start + 256 * KiB)]
        raise receiving.StreamInterrupted("client disconnected prematurely")

    store = open_store(upload_settings)
    try:
        got = 5 * MiB + 3
        request = receiving.ChunkRequest(upload_id=upload_id(url), offset=0, content_length=len(data))
        state = await receiving.append_chunk(
            principal=officer.principal, request=request, body=dropped(got), settings=upload_settings, store=store
        )
    finally:
        await store.close()
    assert state.offset == got
    done = await tus.patch(url, got, data[got:])
    assert done.status_code == 204, done.text
    evidence_id = uuid.UUID(done.headers["fieldproof-evidence-id"])
    item = await EvidenceItem.select(EvidenceItem.sha256).where(EvidenceItem.id == evidence_id).first()
    assert item is not None
    assert item["sha256"] == hashlib.sha256(data).hexdigest()
    assert await stored_bytes(upload_settings, item["sha256"]) == data
