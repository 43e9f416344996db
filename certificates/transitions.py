"""Status changes of a certificate (R-CERT-2/3/7): suspend, reinstate, revoke, renew.

Each change is one step of the state machine in certificates/lifecycle.py, applied with a
compare-and-set and recorded in the history (certificates/history.py) in the same write
transaction. ``suspend`` and ``suspend_holder`` are the entry points of the fault/sanction
path (R-CERT-7).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import Conflict, InvalidInput, NotFound
from certificates import history, issuing, lifecycle, reading, schemas
from certificates.history import Change
from certificates.tables import Certificate


async def _transition(
    certificate_id: UUID,
    action: lifecycle.Action,
    change: Change,
    *,
    updates: dict[Any, Any] | None = None,
    card: bool | None = None,
) -> None:
    """Apply one state-machine step atomically; ``card`` opens a card-recovery task (R-CERT-3)."""
    now = clock.now()
    async with write_transaction():
        rows = await reading.certificates(Certificate.id == certificate_id)
        if not rows:
            raise NotFound(f"certificate {certificate_id} not found")
        row = rows[0]
        current = reading.status(row, now)
        target = lifecycle.next_status(action=action, current=current)
        # Compare-and-set on the stored state: a concurrent change makes this one a conflict.
        changed = (
            await Certificate.update(
                {
                    Certificate.status: target,
                    Certificate.updated_at: now,
                    Certificate.version: row.version + 1,
                    **(updates or {}),
                }
            )
            .where((Certificate.id == certificate_id) & (Certificate.version == row.version))
            .returning(Certificate.id)
        )
        if not changed:
            raise Conflict("the certificate was changed concurrently; reload and retry")
        await history.record(certificate_id, change, from_status=current, to_status=target, card_recovered=card)


async def suspend(*, principal: Principal, certificate_id: UUID, data: schemas.SuspendIn) -> schemas.CertificateDetail:
    """暂扣 (R-CERT-2/3): verification fails from this moment; a card-recovery task opens."""
    await reading.managed_certificate(principal, certificate_id)
    if data.until is not None and data.until <= clock.now():
        raise InvalidInput("until must be in the future", field="until")
    change = history.change_by(
        principal,
        "suspend",
        reason=data.reason,
        rule_breached=data.rule_breached,
        document_ref=data.document_ref,
        details={"until": data.until.isoformat() if data.until else None, "card_recovered": data.card_recovered},
    )
    await _transition(
        certificate_id, "suspend", change, updates={Certificate.suspended_until: data.until}, card=data.card_recovered
    )
    return await reading.get_certificate(principal=principal, certificate_id=certificate_id)


async def suspend_holder(
    *,
    actor_id: UUID,
    actor_agency_id: UUID,
    holder_id: UUID,
    reason: str,
    rule_breached: str,
    document_ref: str,
    until: datetime | None,
    cancel: bool = False,
) -> list[UUID]:
    """R-CERT-7: a sanction "suspend enforcement work" (or "cancel qualification": ``cancel``)
    bars every check-in of the holder for its term (permanently when cancelled).

    For the fault/sanction path, which has already authorised the sanction decision named by
    ``document_ref``. Returns the certificates changed; terminal ones are left as they are.
    """
    action: lifecycle.Action = "revoke" if cancel else "suspend"
    changed: list[UUID] = []
    now = clock.now()
    for row in await reading.certificates(Certificate.holder == holder_id):
        if reading.status(row, now) not in lifecycle.TRANSITIONS[action][0]:
            continue
        change = Change(
            action=action,
            reason=reason,
            rule_breached=rule_breached,
            document_ref=document_ref,
            actor_id=actor_id,
            actor_agency_id=actor_agency_id,
            details={"until": until.isoformat() if until else None, "sanction": True},
        )
        updates = {} if cancel else {Certificate.suspended_until: until}
        await _transition(row.id, action, change, updates=updates, card=False)
        changed.append(row.id)
    return changed


async def reinstate(*, principal: Principal, certificate_id: UUID, data: schemas.ReinstateIn) -> schemas.CertificateDetail:
    await reading.managed_certificate(principal, certificate_id)
    change = history.change_by(principal, "reinstate", reason=data.reason, document_ref=data.document_ref)
    await _transition(certificate_id, "reinstate", change, updates={Certificate.suspended_until: None})
    return await reading.get_certificate(principal=principal, certificate_id=certificate_id)


async def revoke(*, principal: Principal, certificate_id: UUID, data: schemas.RevokeIn) -> schemas.CertificateDetail:
    """注销 (R-CERT-2/3): terminal; a card-recovery task opens."""
    await reading.managed_certificate(principal, certificate_id)
    change = history.change_by(
        principal,
        "revoke",
        reason=data.reason,
        rule_breached=data.rule_breached,
        document_ref=data.document_ref,
        details={"card_recovered": data.card_recovered},
    )
    await _transition(certificate_id, "revoke", change, card=data.card_recovered)
    return await reading.get_certificate(principal=principal, certificate_id=certificate_id)


async def renew(*, principal: Principal, certificate_id: UUID, data: schemas.RenewIn) -> schemas.CertificateDetail:
    """New validity for the same holder and number; an expired certificate becomes active again."""
    row = await reading.managed_certificate(principal, certificate_id)
    issuing.check_validity(data.valid_from, data.valid_until)
    updates: dict[Any, Any] = {Certificate.valid_from: data.valid_from, Certificate.valid_until: data.valid_until}
    if data.exam is not None:
        issuing.check_exam(data.exam)
        updates.update(issuing.exam_columns(data.exam))
    details = {
        "previous": {"valid_from": row.valid_from.isoformat(), "valid_until": row.valid_until.isoformat()},
        "valid_from": data.valid_from.isoformat(),
        "valid_until": data.valid_until.isoformat(),
        "exam_id": data.exam.exam_id if data.exam else None,
    }
    change = history.change_by(principal, "renew", reason=data.reason, document_ref=data.document_ref, details=details)
    await _transition(certificate_id, "renew", change, updates=updates)
    return await reading.get_certificate(principal=principal, certificate_id=certificate_id)
