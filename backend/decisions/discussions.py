"""Collective discussion of a decision (R-RCS-2): nobody joins it without a declaration,
and its members count among those a passed legal review needs declared (R-RCS-5).
"""

from __future__ import annotations

import uuid
from uuid import UUID

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import NotFound
from backend.core.rows import fetch_all, fetch_one
from backend.decisions import case_facts, schemas
from backend.decisions.records import decision_row, ensure_open, record_role
from backend.decisions.rules import DISCUSS
from backend.decisions.tables import CollectiveDiscussion
from backend.ledger.service import append_case_event
from backend.org.tables import User

_DISCUSSION_COLUMNS = (
    CollectiveDiscussion.id,
    CollectiveDiscussion.decision.as_alias("decision_id"),
    CollectiveDiscussion.held_at,
    CollectiveDiscussion.participants.as_alias("participant_ids"),
    CollectiveDiscussion.minutes,
    CollectiveDiscussion.outcome,
    CollectiveDiscussion.recorded_at,
)


async def discussions(decision_id: UUID) -> list[schemas.DiscussionOut]:
    query = (
        CollectiveDiscussion.select(*_DISCUSSION_COLUMNS)
        .where(CollectiveDiscussion.decision == decision_id)
        .order_by(CollectiveDiscussion.held_at)
    )
    return await fetch_all(schemas.DiscussionOut, query)


async def member_ids(decision_id: UUID) -> set[UUID]:
    return {p for d in await discussions(decision_id) for p in d.participant_ids}


async def record_discussion(*, principal: Principal, decision_id: UUID, data: schemas.DiscussionIn) -> schemas.DiscussionOut:
    """R-RCS-2: nobody joins the collective discussion without a declaration."""
    row = await decision_row(principal=principal, decision_id=decision_id, rule=DISCUSS)
    ensure_open(row)
    participants = sorted(set(data.participant_ids))
    known = await User.count().where(User.id.is_in(participants) & (User.agency == principal.agency_id))
    if known != len(participants):
        raise NotFound("a participant is not a user of this agency", field="participant_ids")
    await case_facts.require_declared(case_id=row.case_id, user_ids=participants, as_what="collective discussion")
    discussion_id = uuid.uuid4()
    async with write_transaction():
        await CollectiveDiscussion.insert(
            CollectiveDiscussion(
                id=discussion_id, decision=decision_id, held_at=data.held_at, participants=[str(p) for p in participants],
                minutes=data.minutes, outcome=data.outcome, recorded_by=principal.user_id, recorded_at=clock.now(),
            )
        )  # fmt: skip
        for user_id in participants:
            await record_role(decision_id, user_id, "discussion_member")
        details = {"discussion_id": str(discussion_id), "participants": [str(p) for p in participants]}
        await append_case_event(
            principal=principal,
            event="decision.discussed",
            case_id=row.case_id,
            subject_type="decision",
            subject_id=decision_id,
            details=details,
        )
    query = CollectiveDiscussion.select(*_DISCUSSION_COLUMNS).where(CollectiveDiscussion.id == discussion_id)
    stored = await fetch_one(schemas.DiscussionOut, query)
    assert stored is not None
    return stored
