"""Retrieval of evidence by legal reviewers, supervisors and assigned officers (R-REC-8).

Every retrieval states a purpose and is appended to the ledger *before* bytes or a link
leave the server (R-REC-7): an access that is not in the ledger cannot have happened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import ClassVar
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import Conflict, NotFound
from backend.ledger.service import append_event
from evidence import records
from evidence.custody.ranges import content_range, if_range_allows, parse_range
from evidence.schemas import EvidenceOut
from evidence.store import ObjectStore

# Decides whether the principal is an assigned (active) officer of a case; supplied by the
# HTTP layer, which may ask the field-workflow area (evidence must not import it).
AssignmentCheck = Callable[[UUID], Awaitable[bool]]

MAX_LINK_TTL_S = 300
REVIEW_ROLES = ("supervisor", "legal_reviewer")


class PresignedLinkUnavailable(Conflict):
    slug = "presigned-link-unavailable"
    title: ClassVar[str] = "This object store cannot issue presigned links; stream the content instead"


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
    etag = etag_of(evidence)
    wanted = parse_range(range_header, evidence.size) if if_range_allows(if_range, etag) else None
    headers = {"ETag": etag, "Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    if wanted is None:
        await _log_access(
            principal=principal, evidence=evidence, event="evidence.downloaded", purpose=purpose, bytes=evidence.size
        )
        headers["Content-Length"] = str(evidence.size)
        return ContentStream(evidence=evidence, status=200, headers=headers, chunks=store.read(evidence.object_key))
    first, last = wanted
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
    return ContentStream(evidence=evidence, status=206, headers=headers, chunks=store.read(evidence.object_key, first, last + 1))


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
