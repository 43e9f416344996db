"""Re-verification (R-REC-8): the ledger against its own hashes and checkpoints.

``verify_ledger`` replays the whole chain in sequence order in batches (bounded memory)
and reports the *first* entry that disagrees, with its sequence number and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backend.core.keys import KeyRing
from evidence.custody import chain
from evidence.custody.checkpoint import all_checkpoints, signature_valid
from evidence.custody.schemas import BrokenEntry, CheckpointOut, LedgerReport
from evidence.custody.service import append_event
from evidence.custody.tables import LedgerRow

BATCH = 5000


def check_row(row: Mapping[str, Any], *, expected_seq: int, prev_hash: str) -> str | None:
    """Why this stored row breaks the chain, or None when it is intact."""
    if int(row["seq"]) != expected_seq:
        return f"sequence gap: expected {expected_seq}, found {row['seq']}"
    if row["prev_hash"] != prev_hash:
        return f"prev_hash {row['prev_hash']} does not match the previous entry's hash {prev_hash}"
    if chain.chain_hash(prev_hash, chain.stored_body_hash(row)) == row["entry_hash"]:
        return None  # fast path: canonical stored text hashes to the recorded value
    try:
        body = chain.entry_body(
            seq=int(row["seq"]),
            recorded_at=row["recorded_at"],
            event=row["event"],
            actor_id=row["actor_id"],
            agency_id=row["agency_id"],
            subject_type=row["subject_type"],
            subject_id=row["subject_id"],
            case_id=row["case_id"],
            action_id=row["action_id"],
            details_json=row["details"],
        )
    except ValueError as exc:
        return f"entry cannot be decoded: {exc}"
    recomputed = chain.chain_hash(prev_hash, chain.body_hash(body))
    if recomputed != row["entry_hash"]:
        return f"entry_hash {row['entry_hash']} does not match the recomputed {recomputed} (entry content changed)"
    return None


def _check_checkpoints(checkpoints: list[CheckpointOut], hashes: Mapping[int, str], keys: KeyRing | None) -> list[str]:
    problems: list[str] = []
    for cp in checkpoints:
        if keys is not None and not signature_valid(cp, keys.public_key_for(cp.key_id)):
            problems.append(f"checkpoint at seq {cp.seq}: signature does not verify with key {cp.key_id}")
        expected = chain.GENESIS_HASH if cp.seq == 0 else hashes.get(cp.seq)
        if expected is None:
            problems.append(f"checkpoint at seq {cp.seq}: the ledger has no entry {cp.seq} (entries removed)")
        elif expected != cp.head_hash:
            problems.append(f"checkpoint at seq {cp.seq}: signed head {cp.head_hash} differs from stored {expected}")
    return problems


async def _replay() -> tuple[int, int, str, BrokenEntry | None, dict[int, str]]:
    """(checked, last seq, last hash, first broken, hashes at checkpoint seqs)."""
    checkpoint_seqs = {cp.seq for cp in await all_checkpoints()}
    checked, last_seq, prev_hash = 0, 0, chain.GENESIS_HASH
    at_checkpoints: dict[int, str] = {}
    while True:
        rows = await LedgerRow.select().where(LedgerRow.seq > last_seq).order_by(LedgerRow.seq).limit(BATCH)
        for row in rows:
            reason = check_row(row, expected_seq=last_seq + 1, prev_hash=prev_hash)
            if reason is not None:
                return checked, last_seq, prev_hash, BrokenEntry(seq=int(row["seq"]), reason=reason), at_checkpoints
            checked, last_seq, prev_hash = checked + 1, int(row["seq"]), str(row["entry_hash"])
            if last_seq in checkpoint_seqs:
                at_checkpoints[last_seq] = prev_hash
        if len(rows) < BATCH:
            return checked, last_seq, prev_hash, None, at_checkpoints


async def verify_ledger(*, keys: KeyRing | None = None, record: bool = True) -> LedgerReport:
    """Recompute the whole chain; report the first broken entry and any bad checkpoint.

    ``keys`` (the server key ring) also checks checkpoint signatures. ``record`` appends a
    ``ledger.verified`` entry with the outcome (a verification run is itself custody).
    """
    checked, last_seq, head_hash, broken, at_checkpoints = await _replay()
    checkpoints = await all_checkpoints()
    problems = _check_checkpoints([cp for cp in checkpoints if broken is None or cp.seq < broken.seq], at_checkpoints, keys)
    report = LedgerReport(
        ok=broken is None and not problems,
        entries_checked=checked,
        head_seq=last_seq,
        head_hash=head_hash,
        checkpoints_checked=len(checkpoints),
        first_broken=broken,
        checkpoint_problems=problems,
    )
    if record:
        await append_event(
            event="ledger.verified",
            actor_id=None,
            agency_id=None,
            subject_type="ledger",
            subject_id="custody_ledger",
            details={"ok": report.ok, "entries_checked": checked, "first_broken": broken and broken.seq},
        )
    return report
