"""Idempotency-Key for phone writes (IETF httpapi draft).

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
from backend.core.errors import IdempotencyKeyReused, InvalidInput, ProblemError, RequestInProgress
from backend.core.http.authentication import authenticated, bearer_token
from backend.core.http.problems import send_problem
from backend.core.rows import fetch_one, json_text
from backend.core.tables import IdempotentRequest

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
MAX_BUFFERED_BODY = 1024 * 1024
MAX_STORED_RESPONSE = 256 * 1024
KEEP_FOR = timedelta(hours=48)
# Answers that say "try again" are not the request's outcome and are not replayed.
NOT_STORED = {401, 408, 409, 423, 429}
_FINGERPRINT_HEADERS = (b"content-type", b"content-length", b"x-", b"upload-")
KEY_FIELD = "Idempotency-Key"


class StoredRequest(msgspec.Struct, kw_only=True):
    """The row of a key already used: still running while ``status`` is 0."""

    fingerprint: str
    status: int = 0
    headers: str = "[]"
    body: str = ""


class _Captured(msgspec.Struct, kw_only=True):
    """The answer as it passes through, kept to be stored (body only up to MAX_STORED_RESPONSE)."""

    status: int = 500
    headers: list[tuple[str, str]] = msgspec.field(default_factory=list)
    body: list[bytes] = msgspec.field(default_factory=list)
    size: int = 0


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
            user = _user_of(scope, issuer, headers.get(b"authorization", b"").decode("latin-1"))
            if not key or user is None:
                await app(scope, receive, send)
                return
            await _handle(app, scope, receive, send, key=key, user=user)

        return middleware

    return middleware_factory


def _user_of(scope: Scope, issuer: TokenIssuer, authorization: str) -> str | None:
    # The authentication middleware runs first (backend/app.py) and has already verified the
    # token of every route that takes a principal: reuse it rather than verify it again.
    principal = authenticated(scope)
    if principal is not None:
        return str(principal.user_id)
    try:
        return str(issuer.verify(bearer_token(authorization)).user_id)
    except ProblemError:
        return None  # the route itself answers 401


async def _handle(app: ASGIApp, scope: Scope, receive: Receive, send: Send, *, key: str, user: str) -> None:
    if len(key) > 128:
        await send_problem(scope, send, InvalidInput("Idempotency-Key is longer than 128 characters", field=KEY_FIELD))
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
        await _answer_existing(scope, send, claimed, fingerprint)
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


async def _claim(scope_key: str, fingerprint: str) -> StoredRequest | None:
    """Insert an in-progress row, or return the existing one for this key."""
    await IdempotentRequest.delete().where(IdempotentRequest.created_at < clock.now() - KEEP_FOR)
    try:
        await IdempotentRequest.insert(
            IdempotentRequest(id=uuid.uuid4(), scope=scope_key, fingerprint=fingerprint, status=0, created_at=clock.now())
        )
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
        row = await fetch_one(StoredRequest, IdempotentRequest.select().where(IdempotentRequest.scope == scope_key))
        # Gone between the failed insert and this read (expired): treat it as still running.
        return row or StoredRequest(fingerprint=fingerprint)
    return None


async def _answer_existing(scope: Scope, send: Send, row: StoredRequest, fingerprint: str) -> None:
    if row.fingerprint != fingerprint:
        await send_problem(
            scope, send, IdempotencyKeyReused("this Idempotency-Key was used for a different request", field=KEY_FIELD)
        )
        return
    if row.status == 0:
        await send_problem(scope, send, RequestInProgress("the first request with this key is still running", field=KEY_FIELD))
        return
    stored = msgspec.json.decode(row.headers, type=list[tuple[str, str]])
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored]
    headers.append((b"idempotent-replayed", b"true"))
    await _send_raw(send, row.status, base64.b64decode(row.body), headers)


async def _run_and_store(app: ASGIApp, scope: Scope, receive: Receive, send: Send, scope_key: str) -> None:
    captured = _Captured()

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            captured.status = message["status"]
            captured.headers = [
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
            ]
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            captured.size += len(chunk)
            if captured.size <= MAX_STORED_RESPONSE:
                captured.body.append(chunk)
        await send(message)

    try:
        await app(scope, receive, capture)
    finally:
        status = captured.status
        if status >= 500 or status in NOT_STORED or captured.size > MAX_STORED_RESPONSE:
            await IdempotentRequest.delete().where(IdempotentRequest.scope == scope_key)
        else:
            await IdempotentRequest.update(
                {
                    IdempotentRequest.status: status,
                    IdempotentRequest.headers: json_text(captured.headers),
                    IdempotentRequest.body: base64.b64encode(b"".join(captured.body)).decode(),
                }
            ).where(IdempotentRequest.scope == scope_key)
