"""One contract, two stores: the filesystem store and the S3 server over real HTTP (R-REC-6)."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from evidence.store import (
    FilesystemStore,
    NotStagedError,
    ObjectExistsError,
    ObjectMissingError,
    ObjectStore,
    S3Store,
    UnverifiedError,
    UploadedPart,
)
from tests.integration.evidence.helpers import chunks_of, read_all

MiB = 1024 * 1024


def payload(size: int, seed: int = 1) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB, not all one byte
    return (block * (size // len(block) + 1))[:size]


class Boom(Exception):
    pass


async def failing_after(data: bytes, fail_at: int) -> AsyncIterator[bytes]:
    sent = 0
    async for chunk in chunks_of(data, 256 * 1024):
        if sent >= fail_at:
            raise Boom("client went away")
        sent += len(chunk)
        yield chunk


async def test_put_stream_of_unknown_length_hashes_and_stores(store: ObjectStore) -> None:
    data = payload(11 * MiB + 123)  # more than one S3 part (8 MiB default)
    info = await store.put_stream("staging/a", chunks_of(data), content_type="video/mp4")
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    seen = await store.stat("staging/a")
    assert seen is not None
    assert seen.size == len(data)
    assert seen.content_type == "video/mp4"
    assert await read_all(store, "staging/a") == data


async def test_ranged_reads_stream_the_requested_bytes(store: ObjectStore) -> None:
    data = payload(3 * MiB + 7, seed=2)
    await store.put_stream("staging/r", chunks_of(data))
    assert await read_all(store, "staging/r", 0, 10) == data[:10]
    assert await read_all(store, "staging/r", 5) == data[5:]
    assert await read_all(store, "staging/r", len(data) - 3, len(data)) == data[-3:]
    assert await read_all(store, "staging/r", MiB - 1, 2 * MiB + 1) == data[MiB - 1 : 2 * MiB + 1]
    assert await read_all(store, "staging/r", 4, 4) == b""


async def test_missing_objects(store: ObjectStore) -> None:
    assert await store.stat("staging/none") is None
    with pytest.raises(ObjectMissingError):
        await read_all(store, "sha256/" + "0" * 64)
    with pytest.raises(ObjectMissingError):
        await store.copy("staging/none", "staging/other")


async def test_failing_stream_leaves_nothing_behind(store: ObjectStore) -> None:
    data = payload(20 * MiB, seed=3)
    with pytest.raises(Boom):
        await store.put_stream("staging/broken", failing_after(data, 17 * MiB))  # after two S3 parts
    assert await store.stat("staging/broken") is None
    assert [u for u in await store.list_incomplete_multipart() if u.key == "staging/broken"] == []


async def test_evidence_keys_are_written_once(store: ObjectStore) -> None:
    data = b"evidence bytes"
    key = "sha256/" + hashlib.sha256(data).hexdigest()
    await store.put_stream("staging/e", chunks_of(data))
    await store.copy("staging/e", key)
    with pytest.raises(ObjectExistsError):
        await store.copy("staging/e", key)
    with pytest.raises(ObjectExistsError):
        await store.put_stream(key, chunks_of(b"other bytes"))
    assert await read_all(store, key) == data


async def test_only_staged_objects_can_be_deleted(store: ObjectStore) -> None:
    data = b"keep me"
    key = "sha256/" + hashlib.sha256(data).hexdigest()
    await store.put_stream("staging/d", chunks_of(data))
    await store.copy("staging/d", key)
    with pytest.raises(NotStagedError):
        await store.delete_staged(key)
    await store.delete_staged("staging/d")
    await store.delete_staged("staging/d")  # already gone: not an error
    assert await store.stat("staging/d") is None
    assert await read_all(store, key) == data


@pytest.mark.requirement("R-REC-6")
async def test_retention_and_legal_hold_are_reported_by_stat(store: ObjectStore) -> None:
    data = b"hold me"
    key = "sha256/" + hashlib.sha256(data).hexdigest()
    await store.put_stream("staging/h", chunks_of(data))
    await store.copy("staging/h", key)
    until = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    await store.set_retention(key, until)
    await store.set_legal_hold(key, True)
    info = await store.stat(key)
    assert info is not None
    assert info.retain_until is not None
    assert abs((info.retain_until - until).total_seconds()) < 1
    assert info.legal_hold is True
    await store.set_legal_hold(key, False)
    info = await store.stat(key)
    assert info is not None
    assert info.legal_hold is False


async def test_multipart_upload_list_complete_and_abort(store: ObjectStore, tmp_path: Path) -> None:
    first, second = payload(5 * MiB, seed=4), payload(1000, seed=5)
    part_file = tmp_path / "part2"
    part_file.write_bytes(second)
    upload = await store.create_multipart("staging/mp")
    etag1 = await store.upload_part("staging/mp", upload, 1, first)
    etag2 = await store.upload_part("staging/mp", upload, 2, part_file)
    pending = await store.list_incomplete_multipart()
    assert ("staging/mp", upload) in {(u.key, u.upload_id) for u in pending}
    info = await store.complete_multipart(
        "staging/mp", upload, [UploadedPart(part_number=1, etag=etag1), UploadedPart(part_number=2, etag=etag2)]
    )
    assert info.size == len(first) + len(second)
    assert await read_all(store, "staging/mp") == first + second
    abandoned = await store.create_multipart("staging/gone")
    await store.upload_part("staging/gone", abandoned, 1, b"x" * 10)
    await store.abort_multipart("staging/gone", abandoned)
    assert abandoned not in {u.upload_id for u in await store.list_incomplete_multipart()}
    assert await store.stat("staging/gone") is None


async def test_multipart_goes_to_staging_or_content_keys_only(store: ObjectStore) -> None:
    with pytest.raises(NotStagedError):
        await store.create_multipart("derived/" + "1" * 64)
    with pytest.raises(NotStagedError):
        await store.create_multipart("sha256/not-a-digest")


@pytest.mark.requirement("R-REC-5", "R-REC-6")
async def test_content_key_multipart_is_invisible_until_completed_with_its_own_hash(store: ObjectStore) -> None:
    first, second = payload(5 * MiB, seed=6), payload(777, seed=7)
    sha = hashlib.sha256(first + second).hexdigest()
    key = "sha256/" + sha
    upload = await store.create_multipart(key, content_type="video/mp4")
    parts = [
        UploadedPart(part_number=1, etag=await store.upload_part(key, upload, 1, first)),
        UploadedPart(part_number=2, etag=await store.upload_part(key, upload, 2, second)),
    ]
    assert await store.stat(key) is None  # parts are never visible on their own
    with pytest.raises(UnverifiedError):
        await store.complete_multipart(key, upload, parts)
    with pytest.raises(UnverifiedError):
        await store.complete_multipart(key, upload, parts, sha256="0" * 64)
    assert await store.stat(key) is None
    info = await store.complete_multipart(key, upload, parts, sha256=sha)
    assert info.size == len(first) + len(second)
    assert await read_all(store, key) == first + second
    seen = await store.stat(key)
    assert seen is not None
    assert seen.sha256 == sha
    # A second upload of the same content never creates a second object (or version).
    again = await store.create_multipart(key)
    etag = await store.upload_part(key, again, 1, first + second)
    with pytest.raises(ObjectExistsError):
        await store.complete_multipart(key, again, [UploadedPart(part_number=1, etag=etag)], sha256=sha)
    assert again not in {u.upload_id for u in await store.list_incomplete_multipart()}
    if isinstance(store, S3Store):
        versions = list(store.client.list_objects(store.bucket, prefix=key, include_version=True))
        assert len(versions) == 1


async def test_presigned_get(store: ObjectStore) -> None:
    data = b"download me"
    await store.put_stream("staging/p", chunks_of(data))
    url = await store.presigned_get("staging/p", expires_s=60)
    if isinstance(store, FilesystemStore):
        assert url is None  # files are served through the API only
        return
    assert url is not None
    assert "X-Amz-Expires=60" in url  # moto does not check expiry (docs/PITFALLS.md); the URL must carry it
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 200
    assert response.content == data


async def test_store_is_ready(store: ObjectStore) -> None:
    await store.check()


@pytest.mark.requirement("R-REC-6")
async def test_finished_evidence_is_immutable_at_rest(store: ObjectStore) -> None:
    data = b"locked"
    key = "sha256/" + hashlib.sha256(data).hexdigest()
    await store.put_stream("staging/l", chunks_of(data))
    await store.copy("staging/l", key)
    if isinstance(store, FilesystemStore):
        path = store.root / "data" / key
        assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        if os.geteuid() != 0:  # root ignores file modes
            with pytest.raises(PermissionError):
                path.open("r+b")
        return
    assert isinstance(store, S3Store)
    await store.set_retention(key, datetime.now(UTC) + timedelta(days=1))
    stat_result = store.client.stat_object(store.bucket, key)
    from minio.error import S3Error

    # Deleting the version itself (not just adding a delete marker) is refused under retention.
    with pytest.raises(S3Error):
        store.client.remove_object(store.bucket, key, version_id=stat_result.version_id)
    assert await read_all(store, key) == data
    lock = store.client.get_object_lock_config(store.bucket)
    assert lock is not None


async def test_list_keys_names_visible_objects_only(store: ObjectStore) -> None:
    """``fieldproof reconcile`` compares these keys with the rows (issue 15)."""
    data = payload(1024, seed=7)
    key = "sha256/" + hashlib.sha256(data).hexdigest()
    await store.put_stream("staging/listed", chunks_of(data))
    await store.copy("staging/listed", key)
    pending = await store.create_multipart("staging/pending")
    assert await store.list_keys() == sorted([key, "staging/listed"])
    assert await store.list_keys("sha256/") == [key]
    assert await store.list_keys("staging/") == ["staging/listed"]
    await store.abort_multipart("staging/pending", pending)
