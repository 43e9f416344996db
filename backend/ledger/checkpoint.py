"""Signed checkpoints: the server states "the ledger had N entries ending in hash H" (R-REC-7).

A plain hash chain proves integrity only against its own head; signing the head now and
then, and keeping every signature, lets anyone holding a checkpoint detect a rewritten
history (and export packages end their chain at one). ``backend/ops.py`` signs one
periodically (``checkpoint_interval_s``) and on demand (``sign-checkpoint``).
"""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from backend.core import clock
from backend.core.db import write_transaction
from backend.core.keys import KeyRing
from backend.core.rows import fetch_all, fetch_one
from backend.ledger import chain
from backend.ledger.schemas import CheckpointOut
from backend.ledger.service import ledger_head, lock_ledger
from backend.ledger.tables import Checkpoint


async def make_checkpoint(*, keys: KeyRing, force: bool = False) -> CheckpointOut:
    """Sign the current head; if the newest checkpoint already covers it, return that one."""
    async with write_transaction():
        # Same lock as appends: the head cannot move between reading and signing it.
        await lock_ledger()
        seq, head_hash = await ledger_head()
        latest = await latest_checkpoint()
        if latest is not None and latest.seq == seq and not force:
            return latest
        signed_at = clock.now()
        message = chain.checkpoint_message(seq=seq, head_hash=head_hash, signed_at=signed_at, key_id=keys.kid)
        row = Checkpoint(seq=seq, head_hash=head_hash, signed_at=signed_at, key_id=keys.kid, signature=keys.sign_bytes(message))
        await Checkpoint.insert(row)
    return CheckpointOut(seq=seq, head_hash=head_hash, signed_at=signed_at, key_id=keys.kid, signature=str(row.signature))


async def latest_checkpoint(*, at_or_after: int = 0) -> CheckpointOut | None:
    return await fetch_one(
        CheckpointOut,
        Checkpoint.select()
        .where(Checkpoint.seq >= at_or_after)
        .order_by(Checkpoint.seq, ascending=False)
        .order_by(Checkpoint.signed_at, ascending=False),
    )


async def all_checkpoints() -> list[CheckpointOut]:
    return await fetch_all(CheckpointOut, Checkpoint.select().order_by(Checkpoint.seq))


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signature_valid(checkpoint: CheckpointOut, public_key: Ed25519PublicKey | None) -> bool:
    if public_key is None:
        return False
    message = chain.checkpoint_message(
        seq=checkpoint.seq, head_hash=checkpoint.head_hash, signed_at=checkpoint.signed_at, key_id=checkpoint.key_id
    )
    try:
        public_key.verify(_b64url_decode(checkpoint.signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


async def published_checkpoints(*, after_seq: int, limit: int) -> list[CheckpointOut]:
    """Checkpoints with ``seq > after_seq`` in sequence order, one per sequence number (the first signed).

    What ``GET /public/v1/ledger/checkpoints`` publishes so that anyone can keep them (R-REC-7).
    A page of ``limit`` rows may hold fewer checkpoints (repeated signatures of one head,
    ``sign-checkpoint`` forces them); the caller pages on from the last seq returned.
    """
    rows = await fetch_all(
        CheckpointOut,
        Checkpoint.select()
        .where(Checkpoint.seq > after_seq)
        .order_by(Checkpoint.seq)
        .order_by(Checkpoint.signed_at)
        .limit(limit),
    )
    return list({row.seq: row for row in reversed(rows)}.values())[::-1]


async def checkpoint_at(*, seq: int) -> CheckpointOut | None:
    """The first checkpoint signed at exactly ``seq``, or None."""
    return await fetch_one(CheckpointOut, Checkpoint.select().where(Checkpoint.seq == seq).order_by(Checkpoint.signed_at))
