"""msgspec Structs of the custody area (in and out)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta


class LedgerEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One appended ledger entry, as stored and hashed."""

    seq: int
    recorded_at: datetime
    event: str
    actor_id: UUID | None
    agency_id: UUID | None
    subject_type: str
    subject_id: str
    case_id: UUID | None
    action_id: UUID | None
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str


class CheckpointOut(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    head_hash: str
    signed_at: datetime
    key_id: str
    signature: str


class BrokenEntry(msgspec.Struct, frozen=True, kw_only=True):
    """The first place where the stored ledger disagrees with its own hashes."""

    seq: int
    reason: str


class LedgerReport(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    entries_checked: int
    head_seq: int
    head_hash: str
    checkpoints_checked: int
    first_broken: BrokenEntry | None = None
    checkpoint_problems: list[str] = msgspec.field(default_factory=list)


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
