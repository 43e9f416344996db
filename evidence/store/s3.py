"""S3/MinIO object store on the ``minio`` client.

Two buckets: the evidence bucket is created with object lock (versioned, WORM) and only
ever receives verified bytes; ``staging/`` keys live in a separate plain bucket so partial
or unverified uploads never fall under COMPLIANCE retention (which cannot be removed:
docs/PITFALLS.md). Every blocking client call runs in a worker thread; streams move in fixed-size
parts so memory stays bounded whatever the object size.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast
from urllib.parse import urlparse

import anyio
import anyio.from_thread
import anyio.to_thread
import certifi
import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, REPLACE, CopySource
from minio.error import MinioException, S3Error
from minio.helpers import md5sum_hash
from minio.retention import Retention
from minio.xml import Element, SubElement, getbytes

from evidence.hashing import rechunk
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
    content_hex,
    is_staging,
)
from evidence.store.pending import abort_quietly
from evidence.store.s3_stream import ChunkReader, upload_part_streaming
from evidence.threads import own_pool

T = TypeVar("T")
_MISSING_CODES = {"NoSuchKey", "NoSuchObject", "NoSuchUpload", "ResourceNotFound"}
_EXISTS_CODES = {"PreconditionFailed"}
MIN_PART_SIZE = 5 * 1024 * 1024
# Uploads streaming at once from the loop's bytes (evidence/threads.py); more wait their turn.
FED_BY_LOOP_THREADS = 64


class S3Store:
    min_part_size = MIN_PART_SIZE
    parallel_parts = 3  # S3 accepts parts in any order; three in flight keep the link busy
    stream_part_size: int | None = None  # settings.s3_part_size

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        staging_bucket: str,
        region: str = "us-east-1",
        part_size: int = 8 * 1024 * 1024,
    ) -> None:
        parsed = urlparse(endpoint)
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=10, read=120),
            maxsize=32,  # as many as the worker-thread limit, so no connection is discarded
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        )
        self.client = Minio(
            parsed.netloc,
            access_key=access_key,
            secret_key=secret_key,
            secure=parsed.scheme == "https",
            region=region,
            http_client=http,
        )
        self.bucket = bucket
        self.staging_bucket = staging_bucket
        self.part_size = part_size
        self._ready = False
        self._ready_lock = asyncio.Lock()

    # --- plumbing ---------------------------------------------------------------------------

    def _bucket(self, key: str) -> str:
        return self.staging_bucket if is_staging(check_key(key)) else self.bucket

    async def _call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        await self._ensure_buckets()
        return await self._thread(func, *args, **kwargs)

    @staticmethod
    async def _thread(func: Callable[..., T], *args: Any, _fed_by_loop: bool = False, **kwargs: Any) -> T:
        # A call whose body the event loop feeds while it runs waits on the loop: it takes its
        # thread from a pool of its own, never the default one the loop's work needs.
        limiter = own_pool("s3-fed-by-loop", FED_BY_LOOP_THREADS) if _fed_by_loop else None
        try:
            return await anyio.to_thread.run_sync(lambda: func(*args, **kwargs), limiter=limiter)
        except S3Error as exc:
            if exc.code in _MISSING_CODES:
                raise ObjectMissingError(f"{exc.code}: {exc.object_name or exc.bucket_name}") from exc
            if exc.code in _EXISTS_CODES:
                raise ObjectExistsError(f"{exc.code}: {exc.object_name or exc.bucket_name}") from exc
            raise StoreError(f"S3 error {exc.code}: {exc.message}") from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreError(f"S3 unreachable: {type(exc).__name__}: {exc}") from exc

    async def _ensure_buckets(self) -> None:
        if self._ready:
            return
        async with self._ready_lock:
            if self._ready:
                return
            await self._thread(self._make_bucket, self.bucket, True)
            await self._thread(self._make_bucket, self.staging_bucket, False)
            self._ready = True

    def _make_bucket(self, name: str, object_lock: bool) -> None:
        if self.client.bucket_exists(name):
            return
        try:
            self.client.make_bucket(name, object_lock=object_lock)
        except S3Error as exc:
            if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise

    # --- streaming in -----------------------------------------------------------------------

    async def put_stream(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str = "application/octet-stream"
    ) -> ObjectInfo:
        bucket = self._bucket(key)
        if not is_staging(key) and await self.stat(key) is not None:
            raise ObjectExistsError(key)
        reader = ChunkReader(aiter(rechunk(chunks, CHUNK_SIZE)))

        def upload() -> Any:
            # One part buffered at a time (plus the client's parallel part uploads);
            # on any error the client aborts its multipart upload, so nothing is left.
            return self.client.put_object(
                bucket,
                key,
                cast(BinaryIO, reader),
                length=-1,
                part_size=self.part_size,
                content_type=content_type,
                num_parallel_uploads=3,
            )

        try:
            result = await self._call(upload, _fed_by_loop=True)  # ChunkReader waits on the loop
        except Exception:
            # The client aborts its multipart upload itself, but that abort may have failed
            # too (S3 unreachable): try again so no parts are left behind.
            await self._abort_uploads_of(bucket, key)
            if reader.source_error is not None:
                raise reader.source_error from None  # the caller's stream failed, not S3
            raise
        return ObjectInfo(
            key=key, size=reader.digest.size, content_type=content_type, etag=result.etag or "", sha256=reader.digest.hexdigest
        )

    async def _abort_uploads_of(self, bucket: str, key: str, attempts: int = 6) -> None:
        """Best effort, with backoff: abort every pending multipart upload of ``key``."""
        for attempt in range(attempts):
            try:
                result = await self._thread(self.client._list_multipart_uploads, bucket, prefix=key)
                for upload in result.uploads:
                    if upload.object_name == key and upload.upload_id:
                        await self._thread(self.client._abort_multipart_upload, bucket, key, upload.upload_id)
                return
            except (StoreError, ObjectMissingError):
                await anyio.sleep(0.1 * 2**attempt)
        # Still unreachable: list_incomplete_multipart() shows it to the sweeper.

    # --- reading ----------------------------------------------------------------------------

    async def stat(self, key: str) -> ObjectInfo | None:
        try:
            obj = await self._call(self.client.stat_object, self._bucket(key), key)
        except ObjectMissingError:
            return None
        headers = obj.metadata or {}
        until = headers.get("x-amz-object-lock-retain-until-date")
        return ObjectInfo(
            key=key,
            size=int(obj.size or 0),
            content_type=obj.content_type or "application/octet-stream",
            etag=obj.etag or "",
            sha256=headers.get("x-amz-meta-sha256"),
            retain_until=datetime.fromisoformat(until.replace("Z", "+00:00")) if until else None,
            legal_hold=str(headers.get("x-amz-object-lock-legal-hold", "")).upper() == "ON",
        )

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        if end is not None and end <= start:
            if await self.stat(key) is None:
                raise ObjectMissingError(key)
            return
        length = 0 if end is None else end - start
        response = await self._call(self.client.get_object, self._bucket(key), key, offset=start, length=length)
        try:
            stream = response.stream(CHUNK_SIZE)
            while True:
                block = await self._thread(next, stream, None)
                if block is None:
                    break
                yield block
        finally:
            response.close()
            response.release_conn()

    async def presigned_get(self, key: str, *, expires_s: int) -> str | None:
        # The client defaults to 7 days; always pass a short expiry (docs/PITFALLS.md).
        url: str = await self._call(
            self.client.presigned_get_object, self._bucket(key), key, expires=timedelta(seconds=expires_s)
        )
        return url

    # --- copying and deleting --------------------------------------------------------------

    async def copy(self, src: str, dst: str) -> ObjectInfo:
        source = await self.stat(src)
        if source is None:
            raise ObjectMissingError(src)
        if not is_staging(dst) and await self.stat(dst) is not None:
            raise ObjectExistsError(dst)
        metadata: dict[str, str] = {"Content-Type": source.content_type}
        if source.sha256:
            metadata["x-amz-meta-sha256"] = source.sha256
        # Server-side copy; the client switches to multipart copy above 5 GiB by itself.
        await self._call(
            self.client.copy_object,
            self._bucket(dst),
            dst,
            CopySource(self._bucket(src), src),
            metadata=metadata,
            metadata_directive=REPLACE,
        )
        info = await self.stat(dst)
        assert info is not None
        return info

    async def delete_staged(self, key: str) -> None:
        if not is_staging(check_key(key)):
            raise NotStagedError(key)
        try:
            await self._call(self.client.remove_object, self.staging_bucket, key)
        except ObjectMissingError:
            return

    # --- retention --------------------------------------------------------------------------

    async def set_retention(self, key: str, until: datetime) -> None:
        if await self.stat(key) is None:
            raise ObjectMissingError(key)
        retention = Retention(COMPLIANCE, until.astimezone(UTC).replace(tzinfo=None))
        await self._call(self.client.set_object_retention, self._bucket(key), key, retention)

    async def set_legal_hold(self, key: str, on: bool) -> None:
        if await self.stat(key) is None:
            raise ObjectMissingError(key)
        func = self.client.enable_object_legal_hold if on else self.client.disable_object_legal_hold
        await self._call(func, self._bucket(key), key)

    # --- multipart --------------------------------------------------------------------------

    async def create_multipart(self, key: str, *, content_type: str = "application/octet-stream") -> str:
        headers = {"Content-Type": content_type}
        declared = content_hex(check_multipart_key(key))
        if declared is not None:
            # Visible only if completed, which needs this very hash (check_completion).
            headers["x-amz-meta-sha256"] = declared
        upload_id: str = await self._call(self.client._create_multipart_upload, self._bucket(key), key, headers)
        return upload_id

    async def upload_part(self, key: str, upload_id: str, part_number: int, data: PartData) -> str:
        # S3 signs the payload over plain HTTP, so one part is held in memory (≤ the part size).
        if isinstance(data, Path):
            payload: bytes | bytearray = await anyio.to_thread.run_sync(data.read_bytes)
        elif isinstance(data, list):
            payload = b"".join(data)
        else:
            payload = data
        etag: str = await self._call(
            self.client._upload_part, self._bucket(key), key, cast(bytes, payload), None, upload_id, part_number
        )
        return etag

    async def stream_part(
        self, key: str, upload_id: str, part_number: int, batches: AsyncIterable[list[bytes]], *, size: int
    ) -> str:
        await self._ensure_buckets()
        return await self._thread(
            upload_part_streaming, self.client, self._bucket(key), key, upload_id, part_number, batches, size, _fed_by_loop=True
        )

    async def flush_multipart(self, key: str, upload_id: str) -> None:
        return None  # an acknowledged part is already durable on the server

    async def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[UploadedPart], *, sha256: str | None = None
    ) -> ObjectInfo:
        check_completion(key, sha256)
        bucket = self._bucket(key)
        evidence = content_hex(key) is not None
        if evidence and await self.stat(key) is not None:
            await abort_quietly(self, key, upload_id)
            raise ObjectExistsError(key)
        try:
            # If-None-Match: * makes the server refuse a second version of an existing key
            # (AWS, MinIO, moto); where ignored, the stat above narrows the race to identical bytes.
            await self._call(self._complete, bucket, key, upload_id, parts, evidence)
        except ObjectExistsError:
            await abort_quietly(self, key, upload_id)
            raise
        info = await self.stat(key)
        if info is None:
            raise StoreError(f"completed upload {upload_id} is not visible under {key}")
        return info

    def _complete(self, bucket: str, key: str, upload_id: str, parts: Sequence[UploadedPart], once: bool) -> None:
        """CompleteMultipartUpload (the client's own call takes no conditional header)."""
        element = Element("CompleteMultipartUpload")
        for part in parts:
            tag = SubElement(element, "Part")
            SubElement(tag, "PartNumber", str(part.part_number))
            SubElement(tag, "ETag", '"' + part.etag.strip('"') + '"')
        body = getbytes(element)
        headers: dict[str, str | list[str] | tuple[str]] = {
            "Content-Type": "application/xml",
            "Content-MD5": cast(str, md5sum_hash(body)),
        }
        if once:
            headers["If-None-Match"] = "*"
        self.client._execute("POST", bucket, key, body=body, headers=headers, query_params={"uploadId": upload_id})

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            await self._call(self.client._abort_multipart_upload, self._bucket(key), key, upload_id)
        except ObjectMissingError:
            return

    async def list_incomplete_multipart(self) -> list[IncompleteUpload]:
        found: list[IncompleteUpload] = []
        for bucket in (self.staging_bucket, self.bucket):
            key_marker: str | None = None
            upload_marker: str | None = None
            while True:
                result = await self._call(
                    self.client._list_multipart_uploads, bucket, key_marker=key_marker, upload_id_marker=upload_marker
                )
                for upload in result.uploads:
                    found.append(
                        IncompleteUpload(
                            key=upload.object_name, upload_id=upload.upload_id or "", initiated_at=upload.initiated_time
                        )
                    )
                if not result.is_truncated or not result.uploads:
                    break
                key_marker = result.uploads[-1].object_name
                upload_marker = result.uploads[-1].upload_id
        return found

    async def list_keys(self, prefix: str = "") -> list[str]:
        def scan(bucket: str) -> list[str]:
            found = self.client.list_objects(bucket, prefix=prefix or None, recursive=True)
            return [str(item.object_name) for item in found if not item.is_dir]

        keys = [key for bucket in (self.staging_bucket, self.bucket) for key in await self._call(scan, bucket)]
        return sorted(keys)

    async def check(self) -> None:
        await self._ensure_buckets()
        for bucket in (self.bucket, self.staging_bucket):
            if not await self._thread(self.client.bucket_exists, bucket):
                raise StoreError(f"bucket {bucket} is missing")

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self.client._http.clear)


__all__ = ["S3Store"]
