"""UploadPart with the body streamed while it still arrives (issue 16).

The minio client signs every payload over plain HTTP, so it needs the whole part in memory
and hashes it (a second SHA-256 next to ours) before the first byte leaves. Here the part is
sent as its bytes arrive: the request is signed with ``x-amz-content-sha256: UNSIGNED-PAYLOAD``
(SigV4 allows it on any connection; the headers and the query stay signed) and carries a
``Content-Length`` known in advance (a tus PATCH declares it). A body that fails or ends
short aborts the request, so no part is recorded (docs/PITFALLS.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterator
from urllib.parse import urlunsplit

import anyio.from_thread
from minio import Minio
from minio.error import S3Error
from minio.signer import sign_v4_s3
from minio.time import to_amz_date, utcnow
from urllib3 import HTTPHeaderDict

from evidence.hashing import StreamDigest

UNSIGNED = "UNSIGNED-PAYLOAD"


class ChunkReader:
    """A blocking file-like over an async iterator, for ``put_object(length=-1)`` in a thread.

    ``read(n)`` never returns more than ``n`` bytes (docs/PITFALLS.md: otherwise the
    client re-slices buffers and slows down tenfold) and hashes bytes as they pass (R-REC-5: hashed once).
    """

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self._eof = False
        self.digest = StreamDigest()
        self.source_error: BaseException | None = None

    async def _next(self) -> bytes | None:
        try:
            return await anext(self._chunks)
        except StopAsyncIteration:
            return None
        except BaseException as exc:
            self.source_error = exc
            raise

    def read(self, n: int = -1) -> bytes:
        while not self._eof and (n < 0 or len(self._buffer) < n):
            chunk = anyio.from_thread.run(self._next)
            if chunk is None:
                self._eof = True
                break
            self.digest.update(chunk)
            self._buffer += chunk
        size = len(self._buffer) if n < 0 else min(n, len(self._buffer))
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out


class _Body:
    """The batches of an async iterator, pulled from a worker thread (urllib3 sends them)."""

    def __init__(self, batches: AsyncIterable[list[bytes]]) -> None:
        self._batches: AsyncIterator[list[bytes]] = aiter(batches)
        self.source_error: BaseException | None = None
        self.sent = 0

    async def _next(self) -> list[bytes] | None:
        try:
            return await anext(self._batches)
        except StopAsyncIteration:
            return None
        except BaseException as exc:
            self.source_error = exc
            raise

    def __iter__(self) -> Iterator[bytes]:
        while (batch := anyio.from_thread.run(self._next)) is not None:
            for chunk in batch:
                self.sent += len(chunk)
                yield chunk


def upload_part_streaming(
    client: Minio, bucket: str, key: str, upload_id: str, part_number: int, batches: AsyncIterable[list[bytes]], size: int
) -> str:
    """Blocking (run it in a worker thread of the loop ``batches`` belongs to); returns the ETag."""
    region = client._get_region(bucket)
    url = client._base_url.build(
        method="PUT",
        region=region,
        bucket_name=bucket,
        object_name=key,
        query_params={"partNumber": str(part_number), "uploadId": upload_id},
    )
    date = utcnow()
    headers: dict[str, str | list[str] | tuple[str]] = {
        "Host": url.netloc,
        "User-Agent": client._user_agent,
        "Content-Length": str(size),
        "x-amz-content-sha256": UNSIGNED,
        "x-amz-date": to_amz_date(date),
    }
    credentials = client._provider.retrieve() if client._provider else None
    if credentials is not None:
        if credentials.session_token:
            headers["X-Amz-Security-Token"] = credentials.session_token
        headers = sign_v4_s3(
            method="PUT", url=url, region=region, headers=headers, credentials=credentials, content_sha256=UNSIGNED, date=date
        )
    body = _Body(batches)
    try:
        response = client._http.urlopen(
            "PUT",
            urlunsplit(url),
            body=iter(body),
            headers=HTTPHeaderDict({k: str(v) for k, v in headers.items()}),
            retries=False,  # a streamed body cannot be sent twice
            chunked=False,
            preload_content=True,
        )
    except BaseException:
        if body.source_error is not None:
            raise body.source_error from None  # the caller's stream failed, not S3
        raise
    if body.source_error is not None:
        raise body.source_error
    if response.status != 200:
        if response.data:
            raise S3Error.fromxml(response)
        raise S3Error(response, "UploadPartFailed", f"HTTP {response.status}", key, None, None, bucket, key)
    etag = response.headers.get("etag", "")
    return str(etag).strip('"')
