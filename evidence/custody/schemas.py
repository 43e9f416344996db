"""msgspec Structs of evidence custody reading (exports, holds, object checks, timelines)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.ledger.schemas import LedgerEntry


class ObjectMismatch(msgspec.Struct, frozen=True, kw_only=True):
    evidence_id: UUID
    case_id: UUID | None
    location: str
    expected_sha256: str
    actual_sha256: str | None
    reason: str


class ObjectsReport(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    objects_checked: int
    mismatches: list[ObjectMismatch]


class VerificationRunOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    case_id: UUID | None
    status: Literal["queued", "running", "finished", "failed"]
    total: int
    done: int
    mismatches: list[ObjectMismatch]
    error: str
    started_at: datetime
    finished_at: datetime | None


class TimelinePage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[LedgerEntry]
    next_cursor: str | None


Purpose = Annotated[str, Meta(min_length=3, max_length=500, description="Why the evidence is retrieved (logged, R-REC-7)")]


class ExportIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # Optional here so a missing purpose is the same 422 problem as on every retrieval.
    purpose: Annotated[str, Meta(max_length=500)] | None = None
    evidence_ids: Annotated[list[UUID], Meta(max_length=10_000)] | None = None


class HoldIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, Meta(min_length=3, max_length=500)]
