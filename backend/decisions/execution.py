"""Service of an issued decision and the periods that must run before it is carried out by
force (issue 14, found #7; 行政强制法 Art.44, national defaults in ``docs/DEVELOPING.md``).

Recording the service computes two periods from it: the party's own deadline to comply (the
announced one, e.g. to remove an illegal building) and the end of the remedy periods — 60
days to apply for administrative reconsideration and six months to sue, counted from
service in calendar terms ("1个月" = the same day of the next month, clamped). The facts are
handed to the field room (``backend.field.execution_basis``), whose planning and start gate
refuse a forced demolition until they have run.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import Conflict, InvalidInput
from backend.decisions.deadlines import COUNTY_TZ, period_end
from backend.decisions.notices import ensure_case_evidence
from backend.decisions.records import decision_row
from backend.decisions.rules import DRAFT
from backend.field import execution_basis
from backend.field.tables import ExecutionBasis
from backend.ledger.service import append_case_event

# National defaults: 行政复议法 (60 days to apply), 行政诉讼法 Art.46 (six months to sue).
RECONSIDERATION_DAYS = 60
LITIGATION_MONTHS = 6
# Service is recorded after it happened; a time ahead of the server clock is a typing error.
_CLOCK_TOLERANCE = timedelta(minutes=5)


class DecisionServiceIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    served_at: datetime
    method: Literal["direct", "left_at_residence", "mail", "electronic", "announcement"]
    recipient: Annotated[str, Meta(min_length=1, max_length=200)]
    # A photo of the signed receipt (送达回证) or the posted notice: evidence of the case.
    proof_evidence_id: UUID
    # 行政强制法 Art.44: the public notice giving the party a deadline to comply first.
    compliance_deadline: datetime
    announcement_ref: Annotated[str, Meta(max_length=200)] = ""


class DecisionServiceOut(msgspec.Struct, kw_only=True):
    decision_id: UUID
    decision_no: str
    served_at: datetime
    compliance_deadline: datetime
    remedy_period_end: datetime


def _months_later(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def remedy_period_end(served_at: datetime) -> datetime:
    """The later end of the reconsideration and litigation periods (end of day, county time)."""
    reconsideration = period_end(served_at, RECONSIDERATION_DAYS, "calendar")
    last = _months_later(served_at.astimezone(COUNTY_TZ).date(), LITIGATION_MONTHS)
    litigation = datetime.combine(last, time(23, 59, 59), tzinfo=COUNTY_TZ).astimezone(UTC)
    return max(reconsideration, litigation)


async def record_decision_service(*, principal: Principal, decision_id: UUID, data: DecisionServiceIn) -> DecisionServiceOut:
    row = await decision_row(principal=principal, decision_id=decision_id, rule=DRAFT)
    if row.status != "issued" or row.issued_at is None or row.decision_no is None:
        raise Conflict(f"only an issued decision is served; this one is {row.status}", decision_status=row.status)
    if await ExecutionBasis.exists().where(ExecutionBasis.decision_id == decision_id):
        raise Conflict(f"the service of decision {row.decision_no} is already recorded")
    if data.served_at.tzinfo is None or data.served_at > clock.now() + _CLOCK_TOLERANCE:
        raise InvalidInput("served_at must be a timezone-aware time not in the future", field="served_at")
    if data.served_at < row.issued_at:
        raise InvalidInput("a decision is served after it is issued", field="served_at")
    if data.compliance_deadline.tzinfo is None or data.compliance_deadline <= data.served_at:
        raise InvalidInput("the party's deadline comes after service", field="compliance_deadline")
    await ensure_case_evidence(case_id=row.case_id, evidence_id=data.proof_evidence_id, field="proof_evidence_id")
    served = execution_basis.ServedDecision(
        case_id=row.case_id,
        decision_id=decision_id,
        decision_no=row.decision_no,
        issued_at=row.issued_at,
        served_at=data.served_at,
        service_method=data.method,
        recipient=data.recipient,
        proof_evidence_id=data.proof_evidence_id,
        announcement_ref=data.announcement_ref,
        compliance_deadline=data.compliance_deadline,
        remedy_period_end=remedy_period_end(data.served_at),
    )
    async with write_transaction():
        await execution_basis.record(principal=principal, served=served)
        await append_case_event(
            principal=principal,
            event="decision.served",
            case_id=row.case_id,
            subject_type="decision",
            subject_id=decision_id,
            details={
                "decision_no": row.decision_no,
                "method": data.method,
                "proof_evidence_id": str(data.proof_evidence_id),
                "compliance_deadline": data.compliance_deadline.isoformat(),
                "remedy_period_end": served.remedy_period_end.isoformat(),
            },
        )
    return DecisionServiceOut(
        decision_id=decision_id,
        decision_no=row.decision_no,
        served_at=served.served_at,
        compliance_deadline=served.compliance_deadline,
        remedy_period_end=served.remedy_period_end,
    )
