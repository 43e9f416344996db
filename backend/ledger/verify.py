"""Re-verification (R-REC-8): the ledger against its own hashes and checkpoints.

``verify_ledger`` replays the whole chain in sequence order in batches (bounded memory)
and reports the *first* entry that disagrees, with its sequence number and why. Rows are
read by ``scan`` with the canonical body already rendered (the splice of
``chain.stored_body_text``, built by the database) and hashed in a tight loop
(``_fast_check``); only a row that fails there is re-read as a typed
``chain.StoredEntry`` and judged by ``check_row`` with the full rules (``chain.entry_hash``).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Mapping, Sequence

import msgspec

from backend.core.keys import KeyRing
from backend.core.rows import fetch_one
from backend.ledger import chain, scan
from backend.ledger.checkpoint import all_checkpoints, signature_valid
from backend.ledger.schemas import BrokenEntry, CheckpointOut, LedgerReport
from backend.ledger.service import append_event
from backend.ledger.tables import LedgerRow

BATCH = 20_000


def check_row(entry: chain.StoredEntry, *, expected_seq: int, prev_hash: str) -> str | None:
    """Why this stored entry breaks the chain, or None when it is intact."""
    if entry.seq != expected_seq:
        return f"sequence gap: expected {expected_seq}, found {entry.seq}"
    if entry.prev_hash != prev_hash:
        return f"prev_hash {entry.prev_hash} does not match the previous entry's hash {prev_hash}"
    if chain.chain_hash(prev_hash, chain.stored_body_hash(entry)) == entry.entry_hash:
        return None  # the splice: canonical stored text hashes to the recorded value
    try:
        recomputed = chain.entry_hash(prev_hash, entry)
    except ValueError as exc:
        return f"entry cannot be decoded: {exc}"
    if recomputed != entry.entry_hash:
        return f"entry_hash {entry.entry_hash} does not match the recomputed {recomputed} (entry content changed)"
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


def _check_order(checkpoints: Sequence[CheckpointOut]) -> list[str]:
    """Checkpoints are contiguous: in signing order their sequence numbers never go backwards.

    A later signature over a shorter chain means entries were removed and the chain re-grown
    between the two (R-REC-7).
    """
    problems: list[str] = []
    unique = {cp.signature: cp for cp in checkpoints}.values()
    ordered = sorted(unique, key=lambda cp: (cp.signed_at, cp.seq))
    for earlier, later in itertools.pairwise(ordered):
        if later.seq < earlier.seq:
            problems.append(
                f"checkpoint at seq {later.seq} signed {chain.format_time(later.signed_at)} follows one at seq "
                f"{earlier.seq} signed {chain.format_time(earlier.signed_at)}: the ledger went backwards (entries removed)"
            )
    return problems


def _check_published(
    published: Sequence[CheckpointOut], hashes: Mapping[int, str], state: _Replay, keys: KeyRing | None
) -> list[str]:
    """Checkpoints someone kept outside the server: the chain must still reach and match each."""
    problems: list[str] = []
    for cp in published:
        name = f"published checkpoint at seq {cp.seq} (signed {chain.format_time(cp.signed_at)})"
        if keys is not None:
            key = keys.public_key_for(cp.key_id)
            if key is None:
                problems.append(f"{name}: key {cp.key_id} is not in the server's key ring; its signature cannot be checked")
            elif not signature_valid(cp, key):
                problems.append(f"{name}: signature does not verify with key {cp.key_id}")
        if cp.seq > state.last_seq:
            short = cp.seq - state.last_seq
            problems.append(f"{name}: the ledger ends at seq {state.last_seq}, {short} entries short (entries removed)")
            continue
        expected = chain.GENESIS_HASH if cp.seq == 0 else hashes.get(cp.seq)
        if expected != cp.head_hash:
            problems.append(f"{name}: signed head {cp.head_hash} differs from stored {expected} (history rewritten)")
    return problems


class _Replay:
    """Where the replay stands: the last intact entry and the hashes seen at checkpoints."""

    def __init__(self, checkpoint_seqs: set[int]) -> None:
        self.checkpoint_seqs = checkpoint_seqs
        self.checked = 0
        self.last_seq = 0
        self.prev_hash = chain.GENESIS_HASH
        self.prev_digest = bytes.fromhex(chain.GENESIS_HASH)
        self.at_checkpoints: dict[int, str] = {}

    def accept(self, seq: int, entry_hash: str, digest: bytes) -> None:
        self.checked, self.last_seq, self.prev_hash, self.prev_digest = self.checked + 1, seq, entry_hash, digest
        if seq in self.checkpoint_seqs:
            self.at_checkpoints[seq] = entry_hash


def _fast_check(rows: Sequence[scan.Row], start: int, state: _Replay) -> int:
    """Accept rows from ``start`` while they chain on the fast path; the index of the first that does not.

    The tight loop of verification (run in a worker thread while the next batch is read):
    SHA-256 of the canonical body the reader rendered, SHA-256 of prev ‖ that, compared with
    the stored hash. A row that fails here is not yet broken — ``_slow_check`` decides, with
    the full rules. Rows are ``scan.Row`` tuples (seq, body bytes, prev_hash, entry_hash).
    """
    sha256, checkpoints, at_checkpoints = hashlib.sha256, state.checkpoint_seqs, state.at_checkpoints
    expected, prev_hash, prev_digest = state.last_seq + 1, state.prev_hash, state.prev_digest
    index = start
    try:
        for seq, body, prev, entry in itertools.islice(rows, start, None):
            if seq != expected or prev != prev_hash:
                break
            digest = sha256(prev_digest + sha256(body).digest()).digest()
            if digest.hex() != entry:
                break
            if seq in checkpoints:
                at_checkpoints[seq] = entry
            expected, prev_hash, prev_digest, index = seq + 1, entry, digest, index + 1
    finally:  # the state stands at the last accepted row, however the loop ends
        state.checked += index - start
        state.last_seq, state.prev_hash, state.prev_digest = expected - 1, prev_hash, prev_digest
    return index


async def _slow_check(seq: int, state: _Replay) -> str | None:
    """The full rules on the typed row (non-canonical spelling, odd stored time, damage)."""
    try:
        entry = await fetch_one(chain.StoredEntry, LedgerRow.select().where(LedgerRow.seq == seq))
    except msgspec.ValidationError as exc:
        return f"entry cannot be decoded: {exc}"
    if entry is None:  # pragma: no cover - read a moment ago; the ledger refuses DELETE
        return "entry disappeared during verification"
    reason = check_row(entry, expected_seq=state.last_seq + 1, prev_hash=state.prev_hash)
    if reason is None:
        state.accept(seq, entry.entry_hash, bytes.fromhex(entry.entry_hash))
    return reason


async def _check_batch(rows: Sequence[scan.Row], state: _Replay) -> BrokenEntry | None:
    start = 0
    while (start := await asyncio.to_thread(_fast_check, rows, start, state)) < len(rows):
        seq = int(rows[start][0])
        reason = await _slow_check(seq, state)
        if reason is not None:
            return BrokenEntry(seq=seq, reason=reason)
        start += 1
    return None


async def _replay(extra_seqs: set[int]) -> tuple[_Replay, BrokenEntry | None]:
    """Replay the chain in batches, reading the next batch while this one is hashed."""
    state = _Replay({cp.seq for cp in await all_checkpoints()} | extra_seqs)
    async with scan.ledger_batches(BATCH) as fetch:
        rows = await fetch(0)
        while rows:
            following = asyncio.ensure_future(fetch(int(rows[-1][0]))) if len(rows) == BATCH else None
            try:
                broken = await _check_batch(rows, state)
            finally:
                rows = await following if following is not None else []
            if broken is not None:
                return state, broken
    return state, None


async def verify_ledger(
    *, keys: KeyRing | None = None, record: bool = True, published: Sequence[CheckpointOut] = ()
) -> LedgerReport:
    """Recompute the whole chain; report the first broken entry and any bad checkpoint.

    ``keys`` (the server key ring) also checks checkpoint signatures. ``published`` are
    checkpoints kept outside the server (a court's copy, an export's ``checkpoint.json``): the
    chain must reach each and match its head, so a removed tail whose stored checkpoints were
    removed with it is still found. Stored checkpoints must never go backwards in signing
    order. ``record`` appends a ``ledger.verified`` entry with the outcome (a verification
    run is itself custody).
    """
    state, broken = await _replay({cp.seq for cp in published})
    checkpoints = await all_checkpoints()
    intact = [cp for cp in checkpoints if broken is None or cp.seq < broken.seq]
    problems = _check_checkpoints(intact, state.at_checkpoints, keys)
    problems += _check_order([*checkpoints, *published])
    problems += _check_published(
        [cp for cp in published if broken is None or cp.seq < broken.seq], state.at_checkpoints, state, keys
    )
    report = LedgerReport(
        ok=broken is None and not problems,
        entries_checked=state.checked,
        head_seq=state.last_seq,
        head_hash=state.prev_hash,
        checkpoints_checked=len(checkpoints),
        first_broken=broken,
        checkpoint_problems=problems,
        published_checked=len(published),
    )
    if record:
        await record_verification(report)
    return report


async def record_verification(report: LedgerReport, *, missing_entries: int = 0) -> None:
    """Append the ``ledger.verified`` entry: the outcome of a verification run (R-REC-7)."""
    await append_event(
        event="ledger.verified",
        actor_id=None,
        agency_id=None,
        subject_type="ledger",
        subject_id="custody_ledger",
        details={
            "ok": report.ok and not missing_entries,
            "entries_checked": report.entries_checked,
            "first_broken": report.first_broken and report.first_broken.seq,
            **({"records_without_entries": missing_entries} if missing_entries else {}),
        },
    )
