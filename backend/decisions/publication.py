"""Publication of results (R-DISC-9): issued decisions are open to public inspection unless
restricted with a reason; benchmarks are published through ``standards.py``.
"""

from __future__ import annotations

from uuid import UUID

from backend.core.rows import fetch_all
from backend.decisions import schemas
from backend.decisions.tables import Decision


async def public_decisions(*, agency_id: UUID, limit: int = 100) -> list[schemas.PublicDecision]:
    """R-DISC-9: issued results open to public inspection unless restricted with a reason."""
    query = (
        Decision.select(
            Decision.decision_no, Decision.issued_at, Decision.item_code, Decision.penalty_kinds, Decision.fine_total_fen
        )
        .where((Decision.agency == agency_id) & (Decision.status == "issued") & (Decision.disclosure == "public"))
        .order_by(Decision.issued_at, ascending=False)
        .limit(limit)
    )
    return await fetch_all(schemas.PublicDecision, query)
