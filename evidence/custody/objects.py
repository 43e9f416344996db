"""Re-hashing stored evidence objects (R-REC-8): do the bytes still match their records?

Every object is read back through the evidence store (streamed, bounded memory) and its
SHA-256 compared with the record; the thumbnail (a derived object with its own hash) too.
Each check is itself a ledger entry (R-REC-7: every hash check is custody).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.errors import NotFound
from backend.core.rows import fetch_all, fetch_one, json_text, row_as
from backend.ledger.service import append_event
from backend.ledger.tables import VerificationRun
from evidence.custody.schemas import ObjectMismatch, ObjectsReport, VerificationRunOut
from evidence.store import ObjectStore, StoreError
from evidence.tables import EvidenceItem

Progress = Callable[[int, int, list[ObjectMismatch]], Awaitable[None]]
_BATCH = 500


async def rehash(store: ObjectStore, key: str) -> tuple[str, int] | None:
    """(SHA-256, size) of the stored bytes, or None when the object is missing."""
    digest, size = hashlib.sha256(), 0
    try:
        async for block in store.read(key):
            digest.update(block)
            size += len(block)
    except StoreError:
        if await store.stat(key) is None:
            return None
        raise
    return digest.hexdigest(), size


class StoredObject(msgspec.Struct, frozen=True, kw_only=True):
    """What a re-hash reads of an evidence record: where its bytes are and what they should be."""

    id: UUID
    agency: UUID
    case_id: UUID
    action_id: UUID | None
    object_key: str
    sha256: str
    size: int
    thumbnail_key: str | None
    thumbnail_sha256: str | None


def _mismatch(item: StoredObject, key: str, expected: str, actual: str | None, reason: str) -> ObjectMismatch:
    return ObjectMismatch(
        evidence_id=item.id, case_id=item.case_id, location=key, expected_sha256=expected, actual_sha256=actual, reason=reason
    )


async def check_item(store: ObjectStore, item: StoredObject) -> list[ObjectMismatch]:
    """Mismatches of one evidence record's original and thumbnail."""
    found: list[ObjectMismatch] = []
    targets: list[tuple[str, str, int | None]] = [(item.object_key, item.sha256, item.size)]
    if item.thumbnail_key and item.thumbnail_sha256:
        targets.append((item.thumbnail_key, item.thumbnail_sha256, None))
    for key, expected, size in targets:
        result = await rehash(store, key)
        if result is None:
            found.append(_mismatch(item, key, expected, None, "object missing from the store"))
        elif result[0] != expected:
            found.append(_mismatch(item, key, expected, result[0], "stored bytes no longer match the recorded SHA-256"))
        elif size is not None and result[1] != size:
            found.append(_mismatch(item, key, expected, result[0], f"stored size {result[1]} differs from recorded {size}"))
    return found


async def _log_check(item: StoredObject, mismatches: list[ObjectMismatch], actor_id: UUID | None) -> None:
    await append_event(
        event="evidence.hash_checked",
        actor_id=actor_id,
        agency_id=item.agency,
        subject_type="evidence",
        subject_id=str(item.id),
        case_id=item.case_id,
        action_id=item.action_id,
        details={"ok": not mismatches, "problems": [msgspec.to_builtins(m) for m in mismatches]},
    )


async def _stored_objects(scope: Any) -> AsyncIterator[StoredObject]:
    """Evidence records in id order, in batches (bounded memory for any number of objects)."""
    last: UUID | None = None
    while True:
        query = EvidenceItem.select().where(scope)
        if last is not None:
            query = query.where(EvidenceItem.id > last)
        items = await fetch_all(StoredObject, query.order_by(EvidenceItem.id).limit(_BATCH))
        for item in items:
            yield item
        if len(items) < _BATCH:
            return
        last = items[-1].id


async def verify_objects(
    store: ObjectStore,
    *,
    agency_id: UUID | None = None,
    case_id: UUID | None = None,
    actor_id: UUID | None = None,
    progress: Progress | None = None,
) -> ObjectsReport:
    """Re-hash every evidence object (optionally of one agency/case); report each mismatch."""
    scope: Any = EvidenceItem.id.is_not_null()
    if agency_id is not None:
        scope &= EvidenceItem.agency == agency_id
    if case_id is not None:
        scope &= EvidenceItem.case_id == case_id
    total = await EvidenceItem.count().where(scope)
    mismatches: list[ObjectMismatch] = []
    done = 0
    async for item in _stored_objects(scope):
        found = await check_item(store, item)
        await _log_check(item, found, actor_id)
        mismatches += found
        done += 1
        if progress is not None:
            await progress(done, total, mismatches)
    return ObjectsReport(ok=not mismatches, objects_checked=done, mismatches=mismatches)


# --- per-case background runs ------------------------------------------------------------


async def start_case_run(*, principal: Principal, case_id: UUID) -> VerificationRunOut:
    """Queue a re-hash of a case's objects; the caller has checked the case is its agency's."""
    run = VerificationRun(agency_id=principal.agency_id, case_id=case_id, requested_by=principal.user_id, started_at=clock.now())
    await VerificationRun.insert(run)
    return await get_run(principal=principal, run_id=run.id)


async def get_run(*, principal: Principal, run_id: UUID) -> VerificationRunOut:
    row = (
        await VerificationRun.select()
        .where((VerificationRun.id == run_id) & (VerificationRun.agency_id == principal.agency_id))
        .first()
    )
    if row is None:
        raise NotFound("no such verification run")
    # The findings are stored as JSON text (the progress callback rewrites them as it goes).
    return row_as(VerificationRunOut, {**row, "mismatches": msgspec.json.decode(row["mismatches"])})


class _RunScope(msgspec.Struct, frozen=True, kw_only=True):
    agency_id: UUID
    case_id: UUID | None
    requested_by: UUID | None


async def execute_run(*, store: ObjectStore, run_id: UUID) -> None:
    """Run a queued verification, writing progress to its row (any process may read it)."""
    run = await fetch_one(_RunScope, VerificationRun.select().where(VerificationRun.id == run_id))
    if run is None:
        return

    async def progress(done: int, total: int, mismatches: list[ObjectMismatch]) -> None:
        await VerificationRun.update(
            {
                VerificationRun.done: done,
                VerificationRun.total: total,
                VerificationRun.mismatches: json_text(mismatches),
            }
        ).where(VerificationRun.id == run_id)

    await VerificationRun.update({VerificationRun.status: "running"}).where(VerificationRun.id == run_id)
    try:
        await verify_objects(store, agency_id=run.agency_id, case_id=run.case_id, actor_id=run.requested_by, progress=progress)
    except Exception as exc:  # noqa: BLE001 - a failed run must say so on its row, not vanish
        await VerificationRun.update(
            {
                VerificationRun.status: "failed",
                VerificationRun.error: f"{type(exc).__name__}: {exc}",
                VerificationRun.finished_at: clock.now(),
            }
        ).where(VerificationRun.id == run_id)
        return
    await VerificationRun.update({VerificationRun.status: "finished", VerificationRun.finished_at: clock.now()}).where(
        VerificationRun.id == run_id
    )
