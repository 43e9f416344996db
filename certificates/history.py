"""The history of a certificate (R-CERT-2), kept twice on purpose.

``CertificateEvent`` is the certificate's own history, served with the certificate
(certificates/reading.py). The same facts also go into the custody hash chain (R-REC-7,
backend/ledger/service.py) so that a suspension or a revocation is in the chain a court
verifies, not only in a table anyone with write access could edit.
"""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.ledger.service import append_event
from certificates.tables import CardRecovery, CertificateEvent

# Ledger event names are past tense like every other area's ("certificate.suspended");
# card steps ("card_recovered", …) already are.
_LEDGER_EVENT = {"issue": "issued", "suspend": "suspended", "reinstate": "reinstated", "revoke": "revoked", "renew": "renewed"}


class Change(msgspec.Struct, kw_only=True):
    """What a change says about itself: who, why, under which document (R-CERT-2)."""

    action: str
    reason: str = ""
    rule_breached: str = ""
    document_ref: str = ""
    actor_id: UUID | None
    actor_agency_id: UUID | None
    details: dict[str, Any] = {}


def change_by(principal: Principal, action: str, **fields: Any) -> Change:
    return Change(action=action, actor_id=principal.user_id, actor_agency_id=principal.agency_id, **fields)


async def record(
    certificate_id: UUID, change: Change, *, from_status: str, to_status: str, card_recovered: bool | None = None
) -> None:
    """The only writer of the history: append, never update (R-CERT-2).

    ``card_recovered`` opens the card-recovery task this event starts (R-CERT-3). Call it
    inside the write transaction of the change, as its last statement: the ledger append
    comes last and holds the ledger lock until COMMIT.
    """
    seq = await CertificateEvent.count().where(CertificateEvent.certificate == certificate_id) + 1
    event_id = uuid.uuid4()
    await CertificateEvent.insert(
        CertificateEvent(
            id=event_id,
            certificate=certificate_id,
            seq=seq,
            action=change.action,
            from_status=from_status,
            to_status=to_status,
            reason=change.reason,
            rule_breached=change.rule_breached,
            document_ref=change.document_ref,
            actor=change.actor_id,
            actor_agency=change.actor_agency_id,
            details=change.details,
            at=clock.now(),
        )
    )
    if card_recovered is not None:
        await _open_card_task(certificate_id, event_id, recovered=card_recovered, change=change)
    await append_event(
        event=f"certificate.{_LEDGER_EVENT.get(change.action, change.action)}",
        actor_id=change.actor_id,
        agency_id=change.actor_agency_id,
        subject_type="certificate",
        subject_id=str(certificate_id),
        details={
            "seq": seq,
            "action": change.action,
            "from_status": from_status,
            "to_status": to_status,
            "reason": change.reason,
            "rule_breached": change.rule_breached,
            "document_ref": change.document_ref,
            "details": change.details,
        },
    )


async def _open_card_task(certificate_id: UUID, event_id: UUID, *, recovered: bool, change: Change) -> None:
    now = clock.now()
    await CardRecovery.insert(
        CardRecovery(
            id=uuid.uuid4(),
            certificate=certificate_id,
            opened_by_event=event_id,
            state="recovered" if recovered else "open",
            recovered_at=now if recovered else None,
            recovered_by=change.actor_id if recovered else None,
            opened_at=now,
        )
    )
