"""A forced demolition needs an issued and served decision whose periods have run (issue 14,
found #7; 行政强制法 Art.44: the public notice and the party's own deadline first, and no
demolition while the party may still apply for reconsideration or sue).

The decisions room owns decisions; this room may not import it (docs/DEVELOPING.md). So the
facts a coercive act needs are written here, by the decisions room, when it records the
service of an issued decision (``record``); planning and the start gate read them from this
room's own table (``missing``). One direction, no port to wire at start-up, and the demo,
the CLI and the tests reach the rule exactly as the API does.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import unique_as
from backend.core.errors import Conflict
from backend.core.rows import fetch_all
from backend.field.tables import ExecutionBasis

# Acts that carry out a decision against the party's property (R-REC-2's demolition).
DECISION_BACKED_KINDS: frozenset[str] = frozenset({"forced_demolition"})


class ExecutionBasisMissing(Conflict):
    slug = "execution-basis-missing"
    title = "No issued and served decision whose periods have run stands behind this act"


class ServedDecision(msgspec.Struct, frozen=True, kw_only=True):
    """What the decisions room hands over when an issued decision's service is recorded."""

    case_id: UUID
    decision_id: UUID
    decision_no: str
    issued_at: datetime
    served_at: datetime
    service_method: str
    recipient: str
    proof_evidence_id: UUID
    announcement_ref: str
    compliance_deadline: datetime
    remedy_period_end: datetime


class _Basis(msgspec.Struct, kw_only=True):
    decision_no: str
    compliance_deadline: datetime
    remedy_period_end: datetime


async def record(*, principal: Principal, served: ServedDecision) -> None:
    """Store the facts (inside the decisions room's write transaction, before its ledger entry)."""
    with unique_as(f"the service of decision {served.decision_no} is already recorded", field="decision_id"):
        await _insert(principal, served)


async def _insert(principal: Principal, served: ServedDecision) -> None:
    await ExecutionBasis.insert(
        ExecutionBasis(
            id=uuid.uuid4(),
            case=served.case_id,
            decision_id=served.decision_id,
            decision_no=served.decision_no,
            issued_at=served.issued_at,
            served_at=served.served_at,
            service_method=served.service_method,
            recipient=served.recipient,
            proof_evidence_id=served.proof_evidence_id,
            announcement_ref=served.announcement_ref,
            compliance_deadline=served.compliance_deadline,
            remedy_period_end=served.remedy_period_end,
            recorded_by=principal.user_id,
            recorded_at=clock.now(),
        )
    )


async def missing(*, case_id: UUID, kind: str, at: datetime) -> list[dict[str, Any]]:
    """Why an act of ``kind`` at ``at`` has no decision behind it yet ([] when it has)."""
    if kind not in DECISION_BACKED_KINDS:
        return []
    bases = await fetch_all(
        _Basis,
        ExecutionBasis.select(ExecutionBasis.decision_no, ExecutionBasis.compliance_deadline, ExecutionBasis.remedy_period_end)
        .where(ExecutionBasis.case == case_id)
        .order_by(ExecutionBasis.served_at),
    )
    if not bases:
        return [{"code": "decision_served", "detail": "no issued decision of this case has its service recorded"}]
    found: list[dict[str, Any]] = []
    for basis in bases:
        waiting: list[dict[str, Any]] = []
        if at <= basis.compliance_deadline:
            waiting.append(
                {
                    "code": "compliance_period",
                    "decision_no": basis.decision_no,
                    "until": basis.compliance_deadline.isoformat(),
                    "detail": f"the party's own deadline under {basis.decision_no} has not passed",
                }
            )
        if at <= basis.remedy_period_end:
            waiting.append(
                {
                    "code": "remedy_period",
                    "decision_no": basis.decision_no,
                    "until": basis.remedy_period_end.isoformat(),
                    "detail": f"reconsideration and suit against {basis.decision_no} are still open",
                }
            )
        if not waiting:
            return []  # one served decision whose periods have all run is the basis
        found = waiting
    return found


async def ensure_basis(*, case_id: UUID, kind: str, at: datetime) -> None:
    """Planning: refuse a decision-backed act that has no basis at the planned time (409)."""
    items = await missing(case_id=case_id, kind=kind, at=at)
    if items:
        raise ExecutionBasisMissing(
            f"a {kind} needs an issued and served decision whose periods have run: " + "; ".join(i["detail"] for i in items),
            missing=items,
            field="kind",
        )
