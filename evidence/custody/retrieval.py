"""Retrieval of evidence by legal reviewers, supervisors and assigned officers (R-REC-8).

Every retrieval states a purpose and is appended to the ledger *before* bytes or a link
leave the server (R-REC-7): an access that is not in the ledger cannot have happened.

The ETag of an answer is the recorded SHA-256, so bytes that no longer match it must never go
out under it (issue 15, defect 11). Once a hash check has found an object changed (the
re-hash runs, ``fieldproof verify-objects``, or a full read here), every retrieval and link is
refused with 409 ``evidence-bytes-changed``. A full read hashes what it streams: if the bytes
turn out not to match, the check is recorded as failed and the stream is broken off before
its last byte, so no client ever holds a complete answer carrying the recorded hash. A range
read cannot be checked without reading everything; it relies on the recorded checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import ClassVar
from uuid import UUID

import msgspec
import structlog

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import Conflict, NotFound
from backend.core.rows import fetch_one
from backend.ledger.service import append_event
from backend.ledger.tables import LedgerRow
from evidence import records
from evidence.custody.ranges import content_range, if_range_allows, parse_range
from evidence.errors import StoreUnavailableError
from evidence.schemas import EvidenceOut
from evidence.store import ObjectStore, StoreError

# Decides whether the principal is an assigned (active) officer of a case; supplied by the
# HTTP layer, which may ask the field-workflow area (evidence must not import it).
AssignmentCheck = Callable[[UUID], Awaitable[bool]]

MAX_LINK_TTL_S = 300
REVIEW_ROLES = ("supervisor", "legal_reviewer")


class PresignedLinkUnavailable(Conflict):
    slug = "presigned-link-unavailable"
    title: ClassVar[str] = "This object store cannot issue presigned links; stream the content instead"


class StoredBytesChanged(Conflict):
    """A hash check found the stored bytes no longer match the recorded SHA-256 (R-REC-8):
    the object is not served as that evidence. Its chain of custody shows the failed check."""

    slug = "evidence-bytes-changed"
    title: ClassVar[str] = "The stored bytes no longer match the recorded SHA-256"


class _HashCheck(msgspec.Struct, kw_only=True):
    recorded_at: datetime
    details: str  # canonical JSON as hashed


log = structlog.get_logger("fieldproof.retrieval")


class ContentStream(msgspec.Struct, frozen=True, kw_only=True):
    evidence: EvidenceOut
    status: int
    headers: dict[str, str]
    chunks: AsyncIterator[bytes]


class LinkOut(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    expires_at: datetime
    sha256: str
    size: int


async def authorize_retrieval(*, principal: Principal, evidence_id: UUID, is_assigned_officer: AssignmentCheck) -> EvidenceOut:
    """Reviewers and supervisors of the owning agency, or an assigned officer; else 404."""
    evidence = await records.get_evidence(agency_id=principal.agency_id, evidence_id=evidence_id)
    if principal.has(*REVIEW_ROLES):
        return evidence
    if principal.has("officer") and await is_assigned_officer(evidence.case_id):
        return evidence
    raise NotFound("no such evidence")


def etag_of(evidence: EvidenceOut) -> str:
    return f'"{evidence.sha256}"'


async def ensure_unchanged(evidence: EvidenceOut) -> None:
    """Refuse evidence whose latest hash check failed (the ledger's ``evidence.hash_checked``)."""
    query = (
        LedgerRow.select(LedgerRow.recorded_at, LedgerRow.details)
        .where(
            (LedgerRow.case_id == evidence.case_id)  # the (case_id, seq) index
            & (LedgerRow.subject_type == "evidence")
            & (LedgerRow.subject_id == str(evidence.id))
            & (LedgerRow.event == "evidence.hash_checked")
        )
        .order_by(LedgerRow.seq, ascending=False)
        .limit(1)
    )
    last = await fetch_one(_HashCheck, query)
    if last is not None and msgspec.json.decode(last.details).get("ok") is False:
        raise StoredBytesChanged(
            f"the stored bytes of evidence {evidence.id} no longer match the recorded SHA-256 "
            f"(hash check of {last.recorded_at.isoformat()})"
        )


async def _verified(evidence: EvidenceOut, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The object's bytes, hashed as they go; the last chunk is held back until the whole
    object matches its record, else the check is recorded as failed and the stream broken."""
    digest, size, held = hashlib.sha256(), 0, None
    async for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        if held is not None:
            yield held
        held = chunk
    actual = digest.hexdigest()
    if actual != evidence.sha256 or size != evidence.size:
        await append_event(
            event="evidence.hash_checked",
            actor_id=None,
            agency_id=evidence.agency_id,
            subject_type="evidence",
            subject_id=str(evidence.id),
            case_id=evidence.case_id,
            action_id=evidence.action_id,
            details={
                "ok": False,
                "problems": [
                    {
                        "location": evidence.object_key,
                        "expected_sha256": evidence.sha256,
                        "actual_sha256": actual,
                        "reason": "stored bytes no longer match the recorded SHA-256 (found while streaming)",
                    }
                ],
            },
        )
        log.error("evidence.bytes_changed", evidence_id=str(evidence.id), expected=evidence.sha256, actual=actual)
        raise StoredBytesChanged(f"the stored bytes of evidence {evidence.id} no longer match the recorded SHA-256")
    if held is not None:
        yield held


async def _opened(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The object opened before the answer starts (the store's GET is sent here): a store that
    is down answers 503 with Retry-After, not a 200 that breaks off after its headers (issue 15.6)."""
    try:
        first = await anext(chunks, None)
    except StoreError as exc:
        if type(exc) is not StoreError:  # a missing object is no outage
            raise
        raise StoreUnavailableError(f"the evidence store failed ({exc}); retry shortly") from exc

    async def rest() -> AsyncIterator[bytes]:
        if first is not None:
            yield first
        async for chunk in chunks:
            yield chunk

    return rest()


async def _log_access(*, principal: Principal, evidence: EvidenceOut, event: str, purpose: str, **details: object) -> None:
    await append_event(
        event=event,
        actor_id=principal.user_id,
        agency_id=evidence.agency_id,
        subject_type="evidence",
        subject_id=str(evidence.id),
        case_id=evidence.case_id,
        action_id=evidence.action_id,
        details={"purpose": purpose, "sha256": evidence.sha256, **details},
    )


async def open_content(
    *,
    store: ObjectStore,
    principal: Principal,
    evidence_id: UUID,
    purpose: str,
    range_header: str | None,
    if_range: str | None,
    is_assigned_officer: AssignmentCheck,
) -> ContentStream:
    """Plan a (possibly partial) streamed read; the ledger entry is committed first (R-REC-7)."""
    evidence = await authorize_retrieval(principal=principal, evidence_id=evidence_id, is_assigned_officer=is_assigned_officer)
    await ensure_unchanged(evidence)
    etag = etag_of(evidence)
    wanted = parse_range(range_header, evidence.size) if if_range_allows(if_range, etag) else None
    headers = {"ETag": etag, "Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    if wanted is None:
        chunks = _verified(evidence, await _opened(store.read(evidence.object_key)))
        await _log_access(
            principal=principal, evidence=evidence, event="evidence.downloaded", purpose=purpose, bytes=evidence.size
        )
        headers["Content-Length"] = str(evidence.size)
        return ContentStream(evidence=evidence, status=200, headers=headers, chunks=chunks)
    first, last = wanted
    part = await _opened(store.read(evidence.object_key, first, last + 1))
    await _log_access(
        principal=principal,
        evidence=evidence,
        event="evidence.range_read",
        purpose=purpose,
        range=[first, last],
        bytes=last - first + 1,
    )
    headers["Content-Range"] = content_range(first, last, evidence.size)
    headers["Content-Length"] = str(last - first + 1)
    return ContentStream(evidence=evidence, status=206, headers=headers, chunks=part)


async def issue_link(
    *,
    store: ObjectStore,
    principal: Principal,
    evidence_id: UUID,
    purpose: str,
    expires_s: int,
    is_assigned_officer: AssignmentCheck,
) -> LinkOut:
    """A presigned GET valid ≤ 5 minutes, for video players that cannot send our token."""
    evidence = await authorize_retrieval(principal=principal, evidence_id=evidence_id, is_assigned_officer=is_assigned_officer)
    await ensure_unchanged(evidence)
    expires_s = max(1, min(expires_s, MAX_LINK_TTL_S))
    expires_at = clock.now() + timedelta(seconds=expires_s)
    # One transaction: if the store cannot sign, the "link issued" entry is rolled back.
    async with write_transaction():
        await _log_access(
            principal=principal,
            evidence=evidence,
            event="evidence.link_issued",
            purpose=purpose,
            expires_at=expires_at.isoformat(),
        )
        url = await store.presigned_get(evidence.object_key, expires_s=expires_s)
        if url is None:
            raise PresignedLinkUnavailable("the file store has no presigned links; use GET /api/v1/evidence/{id}/content")
    return LinkOut(url=url, expires_at=expires_at, sha256=evidence.sha256, size=evidence.size)
