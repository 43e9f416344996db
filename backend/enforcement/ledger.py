"""Field events go into the one custody ledger (R-REC-7); the case timeline is that ledger by case."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from backend.core.auth import Principal
from evidence.custody import service as custody


async def record(
    *,
    principal: Principal,
    event: str,
    case_id: UUID,
    action_id: UUID | None = None,
    subject_type: str | None = None,
    subject_id: UUID | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Append one field event; call it inside the write transaction of the change it records."""
    if subject_type is None:
        subject_type, subject_id = ("action", action_id) if action_id is not None else ("case", case_id)
    await custody.append_event(
        event=event,
        actor_id=principal.user_id,
        agency_id=principal.agency_id,
        subject_type=subject_type,
        subject_id=str(subject_id or case_id),
        case_id=case_id,
        action_id=action_id,
        details=details,
    )
