"""tus 1.0.0 resumable uploads for phones at ``/api/mobile/v1/uploads/`` (thin: rules live in
the ``evidence.uploads`` package).

tus headers are read from ``request.headers`` rather than ``FromHeader`` markers: the
protocol fixes the status of each malformed header (400, 412, 415), which generic
parameter validation would not give.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal, cast
from uuid import UUID

from litestar import Request, Response, delete, head, patch, post, route
from litestar.di import NamedDependency
from litestar.enums import HttpMethod, ScopeType
from litestar.exceptions import InternalServerException
from litestar.params import FromPath, HeaderParameter
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.core import clock
from backend.core.access import PUBLIC, declared
from backend.core.auth import Principal
from backend.core.errors import NotFound, ProblemError, RequestNotValid
from backend.core.http.authentication import PROBLEM_HEADERS
from backend.core.http.openapi import PHONE_WRITE, SIGNED_IN, WITH_INPUT, problems
from backend.core.http.problems import send_problem
from backend.core.settings import Settings
from backend.field.cases import CaseArchived, NotCheckedIn, authorize_capture
from backend.field.device_status import DeviceRevoked, ensure_not_revoked
from evidence import rules
from evidence.errors import DisallowedMediaType, HashMismatch, StoreUnavailableError
from evidence.store import ObjectStore
from evidence.uploads import creation, finishing, protocol, receiving
from evidence.uploads.errors import (
    ChecksumAlgorithmUnsupported,
    ChecksumMismatch,
    ChunkTooLarge,
    HashStateUnavailable,
    InvalidTusHeader,
    InvalidUploadMetadata,
    MethodOverrideInvalid,
    NotOffsetOctetStream,
    OffsetMismatch,
    OpenUploadLimit,
    StagingQuotaExceeded,
    TusVersionUnsupported,
    UploadFinished,
    UploadGone,
    UploadLengthExceeded,
    UploadLocked,
    UploadNotFound,
    UploadTooLarge,
    UserUploadQuotaExceeded,
)
from evidence.uploads.locks import lease_left_s
from evidence.uploads.schemas import UploadDeclaration, UploadState, declaration_from_metadata
from evidence.uploads.state import get_upload

COLLECTION = "/api/mobile/v1/uploads"
ITEM = COLLECTION + "/{upload_id:uuid}"
TAGS = ["uploads (tus)"]
# Upload-Lock-Expires (HEAD) and Retry-After (423) say when a held write lock lapses.
LOCK_EXPIRES = "Upload-Lock-Expires"
_EXPOSE = ", ".join((*protocol.EXPOSED_HEADERS, LOCK_EXPIRES, "Retry-After"))
_ALLOW_HEADERS = (
    "Authorization, Content-Type, Upload-Length, Upload-Offset, Upload-Metadata, Upload-Checksum, "
    "Upload-Defer-Length, Upload-Concat, Tus-Resumable, X-HTTP-Method-Override, X-Request-ID, Idempotency-Key"
)

# Problems in OpenAPI: every route but OPTIONS needs Tus-Resumable (412); the item routes name
# an upload of the caller (404, or 410 once expired or terminated).
TUS = (*SIGNED_IN, TusVersionUnsupported, RequestNotValid)  # Tus-Resumable: a documented header
UPLOAD = (*TUS, *WITH_INPUT, NotFound, UploadNotFound, UploadGone)
CHUNK = (
    NotOffsetOctetStream,
    InvalidTusHeader,
    ChecksumAlgorithmUnsupported,
    OffsetMismatch,
    UploadFinished,
    UploadLocked,
    ChunkTooLarge,
    UploadLengthExceeded,
    DisallowedMediaType,
    HashMismatch,
    ChecksumMismatch,
    HashStateUnavailable,
    StoreUnavailableError,
)
TERMINATE = (UploadFinished, UploadLocked)
# The chunk that completes an upload: a phone revoked since creation is refused then too.
FINISH = (DeviceRevoked,)


async def _device_still_allowed(declaration: UploadDeclaration) -> None:
    """Admission at completion: the device an admin revoked meanwhile hands over no evidence."""
    await ensure_not_revoked(declaration.device_id)


def _empty(status: int, headers: dict[str, str] | None = None) -> Response[None]:
    # tus answers carry headers only; b"" (not None, which is sent as "null") keeps the body empty.
    return cast("Response[None]", Response(b"", status_code=status, headers=headers))


def tus_headers_middleware(app: ASGIApp) -> ASGIApp:
    """Tus-Resumable on every request and answer but OPTIONS (412 + Tus-Version otherwise),
    and the headers a browser client must be allowed to read (CORS expose)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        is_options = scope["method"] == "OPTIONS"
        if not is_options:
            version = dict(scope["headers"]).get(b"tus-resumable")
            try:
                protocol.check_tus_resumable(None if version is None else version.decode("latin-1"))
            except ProblemError as exc:
                await _send_problem(scope, send, exc)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = _without_empty_body_type(list(message.get("headers", [])))
                headers.append((b"access-control-expose-headers", _EXPOSE.encode()))
                if not is_options:
                    headers.append((b"tus-resumable", protocol.TUS_VERSION.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def _without_empty_body_type(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """tus answers (201, 204, HEAD, a dropped PATCH's 400) have no body: Litestar still names
    one (application/json), which no tus answer carries (issue 15, defect 14)."""
    if (b"content-length", b"0") not in headers:
        return headers
    return [(k, v) for k, v in headers if k.lower() != b"content-type"]


async def _send_problem(scope: Scope, send: Send, exc: ProblemError) -> None:
    headers = [(b"tus-version", protocol.TUS_VERSION.encode()), (b"access-control-expose-headers", _EXPOSE.encode())]
    await send_problem(scope, send, exc, headers=headers)


def _upload_headers(state: UploadState, *, location: bool = False) -> dict[str, str]:
    headers = {"Upload-Offset": str(state.offset), "Upload-Expires": protocol.http_date(state.expires_at)}
    if location:
        headers["Location"] = f"{COLLECTION}/{state.id}"  # relative: proxies may rewrite the host
    if state.evidence_id is not None:
        headers["Fieldproof-Evidence-Id"] = str(state.evidence_id)
    return headers


async def _body(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    """The request body as it arrives; a dropped client becomes StreamInterrupted (docs/PITFALLS.md:
    the bytes received so far are kept, not lost with a 500)."""
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except InternalServerException as exc:
        raise receiving.StreamInterrupted(str(exc.detail)) from exc


def _chunk_request(request: Request[Any, Any, Any], upload_id: UUID, *, offset: int | None = None) -> receiving.ChunkRequest:
    if not protocol.is_offset_stream(request.headers.get("content-type")):
        raise NotOffsetOctetStream(f"send the body as {protocol.OFFSET_STREAM}", field="Content-Type")
    if offset is None:
        offset = protocol.parse_non_negative(request.headers.get("upload-offset"), header="Upload-Offset")
    length = request.headers.get("content-length")
    return receiving.ChunkRequest(
        upload_id=upload_id,
        offset=offset,
        content_length=protocol.parse_non_negative(length, header="Content-Length") if length is not None else None,
        checksum=protocol.parse_upload_checksum(request.headers.get("upload-checksum")),
    )


def _options_headers(settings: Settings) -> dict[str, str]:
    return {
        "Tus-Version": protocol.TUS_VERSION,
        "Tus-Extension": ",".join(protocol.TUS_EXTENSIONS),
        "Tus-Max-Size": str(settings.tus_max_size),
        "Tus-Checksum-Algorithm": ",".join(protocol.CHECKSUM_ALGORITHMS),
        "Access-Control-Allow-Methods": "OPTIONS, POST, HEAD, PATCH, DELETE",
        "Access-Control-Allow-Headers": _ALLOW_HEADERS,
        "Access-Control-Max-Age": "86400",
    }


# --- routes -------------------------------------------------------------------------------


@route(
    [COLLECTION, ITEM],
    http_method=[HttpMethod.OPTIONS],
    status_code=204,
    summary="tus capabilities (versions, extensions, maximum size, checksum algorithms)",
    tags=TAGS,
    middleware=[tus_headers_middleware],
    responses=problems(WITH_INPUT, NotFound),  # an upload id that is no UUID names no route
    opt=declared(PUBLIC),
)
async def tus_options(settings: NamedDependency[Settings]) -> Response[None]:
    return _empty(204, _options_headers(settings))


@post(
    COLLECTION,
    status_code=201,
    summary="Create an upload (tus creation, creation-with-upload)",
    description="Upload-Length and Upload-Metadata (filename, filetype, sha256, case_id, action_id, captured_at, device_id, "
    "lat, lon, accuracy_m; base64 values). A body sent as application/offset+octet-stream is the first chunk.",
    tags=TAGS,
    request_max_body_size=None,  # the service enforces settings.tus_chunk_limit while streaming
    middleware=[tus_headers_middleware],
    responses=problems(
        TUS,
        PHONE_WRITE,
        InvalidTusHeader,
        InvalidUploadMetadata,
        NotFound,
        CaseArchived,
        NotCheckedIn,
        DeviceRevoked,
        UploadTooLarge,
        OpenUploadLimit,
        UserUploadQuotaExceeded,
        StagingQuotaExceeded,
        StoreUnavailableError,
    ),
    opt=declared(rules.CAPTURE),
)
async def create_upload(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    settings: NamedDependency[Settings],
    store: NamedDependency[ObjectStore],
) -> Response[None]:
    length = protocol.parse_non_negative(request.headers.get("upload-length"), header="Upload-Length")
    declaration = declaration_from_metadata(protocol.parse_upload_metadata(request.headers.get("upload-metadata")))
    context = await authorize_capture(
        principal=principal, case_id=declaration.case_id, action_id=declaration.action_id, device_id=declaration.device_id
    )
    state = await creation.create_upload(
        principal=principal, length=length, declaration=declaration, context=context, settings=settings, store=store
    )
    if protocol.is_offset_stream(request.headers.get("content-type")):
        state = await _first_chunk(request, state, principal=principal, settings=settings, store=store)
    return _empty(201, _upload_headers(state, location=True))


async def _first_chunk(
    request: Request[Any, Any, Any], state: UploadState, *, principal: Principal, settings: Settings, store: ObjectStore
) -> UploadState:
    """creation-with-upload: a refused first chunk still leaves a created upload at offset 0;
    the client learns its offset from the 201 and PATCHes from there."""
    try:
        chunk = _chunk_request(request, state.id, offset=0)
        return await receiving.append_chunk(
            principal=principal,
            request=chunk,
            body=_body(request),
            settings=settings,
            store=store,
            admit=_device_still_allowed,
        )
    except (ProblemError, receiving.StreamInterrupted):
        return await get_upload(principal=principal, upload_id=state.id)


@head(
    ITEM,
    summary="Offset of an upload (tus core)",
    tags=TAGS,
    middleware=[tus_headers_middleware],
    responses=problems(UPLOAD),
    opt=declared(rules.OWN_UPLOAD),
)
async def upload_offset(principal: NamedDependency[Principal], upload_id: FromPath[UUID]) -> Response[None]:
    return await _head(principal, upload_id)


async def _head(principal: Principal, upload_id: UUID) -> Response[None]:
    state = await get_upload(principal=principal, upload_id=upload_id)
    headers = {**_upload_headers(state), "Upload-Length": str(state.length), "Cache-Control": "no-store"}
    if lease_left_s(state.lock_expires_at, clock.now()) is not None and state.lock_expires_at is not None:
        # Another request holds the write lock: a PATCH now gets 423 until this time.
        headers[LOCK_EXPIRES] = protocol.http_date(state.lock_expires_at)
    return _empty(200, headers)


@patch(
    ITEM,
    status_code=204,
    summary="Append bytes at Upload-Offset (tus core, checksum)",
    tags=TAGS,
    request_max_body_size=None,  # the service enforces settings.tus_chunk_limit while streaming
    middleware=[tus_headers_middleware],
    responses=problems(UPLOAD, PHONE_WRITE, CHUNK, FINISH),
    opt=declared(rules.OWN_UPLOAD),
)
async def append_chunk(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    settings: NamedDependency[Settings],
    store: NamedDependency[ObjectStore],
    upload_id: FromPath[UUID],
) -> Response[None]:
    return await _patch(request, principal=principal, settings=settings, store=store, upload_id=upload_id)


async def _patch(
    request: Request[Any, Any, Any], *, principal: Principal, settings: Settings, store: ObjectStore, upload_id: UUID
) -> Response[None]:
    chunk = _chunk_request(request, upload_id)
    try:
        state = await receiving.append_chunk(
            principal=principal,
            request=chunk,
            body=_body(request),
            settings=settings,
            store=store,
            admit=_device_still_allowed,
        )
    except receiving.StreamInterrupted:
        return _empty(400)  # nobody is listening; the checksummed chunk was discarded
    return _empty(204, _upload_headers(state))


@delete(
    ITEM,
    status_code=204,
    summary="Terminate an unfinished upload and delete its staged bytes (tus termination)",
    tags=TAGS,
    middleware=[tus_headers_middleware],
    responses=problems(UPLOAD, PHONE_WRITE, TERMINATE),
    opt=declared(rules.OWN_UPLOAD),
)
async def terminate_upload(
    principal: NamedDependency[Principal], store: NamedDependency[ObjectStore], upload_id: FromPath[UUID]
) -> None:
    await finishing.terminate_upload(principal=principal, upload_id=upload_id, store=store)


@post(
    ITEM,
    status_code=204,
    summary="X-HTTP-Method-Override: PATCH, DELETE or HEAD sent as POST",
    description="For clients behind proxies that only pass GET and POST; the request is authorised as the overridden method.",
    tags=TAGS,
    request_max_body_size=None,
    middleware=[tus_headers_middleware],
    responses=problems(UPLOAD, PHONE_WRITE, CHUNK, FINISH, TERMINATE, MethodOverrideInvalid),
    opt=declared(rules.OWN_UPLOAD),
)
async def method_override(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    settings: NamedDependency[Settings],
    store: NamedDependency[ObjectStore],
    upload_id: FromPath[UUID],
) -> Response[None]:
    override = request.headers.get("x-http-method-override", "").strip().upper()
    if override == "PATCH":
        return await _patch(request, principal=principal, settings=settings, store=store, upload_id=upload_id)
    if override == "DELETE":
        await finishing.terminate_upload(principal=principal, upload_id=upload_id, store=store)
        return _empty(204)
    if override == "HEAD":
        return await _head(principal, upload_id)
    raise MethodOverrideInvalid(
        f"X-HTTP-Method-Override {override[:16]!r} is not PATCH, DELETE or HEAD", field="X-HTTP-Method-Override"
    )


ROUTES: list[Any] = [tus_options, create_upload, upload_offset, append_chunk, terminate_upload, method_override]

# Every tus route but OPTIONS: Tus-Resumable is a documented, required header (the middleware
# refuses any other value with 412 before the route runs), and the 401 that authentication
# answers before that middleware carries it too, as every tus answer must.
for _handler in ROUTES[1:]:
    _handler.parameters = {
        "tus_resumable": HeaderParameter(
            annotation=Literal["1.0.0"], name="Tus-Resumable", required=True, description="The tus protocol version"
        )
    }
    _handler.opt[PROBLEM_HEADERS] = {"Tus-Resumable": protocol.TUS_VERSION}
