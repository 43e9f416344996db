"""Tables of the `custody` area: the hash-chained ledger, signed checkpoints, verification runs.

The ledger is append-only (R-REC-7): rows are only ever inserted by
``backend.ledger.service.append_event``; migrations install database triggers that
refuse UPDATE and DELETE of entries and checkpoints, and on PostgreSQL TRUNCATE of either
table, and leave roles other than the owner only SELECT and INSERT on them. The composite
index (case_id, seq) for the case timeline is created by a migration as well (Piccolo columns
cannot declare composite indexes).
"""

from __future__ import annotations

from piccolo.columns import UUID, BigInt, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class LedgerRow(Table, tablename="custody_ledger"):
    id = UUID(primary_key=True)
    # Gap-free, starts at 1; unique so that a failure of serialisation fails loudly, never forks.
    seq = BigInt(unique=True)
    recorded_at = Timestamptz()
    event = Varchar(length=64)
    actor_id = UUID(null=True, default=None)
    agency_id = UUID(null=True, default=None)
    subject_type = Varchar(length=32)
    subject_id = Varchar(length=128)
    case_id = UUID(null=True, default=None)
    action_id = UUID(null=True, default=None)
    # Canonical JSON text of the details exactly as hashed.
    details = Text(default="{}")
    prev_hash = Varchar(length=64)
    entry_hash = Varchar(length=64)


class Checkpoint(Table, tablename="custody_checkpoint"):
    """A server-signed statement: "the ledger had ``seq`` entries ending in ``head_hash``"."""

    id = UUID(primary_key=True)
    seq = BigInt(index=True)
    head_hash = Varchar(length=64)
    signed_at = Timestamptz()
    key_id = Varchar(length=64)
    signature = Text()


class VerificationRun(Table, tablename="custody_verification_run"):
    """A background re-hash of a case's stored objects (R-REC-8), with progress."""

    id = UUID(primary_key=True)
    agency_id = UUID(index=True)
    case_id = UUID(null=True, default=None, index=True)
    requested_by = UUID(null=True, default=None)
    status = Varchar(length=16, default="queued")
    total = Integer(default=0)
    done = Integer(default=0)
    mismatches = Text(default="[]")
    error = Text(default="")
    started_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)


TABLES: list[type[Table]] = [LedgerRow, Checkpoint, VerificationRun]
