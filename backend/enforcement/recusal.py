"""Recusal (R-RCS): declarations before each action and recusal requests on a case."""

from __future__ import annotations

from uuid import UUID

from backend.enforcement.tables import RecusalDeclaration, RecusalRequest


async def blocked_reason(*, case_id: UUID, user_id: UUID) -> str:
    """Why this person may not act on the case (R-RCS-4), or '' when nothing blocks them."""
    conflict = (
        await RecusalDeclaration.select(RecusalDeclaration.ground)
        .where(
            (RecusalDeclaration.case == case_id) & (RecusalDeclaration.user == user_id) & (RecusalDeclaration.conflict == True)  # noqa: E712
        )
        .first()
    )
    if conflict is not None:
        return f"declared a conflict ({conflict['ground']})"
    requests = await RecusalRequest.select(RecusalRequest.status, RecusalRequest.ground).where(
        (RecusalRequest.case == case_id) & (RecusalRequest.target_user == user_id)
    )
    for request in requests:
        if request["status"] == "pending":
            return f"a recusal request ({request['ground']}) awaits decision"
        if request["status"] == "upheld":
            return f"recused by decision ({request['ground']})"
    return ""
