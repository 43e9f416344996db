"""Durability of staged bytes: any chunking, retries, dropped clients, lost hash state, locks, expiry."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.core import clock
from backend.core.settings import Settings
from evidence.hashing import content_key
from evidence.store import FilesystemStore, S3Store, open_store
from evidence.tables import EvidenceItem
from evidence.uploads import hashstate, receiving
from evidence.uploads.state import staging_key
from evidence.uploads.sweeper import sweep_expired_uploads
from evidence.uploads.tables import Upload
from tests.integration.uploads.conftest import pdf_bytes

KiB = 1024
MiB = 1024 * KiB
# Crosses one 5 MiB part boundary: a full part, then a short last part.
PROPERTY_FILE = pdf_bytes(5 * MiB + 200 * KiB, seed=7)


def upload_id(url: str) -> uuid.UUID:
    return uuid.UUID(url.rsplit("/", 1)[1])


async def row_of(url: str) -> dict:
    found = await Upload.select().where(Upload.id == upload_id(url)).first()
    assert found is not None
    return found


async def stored_bytes(settings: Settings, sha256: str) -> bytes:
    store = open_store(settings)
    try:
        return b"".join([block async for block in store.read(content_key(sha256))])
    finally:
        await store.close()


@st.composite
def chunkings(draw):
    """Cut points of the file (in order) and, per chunk, whether the client re-sends it."""
    cuts = sorted(set(draw(st.lists(st.integers(1, len(PROPERTY_FILE) - 1), max_size=6))))
    bounds = [0, *cuts, len(PROPERTY_FILE)]
    chunks = list(itertools.pairwise(bounds))
    retries = draw(st.lists(st.booleans(), min_size=len(chunks), max_size=len(chunks)))
    return chunks, retries


@pytest.mark.requirement("R-REC-5")
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=chunkings())
async def test_any_chunking_with_retried_chunks_stores_the_same_bytes(tus, upload_settings, plan):
    chunks, retries = plan
    created = await tus.create(PROPERTY_FILE)
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    last = None
    for (start, end), retry in zip(chunks, retries, strict=True):
        last = await tus.patch(url, start, PROPERTY_FILE[start:end])
        assert last.status_code == 204, last.text
        if retry:  # the phone never saw the answer and sends the same chunk again
            again = await tus.patch(url, start, PROPERTY_FILE[start:end])
            assert again.status_code == 409
            assert (await tus.head(url)).headers.get("upload-offset", str(end)) == str(end)
    assert last is not None
    assert last.headers["upload-offset"] == str(len(PROPERTY_FILE))
    evidence_id = uuid.UUID(last.headers["fieldproof-evidence-id"])
    item = await EvidenceItem.select(EvidenceItem.sha256, EvidenceItem.size).where(EvidenceItem.id == evidence_id).first()
    assert item == {"sha256": hashlib.sha256(PROPERTY_FILE).hexdigest(), "size": len(PROPERTY_FILE)}
    assert await stored_bytes(upload_settings, item["sha256"]) == PROPERTY_FILE


async def _interrupted_body(data: bytes, *, after: int) -> AsyncIterator[bytes]:
    for start in range(0, after, 64 * KiB):
        yield data[start : min(after, start + 64 * KiB)]
    raise receiving.StreamInterrupted("client disconnected prematurely")


@pytest.mark.requirement("R-REC-5")
async def test_a_dropped_client_keeps_the_bytes_received(tus, upload_settings, officer):
    data = pdf_bytes(7 * MiB, seed=3)
    url = (await tus.create(data)).headers["location"]
    store = open_store(upload_settings)
    try:
        request = receiving.ChunkRequest(upload_id=upload_id(url), offset=0)
        got = 5 * MiB + 300 * KiB  # one full part + a tail piece survive the drop
        state = await receiving.append_chunk(
            principal=officer.principal,
            request=request,
            body=_interrupted_body(data, after=got),
            settings=upload_settings,
            store=store,
        )
    finally:
        await store.close()
    assert state.offset == got
    head = await tus.head(url)
    assert head.headers["upload-offset"] == str(got)
    assert (await row_of(url))["lock_token"] is None
    done = await tus.patch(url, got, data[got:])
    assert done.status_code == 204
    item = (
        await EvidenceItem.select(EvidenceItem.sha256)
        .where(EvidenceItem.id == uuid.UUID(done.headers["fieldproof-evidence-id"]))
        .first()
    )
    assert item is not None
    assert await stored_bytes(upload_settings, item["sha256"]) == data


async def test_a_dropped_client_with_a_checksum_keeps_nothing_of_that_chunk(tus, upload_settings, officer):
    data = pdf_bytes(64 * KiB, seed=4)
    url = (await tus.create(data)).headers["location"]
    store = open_store(upload_settings)
    try:
        request = receiving.ChunkRequest(upload_id=upload_id(url), offset=0, checksum=("sha1", hashlib.sha1(data).digest()))  # noqa: S324
        with pytest.raises(receiving.StreamInterrupted):
            await receiving.append_chunk(
                principal=officer.principal,
                request=request,
                body=_interrupted_body(data, after=KiB),
                settings=upload_settings,
                store=store,
            )
    finally:
        await store.close()
    assert (await tus.head(url)).headers["upload-offset"] == "0"


@pytest.mark.requirement("R-REC-5")
@pytest.mark.parametrize("declared_right", [True, False])
async def test_lost_hash_state_of_a_staged_upload_is_rederived_by_one_reread(tus, declared_right, monkeypatch):
    # Without a resumable hash (no libcrypto), uploads are staged under staging/ and re-read once.
    monkeypatch.setattr(hashstate, "resumable", lambda: False)
    data = pdf_bytes(6 * MiB, seed=5)
    other = hashlib.sha256(b"not this file").hexdigest()
    created = await tus.create(data, **({} if declared_right else {"sha256": other}))
    url = created.headers["location"]
    assert (await row_of(url))["staging_key"] == staging_key(upload_id(url))
    assert (await tus.patch(url, 0, data[: 3 * MiB])).status_code == 204
    # A process that cannot read the saved state (another build, a restart without it).
    await Upload.update({Upload.hash_state: None}).where(Upload.id == upload_id(url))
    done = await tus.patch(url, 3 * MiB, data[3 * MiB :])
    if declared_right:
        assert done.status_code == 204
        assert "fieldproof-evidence-id" in done.headers
    else:
        assert done.status_code == 422
        assert await EvidenceItem.count().where(EvidenceItem.case_id == tus.case_id) == 0


@pytest.mark.requirement("R-REC-5")
async def test_lost_hash_state_at_the_content_key_restarts_the_upload_from_zero(tus, upload_settings):
    """Parts at the content key cannot be read back: unverifiable bytes are dropped, never sealed."""
    data = pdf_bytes(6 * MiB, seed=9)
    url = (await tus.create(data)).headers["location"]
    before = await row_of(url)
    assert before["staging_key"] == content_key(hashlib.sha256(data).hexdigest())
    assert (await tus.patch(url, 0, data[: 5 * MiB + 1])).status_code == 204
    await Upload.update({Upload.hash_state: None}).where(Upload.id == upload_id(url))
    refused = await tus.patch(url, 5 * MiB + 1, data[5 * MiB + 1 :])
    assert refused.status_code == 409
    assert (await tus.head(url)).headers["upload-offset"] == "0"
    store = open_store(upload_settings)
    try:
        assert before["multipart_id"] not in {item.upload_id for item in await store.list_incomplete_multipart()}
    finally:
        await store.close()
    done = await tus.patch(url, 0, data)
    assert done.status_code == 204
    assert await stored_bytes(upload_settings, hashlib.sha256(data).hexdigest()) == data


async def test_a_write_lock_held_elsewhere_refuses_with_423_until_it_lapses(tus):
    data = pdf_bytes(16 * KiB, seed=6)
    url = (await tus.create(data)).headers["location"]
    # Another API process is mid-PATCH: its lock lives in the shared database.
    await Upload.update({Upload.lock_token: "other-process", Upload.lock_expires_at: clock.now() + timedelta(seconds=60)}).where(
        Upload.id == upload_id(url)
    )
    refused = await tus.patch(url, 0, data)
    assert refused.status_code == 423
    assert refused.json()["type"] == "/problems/upload-locked"
    assert (await tus.client.delete(url, headers=tus.headers())).status_code == 423
    assert (await row_of(url))["offset"] == 0
    # That process died: its lease lapses and the upload goes on.
    await Upload.update({Upload.lock_expires_at: clock.now() - timedelta(seconds=1)}).where(Upload.id == upload_id(url))
    assert (await tus.patch(url, 0, data)).status_code == 204


async def test_sweeper_expires_uploads_and_aborts_orphans(tus, upload_settings):
    data = pdf_bytes(6 * MiB, seed=8)
    stale_url = (await tus.create(data)).headers["location"]
    assert (await tus.patch(stale_url, 0, data[: 5 * MiB + 10])).status_code == 204
    live_url = (await tus.create(data)).headers["location"]
    assert (await tus.patch(live_url, 0, data[: 5 * MiB + 10])).status_code == 204
    stale, live = await row_of(stale_url), await row_of(live_url)
    await Upload.update({Upload.expires_at: clock.now() - timedelta(seconds=1)}).where(Upload.id == stale["id"])
    store = open_store(upload_settings)
    try:
        orphan_key = staging_key(uuid.uuid4())  # no row owns it (a crash before the insert, a reset DB)
        orphan = await store.create_multipart(orphan_key)
        report = await sweep_expired_uploads(store, settings=upload_settings)
        assert report.expired == 1
        assert report.orphans_aborted >= 1
        assert report.errors == []
        pending = {item.upload_id for item in await store.list_incomplete_multipart()}
        assert orphan not in pending
        assert stale["multipart_id"] not in pending
        assert live["multipart_id"] in pending
        stale_tail = [piece["key"] for piece in msgspec.json.decode(stale["tail"])]
        assert [await store.stat(key) for key in stale_tail] == [None] * len(stale_tail)
    finally:
        await store.close()
    swept = await row_of(stale_url)
    assert swept["status"] == "expired"
    assert swept["staged_cleaned_at"] is not None
    assert (await tus.head(stale_url)).status_code == 410
    assert (await tus.patch(live_url, 5 * MiB + 10, data[5 * MiB + 10 :])).status_code == 204


async def test_file_store_upload_is_one_staging_file_renamed_into_place(tus, upload_settings):
    """Files: every PATCH is appended (and fsynced) to one file, which becomes the evidence."""
    store = open_store(upload_settings)
    if not isinstance(store, FilesystemStore):
        await store.close()
        pytest.skip("file store only")
    data = pdf_bytes(7 * MiB + 3, seed=10)
    url = (await tus.create(data)).headers["location"]
    cuts = [0, 3 * MiB + 512 * KiB, 5 * MiB, len(data)]  # remainders ≥ 1 MiB become parts
    for start, end in itertools.pairwise(cuts[:-1]):
        assert (await tus.patch(url, start, data[start:end])).status_code == 204
        uploads = list((store.root / "multipart").iterdir())
        assert len(uploads) == 1
        assert (uploads[0] / "data").stat().st_size == end  # each PATCH durable in the one file
        assert msgspec.json.decode((await row_of(url))["tail"]) == []  # no tail pieces to copy again
    done = await tus.patch(url, cuts[-2], data[cuts[-2] :])
    assert done.status_code == 204
    path = store.root / "data" / content_key(hashlib.sha256(data).hexdigest())
    assert path.read_bytes() == data
    assert not path.stat().st_mode & 0o222  # read-only evidence
    assert list((store.root / "multipart").iterdir()) == []
    assert not (store.root / "data" / "staging").exists() or not any(
        p.is_file() for p in (store.root / "data" / "staging").rglob("*")
    )
    await store.close()


@pytest.mark.requirement("R-REC-5", "R-REC-6")
async def test_s3_mismatch_leaves_no_version_at_the_content_key(tus, upload_settings):
    store = open_store(upload_settings)
    if not isinstance(store, S3Store):
        await store.close()
        pytest.skip("S3 only")
    data = pdf_bytes(6 * MiB, seed=11)
    declared = hashlib.sha256(data[:-1]).hexdigest()
    url = (await tus.create(data, sha256=declared)).headers["location"]
    assert (await row_of(url))["staging_key"] == content_key(declared)
    assert (await tus.patch(url, 0, data[: 5 * MiB])).status_code == 204
    assert (await tus.patch(url, 5 * MiB, data[5 * MiB :])).status_code == 422
    try:
        for key in (content_key(declared), content_key(hashlib.sha256(data).hexdigest())):
            assert list(store.client.list_objects(store.bucket, prefix=key, include_version=True)) == []
        assert list(store.client.list_objects(store.staging_bucket, recursive=True)) == []
        assert await store.list_incomplete_multipart() == []
    finally:
        await store.close()
