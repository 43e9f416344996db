"""What every step of a decision reads and records: the decision row (scoped to the
caller's agency), its current draft, the frozen check, and the append-only role log
(R-FAULT-3).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from piccolo.custom_types import Combinable

from backend.core import clock
from backend.core.access import Rule
from backend.core.auth import Principal
from backend.core.errors import Conflict, NotFound
from backend.core.rows import fetch_one
from backend.decisions import schemas
from backend.decisions.tables import Decision, DecisionRole, DecisionVersion
from backend.field.relations import case_for


class DecisionAlreadyIssued(Conflict):
    slug = "decision-already-issued"
    title = "The decision has been issued and can no longer change"


class DraftChanged(Conflict):
    slug = "draft-changed"
    title = "The draft has changed since the version you saw"


class CaseStageConflict(Conflict):
    slug = "case-stage-conflict"
    title = "The case is not in a stage that allows this"


class DecisionRow(msgspec.Struct, kw_only=True):
    """A decision's own columns, under the names ``schemas.DecisionOut`` gives them."""

    id: UUID
    case_id: UUID
    agency_id: UUID
    status: str
    version: int
    draft_sha256: str
    benchmark_id: UUID
    item_code: str
    tier_code: str
    major: bool
    major_matches: list[schemas.MajorMatch]
    fine_total_fen: int
    decision_no: str | None
    approver_id: UUID | None
    issued_at: datetime | None
    separation_warnings: list[str]
    disclosure: str
    restriction_kind: str
    restriction_reason: str
    created_at: datetime
    updated_at: datetime


DECISION_COLUMNS = (
    Decision.id,
    Decision.case_id,
    Decision.agency.as_alias("agency_id"),
    Decision.status,
    Decision.version,
    Decision.draft_sha256,
    Decision.benchmark.as_alias("benchmark_id"),
    Decision.item_code,
    Decision.tier_code,
    Decision.major,
    Decision.major_matches,
    Decision.fine_total_fen,
    Decision.decision_no,
    Decision.approver.as_alias("approver_id"),
    Decision.issued_at,
    Decision.separation_warnings,
    Decision.disclosure,
    Decision.restriction_kind,
    Decision.restriction_reason,
    Decision.created_at,
    Decision.updated_at,
)
# A stored version is the draft plus the ids it was hashed with (``discretion.draft_content``).
_HASHED_IDS = ("decision_id", "case_id")


class _Version(msgspec.Struct, kw_only=True):
    content: dict[str, Any]


async def decision_row(*, principal: Principal, decision_id: UUID, rule: Rule | None = None) -> DecisionRow:
    """The decision in the caller's agency; with ``rule``, only if the caller holds a part in
    its case that the rule admits (backend/decisions/rules.py)."""
    scope: Combinable = Decision.id == decision_id
    if rule is None or rule.writes:
        scope = scope & (Decision.agency == principal.agency_id)
    # A read by rule may cross agencies: case_for lets only the case's overseers through (ledgered).
    row = await fetch_one(DecisionRow, Decision.select(*DECISION_COLUMNS).where(scope))
    if row is None:
        raise NotFound(f"decision {decision_id} not found")
    if rule is not None:
        await case_for(principal=principal, case_id=row.case_id, rule=rule)
    return row


async def current_draft(row: DecisionRow) -> schemas.DraftIn:
    return await draft_at(row.id, row.version)


async def draft_at(decision_id: UUID, version_no: int) -> schemas.DraftIn:
    """The draft as it stood at one version (the notice names the version it told the party)."""
    query = DecisionVersion.select(DecisionVersion.content).where(
        (DecisionVersion.decision == decision_id) & (DecisionVersion.version == version_no)
    )
    version = await fetch_one(_Version, query)
    assert version is not None
    draft = {key: value for key, value in version.content.items() if key not in _HASHED_IDS}
    return msgspec.convert(draft, schemas.DraftIn)


def ensure_open(row: DecisionRow) -> None:
    if row.status == "issued":
        raise DecisionAlreadyIssued(f"decision {row.decision_no} has been issued and is frozen")


async def record_role(decision_id: UUID, user_id: UUID, role: str) -> None:
    """R-FAULT-3: role assignments are appended, never edited."""
    await DecisionRole.insert(
        DecisionRole(id=uuid.uuid4(), decision=decision_id, user=user_id, role=role, assigned_at=clock.now())
    )
