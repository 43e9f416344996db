"""Finding evidence (R-REC-8, issue 14 point 6): GET /api/v1/evidence by case, action, officer
and capture time, cursor-paged. Thin: the rule and the query are ``evidence.custody.search``;
reading the content of what is found stays GET /api/v1/evidence/{id}/content (purpose logged).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from backend.core.access import declared
from backend.core.auth import Principal
from backend.core.errors import Forbidden, InvalidInput
from backend.core.http.openapi import SIGNED_IN, WITH_INPUT, problems
from evidence.custody import rules as custody_rules
from evidence.custody import search
from evidence.schemas import EvidenceKind


@get(
    "/api/v1/evidence",
    summary="Find evidence by case, action, officer or capture time (R-REC-8)",
    description=(
        "Every filter is optional and they combine. `from` (inclusive) and `to` (exclusive) bound the "
        "capture time. Ordered by capture time, then id; pass `next_cursor` back as `cursor` for the next page."
    ),
    tags=["custody"],
    responses=problems((*SIGNED_IN, *WITH_INPUT, Forbidden, InvalidInput)),
    opt=declared(custody_rules.SEARCH),
)
async def find_evidence(
    principal: NamedDependency[Principal],
    case_id: Annotated[UUID | None, QueryParameter()] = None,
    action_id: Annotated[UUID | None, QueryParameter()] = None,
    officer_id: Annotated[UUID | None, QueryParameter(description="who captured it")] = None,
    kind: Annotated[EvidenceKind | None, QueryParameter()] = None,
    captured_from: Annotated[datetime | None, QueryParameter(name="from")] = None,
    captured_to: Annotated[datetime | None, QueryParameter(name="to")] = None,
    cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
) -> search.EvidencePage:
    query = search.EvidenceQuery(
        case_id=case_id,
        action_id=action_id,
        officer_id=officer_id,
        kind=kind,
        captured_from=captured_from,
        captured_to=captured_to,
        cursor=cursor,
        limit=limit,
    )
    return await search.search_evidence(principal=principal, query=query)


ROUTES: list[Any] = [find_evidence]
