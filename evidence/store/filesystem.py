"""Embedded object store: files under one root (default ``var/objects``).

Writes go to a temporary file, are fsynced, then atomically renamed into place (the
directory is fsynced too) before the caller is told the object exists. Evidence files
(keys outside ``staging/``) are made read-only (R-REC-6); retention and legal hold are kept
in a sidecar because a plain filesystem has no object lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import stat as stat_mod
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import anyio.to_thread
import msgspec

from evidence.hashing import StreamDigest, rechunk
from evidence.store.base import (
    CHUNK_SIZE,
    IncompleteUpload,
    NotStagedError,
    ObjectExistsError,
    ObjectInfo,
    ObjectMissingError,
    PartData,
    StoreError,
    UploadedPart,
    check_completion,
    check_key,
    check_multipart_key,
    is_staging,
)
from evidence.store.journal import OpenPart, append_record, check_parts, new_etag, part_offset, read_journal, write_at

# One file, so small parts cost nothing extra; 1 MiB keeps the part list short.
MIN_PART_SIZE = 1024 * 1024
MAX_PARTS = 100_000


class _Sidecar(msgspec.Struct, kw_only=True):
    content_type: str = "application/octet-stream"
    sha256: str | None = None
    retain_until: datetime | None = None
    legal_hold: bool = False


class _Multipart(msgspec.Struct, kw_only=True):
    key: str
    content_type: str
    initiated_at: datetime


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(target: Path, tmp_dir: Path, data: bytes) -> None:
    tmp = tmp_dir / f"{secrets.token_hex(8)}.tmp"
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp.replace(target)
    _fsync_dir(target.parent)


class FilesystemStore:
    min_part_size = MIN_PART_SIZE
    parallel_parts = 1  # parts are appended in order to one file
    # Small parts: each is written while the next one arrives, and they cost no copy.
    stream_part_size: int | None = 2 * 1024 * 1024

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._data = self.root / "data"
        self._meta = self.root / "meta"
        self._tmp = self.root / "tmp"
        self._multipart = self.root / "multipart"
        for folder in (self._data, self._meta, self._tmp, self._multipart):
            folder.mkdir(parents=True, exist_ok=True)

    # --- paths and sidecars ---------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self._data / check_key(key)

    def _meta_path(self, key: str) -> Path:
        return self._meta / (check_key(key) + ".json")

    def _read_meta(self, key: str) -> _Sidecar:
        try:
            return msgspec.json.decode(self._meta_path(key).read_bytes(), type=_Sidecar)
        except FileNotFoundError:
            return _Sidecar()

    def _write_meta(self, key: str, meta: _Sidecar) -> None:
        _write_atomic(self._meta_path(key), self._tmp, msgspec.json.encode(meta))

    def _info(self, key: str) -> ObjectInfo | None:
        try:
            size = self._path(key).stat().st_size
        except FileNotFoundError:
            return None
        meta = self._read_meta(key)
        return ObjectInfo(
            key=key,
            size=size,
            content_type=meta.content_type,
            sha256=meta.sha256,
            retain_until=meta.retain_until,
            legal_hold=meta.legal_hold,
        )

    def _publish(self, tmp: Path, key: str, meta: _Sidecar) -> None:
        """Move a finished, fsynced temporary file to ``key`` (atomic; write-once for evidence)."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if is_staging(key):
            self._write_meta(key, meta)
            tmp.replace(target)
        else:
            tmp.chmod(stat_mod.S_IRUSR | stat_mod.S_IRGRP)  # read-only before anyone can see it
            try:
                # link() refuses an existing target atomically: evidence is never overwritten.
                os.link(tmp, target)
            except FileExistsError:
                # The existing object's sidecar (retention, legal hold) is left untouched.
                raise ObjectExistsError(key) from None
            finally:
                tmp.unlink(missing_ok=True)
            self._write_meta(key, meta)
        _fsync_dir(target.parent)

    # --- streaming in -----------------------------------------------------------------------

    async def put_stream(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str = "application/octet-stream"
    ) -> ObjectInfo:
        check_key(key)
        if not is_staging(key) and self._path(key).exists():
            raise ObjectExistsError(key)
        tmp = self._tmp / f"{secrets.token_hex(12)}.part"
        digest = StreamDigest()
        fh = await anyio.to_thread.run_sync(tmp.open, "wb")
        try:
            async for block in rechunk(chunks, CHUNK_SIZE):
                await anyio.to_thread.run_sync(_write_and_hash, fh, block, digest)
            await anyio.to_thread.run_sync(_flush_close, fh)
            meta = _Sidecar(content_type=content_type, sha256=digest.hexdigest)
            await anyio.to_thread.run_sync(self._publish, tmp, key, meta)
        except BaseException:
            fh.close()
            tmp.unlink(missing_ok=True)
            raise
        return ObjectInfo(key=key, size=digest.size, content_type=content_type, sha256=digest.hexdigest)

    # --- reading ----------------------------------------------------------------------------

    async def stat(self, key: str) -> ObjectInfo | None:
        return await anyio.to_thread.run_sync(self._info, key)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        try:
            fh = await anyio.to_thread.run_sync(self._path(key).open, "rb")
        except FileNotFoundError:
            raise ObjectMissingError(key) from None
        try:
            await anyio.to_thread.run_sync(fh.seek, start)
            remaining = None if end is None else max(0, end - start)
            while remaining is None or remaining > 0:
                want = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
                block = await anyio.to_thread.run_sync(fh.read, want)
                if not block:
                    break
                if remaining is not None:
                    remaining -= len(block)
                yield block
        finally:
            fh.close()

    async def presigned_get(self, key: str, *, expires_s: int) -> str | None:
        return None  # files are served through the API (and its custody events) only

    # --- copying and deleting --------------------------------------------------------------

    async def copy(self, src: str, dst: str) -> ObjectInfo:
        return await anyio.to_thread.run_sync(self._copy_sync, src, dst)

    def _copy_sync(self, src: str, dst: str) -> ObjectInfo:
        source = self._path(src)
        if not source.exists():
            raise ObjectMissingError(src)
        if not is_staging(dst) and self._path(dst).exists():
            raise ObjectExistsError(dst)
        tmp = self._tmp / f"{secrets.token_hex(12)}.copy"
        try:
            try:
                os.link(source, tmp)  # same inode: instant even for gigabytes; the source is sealed
            except OSError:
                shutil.copyfile(source, tmp)  # kernel-side copy, bounded memory
                with tmp.open("rb+") as fh:
                    os.fsync(fh.fileno())
            src_meta = self._read_meta(src)
            self._publish(tmp, dst, _Sidecar(content_type=src_meta.content_type, sha256=src_meta.sha256))
        finally:
            tmp.unlink(missing_ok=True)
        info = self._info(dst)
        assert info is not None
        return info

    async def delete_staged(self, key: str) -> None:
        if not is_staging(check_key(key)):
            raise NotStagedError(key)

        def remove() -> None:
            self._path(key).unlink(missing_ok=True)
            self._meta_path(key).unlink(missing_ok=True)

        await anyio.to_thread.run_sync(remove)

    # --- retention --------------------------------------------------------------------------

    async def set_retention(self, key: str, until: datetime) -> None:
        await anyio.to_thread.run_sync(self._update_lock, key, until, None)

    async def set_legal_hold(self, key: str, on: bool) -> None:
        await anyio.to_thread.run_sync(self._update_lock, key, None, on)

    def _update_lock(self, key: str, until: datetime | None, hold: bool | None) -> None:
        if not self._path(key).exists():
            raise ObjectMissingError(key)
        meta = self._read_meta(key)
        if until is not None:
            until = until.astimezone(UTC)
            # Like COMPLIANCE mode: retention can be extended, never shortened.
            if meta.retain_until is None or until > meta.retain_until:
                meta.retain_until = until
        if hold is not None:
            meta.legal_hold = hold
        self._write_meta(key, meta)

    # --- multipart --------------------------------------------------------------------------
    #
    # One upload is ONE data file, written once: part n is appended right after part n-1;
    # flush_multipart fsyncs the file, then the journal (tus acknowledges after it). A small journal of
    # fixed-size records (evidence.store.journal) says where each part lies;
    # completion checks the caller's parts against it, trims any discarded tail and renames
    # (links) the file into place. No concatenation and no re-hash: the caller hashed the
    # bytes while they streamed, and a content key is completed only with that hash.

    def _upload_dir(self, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise ObjectMissingError(f"upload {upload_id!r}")
        return self._multipart / upload_id

    def _load_upload(self, key: str, upload_id: str) -> _Multipart:
        try:
            info = msgspec.json.decode((self._upload_dir(upload_id) / "upload.json").read_bytes(), type=_Multipart)
        except FileNotFoundError:
            raise ObjectMissingError(f"upload {upload_id}") from None
        if info.key != key:
            raise ObjectMissingError(f"upload {upload_id} of {key}")
        return info

    async def create_multipart(self, key: str, *, content_type: str = "application/octet-stream") -> str:
        check_multipart_key(key)
        upload_id = secrets.token_hex(16)
        folder = self._upload_dir(upload_id)

        def create() -> None:
            folder.mkdir()
            (folder / "data").touch()
            (folder / "parts").touch()
            info = _Multipart(key=key, content_type=content_type, initiated_at=datetime.now(UTC))
            _write_atomic(folder / "upload.json", self._tmp, msgspec.json.encode(info))

        await anyio.to_thread.run_sync(create)
        return upload_id

    async def upload_part(self, key: str, upload_id: str, part_number: int, data: PartData) -> str:
        if not 1 <= part_number <= MAX_PARTS:
            raise ValueError(f"part number {part_number} outside 1..{MAX_PARTS}")
        return await anyio.to_thread.run_sync(self._upload_part_sync, key, upload_id, part_number, data)

    def _upload_part_sync(self, key: str, upload_id: str, part_number: int, data: PartData) -> str:
        self._load_upload(key, upload_id)
        folder = self._upload_dir(upload_id)
        etag = new_etag()
        with (folder / "data").open("r+b") as out, (folder / "parts").open("r+b") as journal:
            # One writer at a time per upload, even across processes: a writer whose lease
            # lapsed cannot interleave its bytes with the journal entry of another.
            fcntl.flock(journal.fileno(), fcntl.LOCK_EX)
            records = read_journal(journal)
            offset = part_offset(records, part_number)
            size = write_at(out, offset, data)
            append_record(journal, records, (part_number, offset, size, etag))
        return etag

    async def stream_part(
        self, key: str, upload_id: str, part_number: int, batches: AsyncIterable[list[bytes]], *, size: int
    ) -> str:
        if not 1 <= part_number <= MAX_PARTS:
            raise ValueError(f"part number {part_number} outside 1..{MAX_PARTS}")
        part = await anyio.to_thread.run_sync(self._open_part, key, upload_id, part_number)
        try:
            async for batch in batches:
                await anyio.to_thread.run_sync(part.write, batch, size)
            if part.written != size:
                raise StoreError(f"part {part_number} got {part.written} of {size} bytes")
            return await anyio.to_thread.run_sync(part.record)
        finally:
            await anyio.to_thread.run_sync(part.close)

    def _open_part(self, key: str, upload_id: str, part_number: int) -> OpenPart:
        self._load_upload(key, upload_id)
        return OpenPart.open(self._upload_dir(upload_id), part_number)

    async def flush_multipart(self, key: str, upload_id: str) -> None:
        def flush() -> None:
            self._load_upload(key, upload_id)
            folder = self._upload_dir(upload_id)
            # Data first: a journal entry that survives a crash always points at durable bytes.
            for name in ("data", "parts"):
                with (folder / name).open("rb") as fh:
                    os.fsync(fh.fileno())

        await anyio.to_thread.run_sync(flush)

    async def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[UploadedPart], *, sha256: str | None = None
    ) -> ObjectInfo:
        check_completion(key, sha256)
        return await anyio.to_thread.run_sync(self._complete_sync, key, upload_id, list(parts), sha256)

    def _complete_sync(self, key: str, upload_id: str, parts: list[UploadedPart], sha256: str | None) -> ObjectInfo:
        info = self._load_upload(key, upload_id)
        folder = self._upload_dir(upload_id)
        if not is_staging(key) and self._path(key).exists():
            shutil.rmtree(folder, ignore_errors=True)
            raise ObjectExistsError(key)
        with (folder / "parts").open("rb") as journal:
            latest = {number: (offset, size, etag) for number, offset, size, etag in read_journal(journal)}
        total = check_parts(parts, latest, min_part_size=MIN_PART_SIZE)
        data = folder / "data"
        with data.open("r+b") as fh:
            fh.truncate(total)  # bytes of discarded parts past the end
            os.fsync(fh.fileno())
        try:
            self._publish(data, key, _Sidecar(content_type=info.content_type, sha256=sha256))
        finally:  # published, or refused because an identical object won the race: gone either way
            shutil.rmtree(folder, ignore_errors=True)
        return ObjectInfo(key=key, size=total, content_type=info.content_type, sha256=sha256)

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        def abort() -> None:
            with contextlib.suppress(ObjectMissingError):
                self._load_upload(key, upload_id)
                shutil.rmtree(self._upload_dir(upload_id), ignore_errors=True)

        await anyio.to_thread.run_sync(abort)

    async def list_incomplete_multipart(self) -> list[IncompleteUpload]:
        def scan() -> list[IncompleteUpload]:
            found = []
            for folder in sorted(self._multipart.iterdir()):
                try:
                    info = msgspec.json.decode((folder / "upload.json").read_bytes(), type=_Multipart)
                except (FileNotFoundError, msgspec.DecodeError):
                    continue
                found.append(IncompleteUpload(key=info.key, upload_id=folder.name, initiated_at=info.initiated_at))
            return found

        return await anyio.to_thread.run_sync(scan)

    async def list_keys(self, prefix: str = "") -> list[str]:
        def scan() -> list[str]:
            keys = (path.relative_to(self._data).as_posix() for path in self._data.rglob("*") if path.is_file())
            return sorted(key for key in keys if key.startswith(prefix))

        return await anyio.to_thread.run_sync(scan)

    async def check(self) -> None:
        def probe() -> None:
            probe_file = self._tmp / f"ready-{secrets.token_hex(4)}"
            probe_file.write_bytes(b"ok")
            probe_file.unlink()

        try:
            await anyio.to_thread.run_sync(probe)
        except OSError as exc:
            raise StoreError(f"object directory not writable: {exc}") from exc

    async def close(self) -> None:
        return None


def _write_and_hash(fh: IO[bytes], block: bytes, digest: StreamDigest) -> None:
    fh.write(block)
    digest.update(block)


def _flush_close(fh: IO[bytes]) -> None:
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()


__all__ = ["FilesystemStore"]
