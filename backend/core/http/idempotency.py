"""Idempotency-Key for phone writes (IETF httpapi draft; DESIGN §3).

Phones retry after dropped connections. A mutating request carrying ``Idempotency-Key``
is answered once; a retry with the same key and the same request gets the stored first
answer and changes nothing; the same key with a different request is a 422 problem; a
retry while the first is still running is a 409 problem. Keys are scoped per user, and
the user comes from a verified access token, never from an unverified claim.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import timedelta
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.core import clock
from backend.core.auth import TokenIssuer
from backend.core.db import is_unique_violation
from backend.core.errors import ProblemError
from backend.core.tables import IdempotentRequest

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
MAX_BUFFERED_BODY = 1024 * 1024
MAX_STORED_RESPONSE = 256 * 1024
KEEP_FOR = timedelta(hours=48)
# Answers that say "try again" are not the request's outcome and are not replayed.
NOT_STORED = {401, 408, 409, 423, 429}
_FINGERPRINT_HEADERS = (b"content-type", b"content-length", b"x-", b"upload-")


def _problem(status: int, slug: str, title: str, detail: str) -> tuple[int, bytes]:
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail, "field": "Idempotency-Key"}
    return status, msgspec.json.encode(body)


async def _send_raw(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _buffer_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"", False
        chunk: bytes = message.get("body", b"")  # type: ignore[assignment]
        size += len(chunk)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > MAX_BUFFERED_BODY:
            return b"", False


def _fingerprint(scope: Scope, body: bytes | None) -> str:
    digest = hashlib.sha256()
    digest.update(f"{scope.get('method')} {scope['path']}?{scope.get('query_string', b'').decode('latin-1')}\n".encode())
    for name, value in sorted(scope["headers"]):
        if name.startswith(_FINGERPRINT_HEADERS) and name != b"x-request-id":
            digest.update(name + b":" + value + b"\n")
    # Large streamed bodies (direct evidence upload) are fingerprinted by their declared
    # hash and length headers; the evidence service verifies the bytes themselves.
    if body is not None:
        digest.update(body)
    return digest.hexdigest()


def idempotency_middleware_factory(issuer: TokenIssuer, *, path_prefix: str) -> Any:
    def middleware_factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            applies = scope["type"] == ScopeType.HTTP and scope.get("method") in MUTATING
            if not applies or not scope["path"].startswith(path_prefix):
                await app(scope, receive, send)
                return
            headers = dict(scope["headers"])
            key = headers.get(b"idempotency-key", b"").decode("latin-1").strip()
            user = _user_of(issuer, headers.get(b"authorization", b"").decode("latin-1"))
            if not key or user is None:
                await app(scope, receive, send)
                return
            await _handle(app, scope, receive, send, key=key, user=user)

        return middleware

    return middleware_factory


def _user_of(issuer: TokenIssuer, authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        return str(issuer.verify(token.strip()).user_id)
    except ProblemError:
        return None  # the route itself answers 401


async def _handle(app: ASGIApp, scope: Scope, receive: Receive, send: Send, *, key: str, user: str) -> None:
    json_headers = [(b"content-type", b"application/problem+json")]
    if len(key) > 128:
        status, body = _problem(422, "invalid-input", "Invalid input", "Idempotency-Key is longer than 128 characters")
        await _send_raw(send, status, body, json_headers)
        return
    declared = int(dict(scope["headers"]).get(b"content-length", b"-1") or -1)
    buffered: bytes | None = None
    downstream_receive = receive
    if 0 <= declared <= MAX_BUFFERED_BODY:
        buffered, complete = await _buffer_body(receive)
        if not complete:
            return
        downstream_receive = _replay(buffered)
    scope_key = f"{user}:{key}"
    fingerprint = _fingerprint(scope, buffered)
    claimed = await _claim(scope_key, fingerprint)
    if claimed is not None:
        await _answer_existing(send, claimed, fingerprint, json_headers)
        return
    await _run_and_store(app, scope, downstream_receive, send, scope_key)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _claim(scope_key: str, fingerprint: str) -> dict[str, Any] | None:
    """Insert an in-progress row, or return the existing one for this key."""
    await IdempotentRequest.delete().where(IdempotentRequest.created_at < clock.now() - KEEP_FOR)
    try:
        await IdempotentRequest.insert(
            IdempotentRequest(id=uuid.uuid4(), scope=scope_key, fingerprint=fingerprint, status=0, created_at=clock.now())
        )
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
        row: dict[str, Any] | None = await IdempotentRequest.select().where(IdempotentRequest.scope == scope_key).first()
        return row or {"fingerprint": fingerprint, "status": 0}
    return None


async def _answer_existing(send: Send, row: dict[str, Any], fingerprint: str, json_headers: list[tuple[bytes, bytes]]) -> None:
    if row["fingerprint"] != fingerprint:
        status, body = _problem(
            422, "idempotency-key-reused", "Idempotency-Key reused", "this Idempotency-Key was used for a different request"
        )
        await _send_raw(send, status, body, json_headers)
        return
    if row["status"] == 0:
        status, body = _problem(
            409, "request-in-progress", "Request in progress", "the first request with this key is still running"
        )
        await _send_raw(send, status, body, json_headers)
        return
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in msgspec.json.decode(row["headers"])]
    headers.append((b"idempotent-replayed", b"true"))
    await _send_raw(send, row["status"], base64.b64decode(row["body"]), headers)


async def _run_and_store(app: ASGIApp, scope: Scope, receive: Receive, send: Send, scope_key: str) -> None:
    captured: dict[str, Any] = {"status": 500, "headers": [], "body": [], "size": 0}

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            captured["status"] = message["status"]
            captured["headers"] = [
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
            ]
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            captured["size"] += len(chunk)
            if captured["size"] <= MAX_STORED_RESPONSE:
                captured["body"].append(chunk)
        await send(message)

    try:
        await app(scope, receive, capture)
    finally:
        status = int(captured["status"])
        if status >= 500 or status in NOT_STORED or captured["size"] > MAX_STORED_RESPONSE:
            await IdempotentRequest.delete().where(IdempotentRequest.scope == scope_key)
        else:
            await IdempotentRequest.update(
                {
                    IdempotentRequest.status: status,
                    IdempotentRequest.headers: msgspec.json.encode(captured["headers"]).decode(),
                    IdempotentRequest.body: base64.b64encode(b"".join(captured["body"])).decode(),
                }
            ).where(IdempotentRequest.scope == scope_key)
