"""Drafting a decision under the discretion benchmark (R-DISC-3..5, R-LEGAL-3/4): every save
is a new immutable version with its own SHA-256, judged against the benchmark and the
major-decision catalog, and shown with comparable past decisions.
"""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import Conflict, Forbidden
from backend.core.rows import fetch_all
from backend.decisions import case_facts, discretion, schemas, standards, standards_schemas
from backend.decisions.records import (
    DECISION_COLUMNS,
    CaseStageConflict,
    DecisionRow,
    DraftChanged,
    current_draft,
    decision_row,
    ensure_open,
    record_role,
)
from backend.decisions.rules import DRAFT, READ
from backend.decisions.tables import Decision, DecisionVersion
from backend.ledger.service import append_case_event

_COMPARABLE_COLUMNS = (
    Decision.id.as_alias("decision_id"),
    Decision.decision_no,
    Decision.issued_at,
    Decision.tier_code,
    Decision.fine_total_fen,
    Decision.penalty_kinds,
    Decision.deviated,
)

# --- evaluation of a draft (R-DISC-3/4/5, R-LEGAL-3) -----------------------------------------


class _Evaluation(msgspec.Struct, kw_only=True):
    benchmark: standards_schemas.BenchmarkOut
    proposal: schemas.Proposal
    deviation: schemas.Deviation
    matches: list[schemas.MajorMatch]

    @property
    def tier_code(self) -> str:
        return self.proposal.tier_code


def _fine_total(draft: schemas.DraftIn) -> int:
    return sum(p.amount_fen or 0 for p in draft.penalties if p.kind == "fine")


def _judge(benchmark: standards_schemas.BenchmarkOut, draft: schemas.DraftIn) -> tuple[schemas.Proposal, schemas.Deviation]:
    item = discretion.find_item(benchmark.items, draft.item_code)
    proposal = discretion.propose(item, draft.circumstances)
    discretion.check_penalties(item, draft.penalties, proposal)
    return proposal, discretion.deviation(draft.penalties, proposal)


async def _evaluate(*, agency_id: UUID, draft: schemas.DraftIn) -> _Evaluation:
    benchmark = await standards.usable_benchmark(agency_id=agency_id, benchmark_id=draft.benchmark_id)
    proposal, found = _judge(benchmark, draft)
    # R-DISC-5: leaving the proposed tier needs a written reason (shown to the reviewer).
    discretion.require_reason(found, draft.deviation_reason)
    rules = await standards.catalog_rules(agency_id=agency_id)
    matches = discretion.major_matches(rules, item_code=draft.item_code, penalties=draft.penalties)
    return _Evaluation(benchmark=benchmark, proposal=proposal, deviation=found, matches=matches)


def _decision_columns(draft: schemas.DraftIn, evaluation: _Evaluation, sha: str) -> dict[Any, Any]:
    return {
        Decision.benchmark: draft.benchmark_id,
        Decision.item_code: draft.item_code,
        Decision.tier_code: evaluation.tier_code,
        Decision.draft_sha256: sha,
        Decision.major: bool(evaluation.matches),
        Decision.major_matches: msgspec.to_builtins(evaluation.matches),
        Decision.fine_total_fen: _fine_total(draft),
        Decision.penalty_kinds: [p.kind for p in draft.penalties],
        Decision.deviated: evaluation.deviation.deviates,
        Decision.updated_at: clock.now(),
    }


# --- reading ---------------------------------------------------------------------------------


async def _decision_out(row: DecisionRow) -> schemas.DecisionOut:
    draft = await current_draft(row)
    benchmark = await standards.get_benchmark(agency_id=row.agency_id, benchmark_id=row.benchmark_id)
    proposal, found = _judge(benchmark, draft)
    return schemas.DecisionOut(
        **msgspec.structs.asdict(row), benchmark_version=benchmark.version, draft=draft, proposal=proposal, deviation=found
    )


async def comparable_decisions(
    *, agency_id: UUID, item_code: str, tier_code: str, exclude: UUID | None = None
) -> list[schemas.ComparableDecision]:
    """R-DISC-5 equal treatment: the agency's issued decisions for the same item and tier."""
    query = Decision.select(*_COMPARABLE_COLUMNS).where(
        (Decision.agency == agency_id)
        & (Decision.item_code == item_code)
        & (Decision.tier_code == tier_code)
        & (Decision.status == "issued")
    )
    if exclude is not None:
        query = query.where(Decision.id != exclude)
    return await fetch_all(schemas.ComparableDecision, query.order_by(Decision.issued_at, ascending=False).limit(20))


async def get_decision(*, principal: Principal, decision_id: UUID) -> schemas.DraftView:
    row = await decision_row(principal=principal, decision_id=decision_id, rule=READ)
    decision = await _decision_out(row)
    comparable = await comparable_decisions(
        agency_id=row.agency_id, item_code=row.item_code, tier_code=row.tier_code, exclude=row.id
    )
    return schemas.DraftView(decision=decision, comparable=comparable)


async def list_case_decisions(*, principal: Principal, case_id: UUID) -> list[schemas.DecisionOut]:
    case = await case_facts.read(principal=principal, case_id=case_id)
    query = (
        Decision.select(*DECISION_COLUMNS)
        .where((Decision.case_id == case_id) & (Decision.agency == case.agency_id))
        .order_by(Decision.created_at)
    )
    return [await _decision_out(r) for r in await fetch_all(DecisionRow, query)]


# --- drafting ------------------------------------------------------------------------------


def _ensure_may_draft(principal: Principal, case: case_facts.CaseFacts) -> None:
    if principal.user_id not in case.handler_ids and not principal.has("supervisor"):
        raise Forbidden("only the case's handlers or a supervisor may draft its decision")
    if case.stage in ("service_execution", "archived"):
        raise CaseStageConflict(f"case {case.reference} is in {case.stage}; a decision is drafted before service & execution")


async def create_draft(*, principal: Principal, case_id: UUID, data: schemas.DraftIn) -> schemas.DraftView:
    case = await case_facts.read(principal=principal, case_id=case_id, rule=DRAFT)
    _ensure_may_draft(principal, case)
    evaluation = await _evaluate(agency_id=principal.agency_id, draft=data)
    decision_id = uuid.uuid4()
    content = discretion.draft_content(decision_id=decision_id, case_id=case_id, draft=data)
    sha = discretion.draft_sha256(content)
    now = clock.now()
    async with write_transaction():
        pending = await Decision.count().where((Decision.case_id == case_id) & (Decision.status != "issued"))
        if pending:
            raise Conflict("the case already has a decision in progress; revise that draft", field="case_id")
        columns = {col._meta.name: value for col, value in _decision_columns(data, evaluation, sha).items()}
        await Decision.insert(
            Decision(
                id=decision_id,
                agency=principal.agency_id,
                case_id=case_id,
                version=1,
                created_by=principal.user_id,
                created_at=now,
                **columns,
            )
        )
        await _insert_version(decision_id, 1, content, sha, principal.user_id)
        await record_role(decision_id, principal.user_id, "drafter")
        await append_case_event(
            principal=principal,
            event="decision.drafted",
            case_id=case_id,
            subject_type="decision",
            subject_id=decision_id,
            details=_event_details(1, sha, evaluation),
        )
    return await get_decision(principal=principal, decision_id=decision_id)


async def _insert_version(decision_id: UUID, version: int, content: dict[str, Any], sha: str, user_id: UUID) -> None:
    await DecisionVersion.insert(
        DecisionVersion(
            id=uuid.uuid4(),
            decision=decision_id,
            version=version,
            content=content,
            sha256=sha,
            created_by=user_id,
            created_at=clock.now(),
        )
    )


def _event_details(version: int, sha: str, evaluation: _Evaluation) -> dict[str, Any]:
    return {
        "version": version,
        "draft_sha256": sha,
        "benchmark_version": evaluation.benchmark.version,
        "tier": evaluation.tier_code,
        "deviates": evaluation.deviation.deviates,
        "major": bool(evaluation.matches),
    }


async def revise_draft(*, principal: Principal, decision_id: UUID, data: schemas.DraftIn) -> schemas.DraftView:
    """A new immutable version; any earlier review no longer counts (R-LEGAL-4)."""
    row = await decision_row(principal=principal, decision_id=decision_id, rule=DRAFT)
    ensure_open(row)
    case = await case_facts.read(principal=principal, case_id=row.case_id)
    _ensure_may_draft(principal, case)
    evaluation = await _evaluate(agency_id=principal.agency_id, draft=data)
    content = discretion.draft_content(decision_id=decision_id, case_id=row.case_id, draft=data)
    sha = discretion.draft_sha256(content)
    async with write_transaction():
        version = row.version + 1
        changed = (
            await Decision.update(
                {**_decision_columns(data, evaluation, sha), Decision.version: version, Decision.status: "draft"}
            )
            .where((Decision.id == decision_id) & (Decision.version == row.version) & (Decision.status != "issued"))
            .returning(Decision.id)
        )
        if not changed:
            raise DraftChanged("the draft was changed or issued meanwhile; reload it")
        await _insert_version(decision_id, version, content, sha, principal.user_id)
        await record_role(decision_id, principal.user_id, "drafter")
        details = {**_event_details(version, sha, evaluation), "previous_sha256": row.draft_sha256}
        await append_case_event(
            principal=principal,
            event="decision.revised",
            case_id=row.case_id,
            subject_type="decision",
            subject_id=decision_id,
            details=details,
        )
    return await get_decision(principal=principal, decision_id=decision_id)
