"""What the legal reviewer sees of the case's evidence (R-LEGAL-5): each item with its hash
status, and each action's audio-video coverage reports (R-REC-4).

Hash status comes from the evidence record (its SHA-256 checked on arrival) and the custody
checks since (``evidence.hash_checked`` ledger entries of re-hash runs): the latest check
decides. Items and actions are matched by case: the case was already read in the caller's
agency, and an entrusted case's evidence may be held under the entrusting agency.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from backend.core.rows import fetch_all
from backend.decisions import schemas
from backend.field.action_schemas import CoverageReportOut
from backend.field.tables import Action, CoverageReport
from backend.ledger.tables import LedgerRow
from evidence.tables import EvidenceItem

HashStatus = Literal["verified", "mismatch", "not_checked"]
Coverage = Literal["complete", "incomplete", "no_report", "not_required"]


class _Item(msgspec.Struct, kw_only=True):
    id: UUID
    action_id: UUID | None
    kind: str
    status: str
    sha256: str
    size: int
    device_captured_at: datetime
    received_at: datetime


class _Check(msgspec.Struct, kw_only=True):
    subject_id: str
    recorded_at: datetime
    details: str


class _Action(msgspec.Struct, kw_only=True):
    id: UUID
    kind: str
    state: str
    requires_av: bool


class _Report(msgspec.Struct, kw_only=True):
    action: UUID
    report: CoverageReportOut


def _status(item: _Item, check: _Check | None) -> schemas.EvidenceHashStatus:
    base: dict[str, Any] = {
        "evidence_id": item.id,
        "action_id": item.action_id,
        "kind": item.kind,
        "sha256": item.sha256,
        "size": item.size,
        "captured_at": item.device_captured_at,
        "received_at": item.received_at,
    }
    if check is not None:
        found = msgspec.json.decode(check.details)
        problems = [str(p.get("reason", "")) for p in found.get("problems", [])]
        status: HashStatus = "verified" if found.get("ok") else "mismatch"
        return schemas.EvidenceHashStatus(
            **base, hash_status=status, checked_by="re_hash", checked_at=check.recorded_at, problems=problems
        )
    if item.status == "verified":
        return schemas.EvidenceHashStatus(**base, hash_status="verified", checked_by="arrival", checked_at=item.received_at)
    if item.status == "rejected":
        problems = ["the bytes did not match the SHA-256 the phone declared"]
        return schemas.EvidenceHashStatus(
            **base, hash_status="mismatch", checked_by="arrival", checked_at=item.received_at, problems=problems
        )
    return schemas.EvidenceHashStatus(**base, hash_status="not_checked")


async def evidence_hash_statuses(*, case_id: UUID) -> list[schemas.EvidenceHashStatus]:
    """R-LEGAL-5: every evidence item of the case: verified, mismatch or not yet checked."""
    items = await fetch_all(
        _Item, EvidenceItem.select().where(EvidenceItem.case_id == case_id).order_by(EvidenceItem.received_at)
    )
    checks = await fetch_all(
        _Check,
        LedgerRow.select(LedgerRow.subject_id, LedgerRow.recorded_at, LedgerRow.details)
        .where((LedgerRow.case_id == case_id) & (LedgerRow.event == "evidence.hash_checked"))
        .order_by(LedgerRow.seq),
    )
    latest = {c.subject_id: c for c in checks}  # in ledger order: the last check wins
    return [_status(item, latest.get(str(item.id))) for item in items]


def _coverage(action: _Action, reports: list[CoverageReportOut]) -> Coverage:
    if reports:
        return "complete" if reports[-1].complete else "incomplete"
    return "no_report" if action.requires_av else "not_required"


async def action_coverage(*, case_id: UUID) -> list[schemas.ActionCoverage]:
    """R-LEGAL-5 / R-REC-4: each action of the case with its stored coverage reports, oldest first."""
    actions = await fetch_all(
        _Action,
        Action.select(Action.id, Action.kind, Action.state, Action.requires_av)
        .where(Action.case == case_id)
        .order_by(Action.planned_at),
    )
    stored = await fetch_all(
        _Report,
        CoverageReport.select(CoverageReport.action, CoverageReport.report)
        .where(CoverageReport.action.is_in([a.id for a in actions] or [UUID(int=0)]))
        .order_by(CoverageReport.computed_at),
    )
    out = []
    for action in actions:
        reports = [r.report for r in stored if r.action == action.id]
        out.append(
            schemas.ActionCoverage(
                action_id=action.id,
                kind=action.kind,
                state=action.state,
                requires_av=action.requires_av,
                coverage=_coverage(action, reports),
                reports=reports,
            )
        )
    return out
