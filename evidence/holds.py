"""Legal hold on a stored evidence object (R-REC-6), ledgered (R-REC-7)."""

from __future__ import annotations

from uuid import UUID

from backend.ledger.service import append_event
from evidence.errors import StoreUnavailableError
from evidence.records import SUBJECT, get_evidence
from evidence.schemas import EvidenceOut
from evidence.store import ObjectStore, StoreError


async def set_legal_hold(
    *, store: ObjectStore, agency_id: UUID, evidence_id: UUID, actor_id: UUID, on: bool, reason: str
) -> EvidenceOut:
    """Place or release a legal hold on the stored object (R-REC-6); ledgered (R-REC-7)."""
    evidence = await get_evidence(agency_id=agency_id, evidence_id=evidence_id)
    try:
        await store.set_legal_hold(evidence.object_key, on)
    except StoreError as exc:
        raise StoreUnavailableError(str(exc)) from exc
    await append_event(
        event="evidence.held" if on else "evidence.released",
        actor_id=actor_id,
        agency_id=agency_id,
        subject_type=SUBJECT,
        subject_id=str(evidence.id),
        case_id=evidence.case_id,
        action_id=evidence.action_id,
        details={"object_key": evidence.object_key, "reason": reason},
    )
    return evidence
