"""Card recovery (R-CERT-3): recovered (收回) → handed to the Justice Bureau → its disposition.

A suspension or revocation opens the task (certificates/history.py); the steps are recorded
here, each one in the certificate's history as well.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import IllegalTransition, NotFound
from backend.core.rows import fetch_one
from certificates import history, reading, schemas
from certificates.tables import CardRecovery

# step -> the task states it may follow
_CARD_STEPS = {"recovered": ("open",), "handed_over": ("open", "recovered"), "disposed": ("handed_over",)}


class _Task(msgspec.Struct, kw_only=True):
    state: str


async def record_card_step(
    *, principal: Principal, certificate_id: UUID, task_id: UUID, data: schemas.CardStepIn
) -> schemas.CertificateDetail:
    """Card recovered (收回) → handed to the Justice Bureau → the Bureau's final disposition."""
    row = await reading.managed_certificate(principal, certificate_id)
    if data.step == "disposed" and not principal.is_justice_bureau:
        # R-CERT-3: the Justice Bureau records the final disposition.
        raise NotFound(f"card-recovery task {task_id} not found")
    now = clock.now()
    async with write_transaction():
        query = CardRecovery.select(CardRecovery.state).where(
            (CardRecovery.id == task_id) & (CardRecovery.certificate == certificate_id)
        )
        task = await fetch_one(_Task, query)
        if task is None:
            raise NotFound(f"card-recovery task {task_id} not found")
        if task.state not in _CARD_STEPS[data.step]:
            raise IllegalTransition(f"the card is {task.state}; cannot record {data.step}", current_state=task.state)
        await CardRecovery.update(_card_updates(data, principal.user_id, now)).where(CardRecovery.id == task_id)
        change = history.change_by(principal, f"card_{data.step}", reason=data.note, details={"task_id": str(task_id)})
        await history.record(certificate_id, change, from_status=row.status, to_status=row.status)
    return await reading.get_certificate(principal=principal, certificate_id=certificate_id)


def _card_updates(data: schemas.CardStepIn, actor_id: UUID, now: datetime) -> dict[Any, Any]:
    updates: dict[Any, Any] = {CardRecovery.state: data.step}
    if data.step == "recovered":
        updates |= {CardRecovery.recovered_at: now, CardRecovery.recovered_by: actor_id}
    elif data.step == "handed_over":
        updates |= {CardRecovery.handed_over_at: now, CardRecovery.handed_over_by: actor_id}
    else:
        updates |= {CardRecovery.disposed_at: now, CardRecovery.disposed_by: actor_id, CardRecovery.disposition: data.note}
    return updates
