"""ETag / If-None-Match on JSON reads, so a phone on a slow link re-downloads nothing unchanged.

Lists and checklists carry a validator; a repeated GET with the same
``If-None-Match`` answers 304 with no body. Streams (evidence content, exports) set their
own ETag or are not JSON and pass through untouched.

The validator is a hash of the identity (uncompressed) body. Litestar's compression runs
inside every app middleware, so this one sees gzip bytes, whose header carries the time:
hashing them gave a new ETag every second and never a 304 for answers over 1 KiB (issue 15,
defect 13). A gzipped body is therefore decompressed (at most MAX_BUFFERED) to be hashed; the
ETag is weak, so the gzip and identity forms of one answer share it.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Message, Receive, Scope, Send

MAX_BUFFERED = 1024 * 1024


def _matches(if_none_match: str, etag: str) -> bool:
    candidates = {c.strip().removeprefix("W/") for c in if_none_match.split(",")}
    return "*" in candidates or etag.removeprefix("W/") in candidates


def etag_middleware_factory(*, path_prefixes: tuple[str, ...]) -> Any:
    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            applies = scope["type"] == ScopeType.HTTP and scope.get("method") == "GET"
            if not applies or not scope["path"].startswith(path_prefixes):
                await app(scope, receive, send)
                return
            if_none_match = dict(scope["headers"]).get(b"if-none-match", b"").decode("latin-1")
            await app(scope, receive, _Validator(send, if_none_match).send)

        return middleware

    return factory


class _Validator:
    """Buffers a small 200 JSON answer, adds an ETag and turns a matching retry into 304."""

    def __init__(self, send: Send, if_none_match: str) -> None:
        self._send = send
        self._if_none_match = if_none_match
        self._start: HTTPResponseStartEvent | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        self._passthrough = False

    async def send(self, message: Message) -> None:
        if self._passthrough:
            await self._send(message)
        elif message["type"] == "http.response.start":
            await self._on_start(message)
        elif message["type"] == "http.response.body":
            await self._on_body(message)
        else:
            await self._send(message)

    async def _on_start(self, message: HTTPResponseStartEvent) -> None:
        headers = {k.lower(): v for k, v in message.get("headers", [])}
        json_answer = headers.get(b"content-type", b"").startswith(b"application/json")
        if message["status"] != 200 or not json_answer or b"etag" in headers:
            self._passthrough = True
            await self._send(message)
            return
        self._start = message

    async def _on_body(self, message: HTTPResponseBodyEvent) -> None:
        chunk: bytes = message.get("body", b"")
        self._chunks.append(chunk)
        self._size += len(chunk)
        if self._size > MAX_BUFFERED:
            await self._flush(etag=None, more_body=bool(message.get("more_body", False)))
            return
        if not message.get("more_body", False):
            identity = self._identity(b"".join(self._chunks))
            etag = None if identity is None else f'W/"{hashlib.sha256(identity).hexdigest()[:32]}"'
            await self._flush(etag=etag, more_body=False)

    def _identity(self, body: bytes) -> bytes | None:
        """The body before Content-Encoding; None (no ETag) for an encoding we cannot undo."""
        assert self._start is not None
        encoding = {k.lower(): v for k, v in self._start.get("headers", [])}.get(b"content-encoding", b"identity")
        if encoding.strip().lower() == b"identity":
            return body
        if encoding.strip().lower() != b"gzip":
            return None
        try:
            return gzip.decompress(body)
        except (OSError, EOFError, zlib.error):
            return None

    async def _flush(self, *, etag: str | None, more_body: bool) -> None:
        assert self._start is not None
        start = self._start
        body = b"".join(self._chunks)
        headers = [(k, v) for k, v in start.get("headers", []) if etag is None or k.lower() != b"content-length"]
        if etag is not None:
            headers += [(b"etag", etag.encode()), (b"cache-control", b"private, no-cache")]
            if self._if_none_match and _matches(self._if_none_match, etag):
                headers = [(k, v) for k, v in headers if k.lower() not in {b"content-type", b"content-length"}]
                await self._send({"type": "http.response.start", "status": 304, "headers": headers})
                await self._send({"type": "http.response.body", "body": b"", "more_body": False})
                self._passthrough = True
                return
            headers.append((b"content-length", str(len(body)).encode()))
        await self._send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await self._send({"type": "http.response.body", "body": body, "more_body": more_body})
        self._passthrough = True
