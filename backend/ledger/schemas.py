"""msgspec Structs of the custody ledger (entries, checkpoints, verification reports)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

import msgspec

from backend.ledger.chain import StoredEntry


class LedgerEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One ledger entry as the API shows it: a ``chain.StoredEntry`` with its details decoded."""

    PEOPLE: ClassVar[tuple[str, ...]] = ("actor_id",)
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

    @classmethod
    def of(cls, stored: StoredEntry) -> LedgerEntry:
        return cls(**{**msgspec.structs.asdict(stored), "details": msgspec.json.decode(stored.details)})

    actor_name: str | None = None
    actor_role: str | None = None


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
    # Checkpoints kept outside the server (``verify-ledger --checkpoint``) that were compared.
    published_checked: int = 0


class MissingEntries(msgspec.Struct, frozen=True, kw_only=True):
    """A record in a domain table without the ledger entries its service appends with it."""

    kind: str
    id: str
    missing: list[str]


class CompletenessReport(msgspec.Struct, frozen=True, kw_only=True):
    """That nothing was taken out of the ledger (``backend/audit.py`` computes it)."""

    ok: bool
    records_checked: int
    records_without_entries: int
    missing: list[MissingEntries]
    problems: list[str]


class LedgerAudit(msgspec.Struct, frozen=True, kw_only=True):
    """What ``verify-ledger`` reports: the chain itself, and that nothing was taken out of it."""

    ok: bool
    ledger: LedgerReport
    completeness: CompletenessReport


class LedgerCheck(LedgerReport, frozen=True, kw_only=True):
    """The office's ledger check: the chain report, ``ok`` only when the ledger is complete
    too, and the completeness counts (the records are listed by ``fieldproof verify-ledger``
    on the server: they may belong to any agency)."""

    completeness: CompletenessReport | None = None


# Runs the whole audit (chain, checkpoints, completeness) and records it; supplied by the
# composition root (backend/ops.py), which alone knows every domain's tables.
LedgerAuditor = Callable[[], Awaitable[LedgerAudit]]


class SubjectEvent(msgspec.Struct, frozen=True, kw_only=True):
    """That the ledger holds ``event`` about (``subject_type``, ``subject_id``)."""

    subject_type: str
    subject_id: str
    event: str
