"""Direct evidence upload for small captures (photos, short audio), and reading a record.

The body is the raw file, streamed (never buffered whole); the capture's facts travel in
the query string so a phone can send any file with one plain POST. Larger files use the
resumable (tus) protocol under ``/api/mobile/v1/uploads``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import InternalServerException
from litestar.params import FromPath, FromQuery

from backend.core.access import declared
from backend.core.auth import Principal
from backend.core.errors import BadRequest, InvalidInput, NotFound
from backend.core.http.openapi import PHONE_WRITE, SIGNED_IN, WITH_INPUT, problems
from backend.core.settings import Settings
from backend.field.cases import CaseArchived, NotCheckedIn, authorize_capture
from backend.field.device_status import DeviceRevoked
from evidence import capture, records, rules
from evidence.errors import DisallowedMediaType, HashMismatch, StoreUnavailableError, UploadTooLarge
from evidence.schemas import CaptureAnswer, CaptureDeclaration, EvidenceKind, EvidenceOut
from evidence.store import ObjectStore

TAGS = ["mobile: evidence"]
# A case, action or record outside the caller's agency is 404.
CAPTURE = (*SIGNED_IN, *WITH_INPUT, NotFound)


class ClientDisconnectedError(BadRequest):
    slug = "client-disconnected"
    title = "The client went away before the body was complete"


async def _body(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    """The request body as it arrives; a vanished phone is a client error, not a 500."""
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except InternalServerException as exc:
        raise ClientDisconnectedError("the connection closed before the whole file arrived") from exc


def _declaration(values: dict[str, Any]) -> CaptureDeclaration:
    try:
        return msgspec.convert({k: v for k, v in values.items() if v is not None}, CaptureDeclaration, strict=False)
    except msgspec.ValidationError as exc:
        field = str(exc).rpartition("`$.")[2].rstrip("`") or None
        raise InvalidInput(str(exc), field=field) from None


@post(
    "/api/mobile/v1/evidence",
    summary="Upload a small capture (raw body, ≤ direct_upload_limit)",
    description=(
        "Send the file bytes as the body (any Content-Type; the type is sniffed from the bytes). "
        "The declared SHA-256 must match the bytes, or nothing is attached (R-REC-5). "
        "Identical bytes are stored once: the answer's status is `duplicate`."
    ),
    tags=TAGS,
    status_code=201,
    # The limit is a setting, so it is enforced in the service while streaming (and on
    # Content-Length up front) rather than by the framework's import-time limit.
    request_max_body_size=None,
    responses=problems(
        CAPTURE,
        PHONE_WRITE,
        CaseArchived,
        NotCheckedIn,
        DeviceRevoked,
        ClientDisconnectedError,
        UploadTooLarge,
        DisallowedMediaType,
        HashMismatch,
        StoreUnavailableError,
    ),
    opt=declared(rules.CAPTURE),
)
async def upload_evidence(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    store: NamedDependency[ObjectStore],
    settings: NamedDependency[Settings],
    case_id: FromQuery[UUID],
    kind: FromQuery[EvidenceKind],
    sha256: FromQuery[str],
    captured_at: FromQuery[datetime],
    device_id: FromQuery[str],
    action_id: FromQuery[UUID | None] = None,
    lat: FromQuery[float | None] = None,
    lon: FromQuery[float | None] = None,
    accuracy_m: FromQuery[float | None] = None,
    filename: FromQuery[str | None] = None,
    sent_at: FromQuery[datetime | None] = None,
) -> Response[CaptureAnswer]:
    declared = _declaration(
        {
            "sha256": sha256,
            "kind": kind,
            "captured_at": captured_at,
            "device_id": device_id,
            "lat": lat,
            "lon": lon,
            "accuracy_m": accuracy_m,
            "filename": filename,
            "device_sent_at": sent_at,
        }
    )
    context = await authorize_capture(principal=principal, case_id=case_id, action_id=action_id, device_id=device_id)
    length = request.content_length
    if length is not None and length > settings.direct_upload_limit:
        raise UploadTooLarge(
            f"{length} bytes is over the direct upload limit of {settings.direct_upload_limit}; use the resumable upload",
            limit=settings.direct_upload_limit,
        )
    result = await capture.receive_direct(
        store=store, chunks=_body(request), declared=declared, context=context, settings=settings, size=length
    )
    evidence = result.evidence
    answer = CaptureAnswer(
        status="duplicate" if result.duplicate else "created",
        evidence_id=evidence.id,
        sha256=evidence.sha256,
        size=evidence.size,
        media_type=evidence.media_type,
        object_key=evidence.object_key,
        received_at=evidence.received_at,
        clock_skew_flagged=evidence.clock_skew_flagged,
        existing=not result.created,
    )
    return Response(answer, status_code=201 if result.created else 200)


@get(
    "/api/mobile/v1/evidence/{evidence_id:uuid}",
    summary="One evidence record of the caller's agency",
    tags=TAGS,
    responses=problems(CAPTURE),
    opt=declared(rules.READ),
)
async def get_evidence(principal: NamedDependency[Principal], evidence_id: FromPath[UUID]) -> EvidenceOut:
    return await records.get_evidence(agency_id=principal.agency_id, evidence_id=evidence_id)


ROUTES: list[Any] = [upload_evidence, get_evidence]
