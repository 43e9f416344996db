"""``fieldproof reconcile``: objects without rows and rows without objects, on either store (issue 15).

Captures are checked before a byte is stored and sealed before their row is written
(``evidence/capture.py``), so a crash or a fault between the two can still leave:

- a staged object (``staging/…``) no live upload owns — with ``--fix`` it is deleted: staged
  bytes never were evidence;
- a sealed object (``sha256/…``) no evidence record names — never deleted (R-REC-6: evidence
  keys are written once and kept; under object lock the store could not delete it anyway).
  When a ``completing`` upload declared those bytes, ``--fix`` finishes that completion
  (``evidence/uploads/finishing.py``), which writes the record: re-linked. Otherwise it is
  reported with its retention, for a person to decide;
- an evidence record whose object is missing — when a staged copy of an upload that
  declared the same SHA-256 still lies in the store, ``--fix`` re-hashes it and, if it
  matches, copies it back to the content key (re-linked); otherwise reported.

Pending multipart uploads are not objects: ``fieldproof sweep-uploads`` aborts those no
upload owns. The report is JSON like ``verify-objects`` (``backend/ops.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.rows import fetch_all
from backend.core.settings import Settings
from evidence.custody.objects import rehash
from evidence.store import ObjectStore, StoreError, content_hex, is_staging
from evidence.storing import seal
from evidence.tables import EvidenceItem
from evidence.uploads.finishing import retry_completion
from evidence.uploads.state import OPEN_STATUSES, staging_key, upload_id_of_key
from evidence.uploads.tables import Upload

FindingKind = Literal["orphan-staged", "orphan-sealed", "missing-object", "missing-thumbnail"]
Outcome = Literal["reported", "deleted", "relinked", "kept"]


class Finding(msgspec.Struct, kw_only=True):
    kind: FindingKind
    key: str
    outcome: Outcome = "reported"
    evidence_id: UUID | None = None
    upload_id: UUID | None = None
    retain_until: datetime | None = None
    detail: str = ""


class ReconcileReport(msgspec.Struct, kw_only=True):
    ok: bool = True  # nothing left unexplained after this run (fixed findings count as explained)
    fix: bool = False
    objects: int = 0
    evidence_records: int = 0
    objects_without_rows: list[Finding] = msgspec.field(default_factory=list)
    rows_without_objects: list[Finding] = msgspec.field(default_factory=list)
    errors: list[str] = msgspec.field(default_factory=list)
    checked_at: datetime | None = None


class _Record(msgspec.Struct, kw_only=True):
    id: UUID
    sha256: str
    object_key: str
    thumbnail_key: str | None


class _UploadRef(msgspec.Struct, kw_only=True):
    id: UUID
    status: str
    declared_sha256: str
    staging_key: str


async def reconcile(store: ObjectStore, *, settings: Settings, fix: bool = False) -> ReconcileReport:
    """Compare the store's keys with the evidence and upload rows; with ``fix``, clean or re-link."""
    report = ReconcileReport(fix=fix, checked_at=clock.now())
    keys = set(await store.list_keys())
    records = await fetch_all(
        _Record, EvidenceItem.select(EvidenceItem.id, EvidenceItem.sha256, EvidenceItem.object_key, EvidenceItem.thumbnail_key)
    )
    uploads = await fetch_all(_UploadRef, Upload.select(Upload.id, Upload.status, Upload.declared_sha256, Upload.staging_key))
    report.objects, report.evidence_records = len(keys), len(records)
    named = {r.object_key for r in records} | {r.thumbnail_key for r in records if r.thumbnail_key}
    # Rows first: a staged copy that re-links a record is deleted only after it served.
    for record in records:
        await _row_without_object(store, record, keys=keys, uploads=uploads, settings=settings, fix=fix, report=report)
    for key in sorted(keys - named):
        finding = await _object_without_row(store, key, uploads=uploads, settings=settings, fix=fix)
        if finding is not None:
            report.objects_without_rows.append(finding)
    findings = [*report.objects_without_rows, *report.rows_without_objects]
    report.ok = not report.errors and all(f.outcome in {"deleted", "relinked"} for f in findings)
    return report


async def _object_without_row(
    store: ObjectStore, key: str, *, uploads: list[_UploadRef], settings: Settings, fix: bool
) -> Finding | None:
    if is_staging(key):
        upload_id = upload_id_of_key(key)
        owner = next((u for u in uploads if u.id == upload_id), None)
        if owner is not None and owner.status in OPEN_STATUSES:
            return None  # a live upload's bytes
        finding = Finding(kind="orphan-staged", key=key, upload_id=upload_id, detail="no live upload owns these staged bytes")
        if fix:
            await store.delete_staged(key)
            finding.outcome = "deleted"
        return finding
    info = await store.stat(key)
    finding = Finding(
        kind="orphan-sealed",
        key=key,
        retain_until=info.retain_until if info else None,
        detail="sealed evidence bytes no record names; evidence keys are never deleted (R-REC-6)",
    )
    hex_digest = content_hex(key)
    completing = next((u for u in uploads if u.status == "completing" and u.declared_sha256 == hex_digest), None)
    if completing is not None:
        finding.upload_id = completing.id
        finding.detail = "a completion stopped after sealing and before the record"
        if fix:
            try:
                state = await retry_completion(upload_id=completing.id, store=store, settings=settings)
            except Exception as exc:  # noqa: BLE001 - reported: a person decides
                finding.detail += f"; finishing it failed: {type(exc).__name__}: {exc}"
                return finding
            finding.outcome = "relinked" if state.evidence_id is not None else "reported"
            finding.evidence_id = state.evidence_id
    elif fix:
        finding.outcome = "kept"
    return finding


async def _row_without_object(
    store: ObjectStore,
    record: _Record,
    *,
    keys: set[str],
    uploads: list[_UploadRef],
    settings: Settings,
    fix: bool,
    report: ReconcileReport,
) -> None:
    if record.thumbnail_key and record.thumbnail_key not in keys:
        # A thumbnail is derived: the original is the evidence, and a new one can be made.
        report.rows_without_objects.append(
            Finding(kind="missing-thumbnail", key=record.thumbnail_key, evidence_id=record.id, outcome="kept")
        )
    if record.object_key in keys:
        return
    finding = Finding(kind="missing-object", key=record.object_key, evidence_id=record.id, detail="the record's bytes are gone")
    report.rows_without_objects.append(finding)
    copies = [staging_key(u.id) for u in uploads if u.declared_sha256 == record.sha256 and staging_key(u.id) in keys]
    if not copies:
        return
    finding.detail = f"a staged copy lies at {copies[0]}"
    if fix:
        try:
            await _relink(store, record=record, source=copies[0], settings=settings, finding=finding)
        except StoreError as exc:
            report.errors.append(f"relink {record.id}: {exc}")


async def _relink(store: ObjectStore, *, record: _Record, source: str, settings: Settings, finding: Finding) -> None:
    """Copy a staged copy back to the content key, only if its bytes hash to the record's SHA-256."""
    hashed = await rehash(store, source)
    if hashed is None or hashed[0] != record.sha256:
        finding.detail = f"the staged copy at {source} does not hash to the record's SHA-256"
        return
    await store.copy(source, record.object_key)
    await seal(store=store, key=record.object_key, settings=settings, received_at=clock.now())
    finding.outcome = "relinked"


__all__ = ["Finding", "ReconcileReport", "reconcile"]
