"""Acts under an entrustment: only the kinds its authority names, within its term (R-AGY-5).

A case opened under an entrustment (``Case.entrustment``) already cites one of its matters
(R-AGY-3, at opening). Planning an action and checking in on it ask again, for the act at
hand: the entrustment's typed action kinds and its term at that moment (issue 14, found #4:
a township entrusted with land inspection only planned and checked in to a demolition).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from backend.core.errors import Forbidden
from backend.org import service as org_service


class DomainNotCovered(Forbidden):
    slug = "domain-not-covered"
    title = "The act is outside the entrustment's authority or term"


async def ensure_entrusted_act(*, entrustment_id: UUID | None, action_kind: str, at: datetime, field: str) -> None:
    """Refuse an act the case's entrustment does not cover; a case in the agency's own name passes."""
    if entrustment_id is None:
        return
    refusal = await org_service.entrusted_act_refusal(entrustment_id=entrustment_id, action_kind=action_kind, at=at)
    if refusal:
        raise DomainNotCovered(f"outside the entrustment (R-AGY-5): {refusal}", field=field, entrustment_id=str(entrustment_id))
