"""``fieldproof reconcile`` on both stores (issue 15): objects without rows, rows without objects."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from backend.core import clock
from backend.core.settings import Settings
from evidence import capture
from evidence.custody.reconcile import ReconcileReport, reconcile
from evidence.hashing import content_key
from evidence.schemas import CaptureContext
from evidence.store import ObjectStore
from evidence.tables import EvidenceItem
from evidence.uploads.state import staging_key
from evidence.uploads.tables import Upload
from tests.integration.evidence import media_factory
from tests.integration.evidence.helpers import chunks_of, declare, read_all


def _kinds(report: ReconcileReport) -> list[tuple[str, str, str]]:
    found = [*report.objects_without_rows, *report.rows_without_objects]
    return sorted((f.kind, f.key, f.outcome) for f in found)


async def _finished_upload(context: CaptureContext, data: bytes) -> uuid.UUID:
    """A finished tus upload whose staged copy of ``data`` the sweeper has not removed yet."""
    upload_id, now = uuid.uuid4(), clock.now()
    await Upload.insert(
        Upload(
            id=upload_id,
            owner_id=context.officer_id,
            agency_id=context.agency_id,
            status="completed",
            kind="document",
            length=len(data),
            offset=len(data),
            declared_sha256=hashlib.sha256(data).hexdigest(),
            staging_key=staging_key(upload_id),
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(days=1),
        )
    )
    return upload_id


async def test_reconcile_finds_cleans_and_relinks(store: ObjectStore, store_settings: Settings, context: CaptureContext) -> None:
    photo = media_factory.jpeg()
    result = await capture.receive_direct(
        store=store, chunks=chunks_of(photo), declared=declare(photo), context=context, settings=store_settings
    )
    clean = await reconcile(store, settings=store_settings)
    assert clean.ok, clean
    assert (clean.objects_without_rows, clean.rows_without_objects) == ([], [])
    assert clean.evidence_records == 1

    # 1. Staged bytes nobody owns (an upload id without a row).
    stray = f"staging/tus/{uuid.uuid4()}/file"
    await store.put_stream(stray, chunks_of(b"stray bytes"))
    # 2. Sealed bytes no record names (sealed, then the process died before the row).
    sealed_bytes = b"sealed but never recorded"
    sealed = content_key(hashlib.sha256(sealed_bytes).hexdigest())
    await store.put_stream("staging/tmp-sealed", chunks_of(sealed_bytes))
    await store.copy("staging/tmp-sealed", sealed)
    await store.delete_staged("staging/tmp-sealed")
    # 3. A record whose bytes are gone, with a staged copy left by the upload that brought them.
    lost = b"%PDF-1.4\nthe lost original"
    lost_key = content_key(hashlib.sha256(lost).hexdigest())
    await EvidenceItem.update({EvidenceItem.object_key: lost_key, EvidenceItem.sha256: hashlib.sha256(lost).hexdigest()}).where(
        EvidenceItem.id == result.evidence.id
    )
    upload_id = await _finished_upload(context, lost)
    await store.put_stream(staging_key(upload_id), chunks_of(lost))
    original = result.evidence.object_key  # now named by no record: an orphan too

    found = await reconcile(store, settings=store_settings)
    assert not found.ok
    assert _kinds(found) == sorted(
        [
            ("missing-object", lost_key, "reported"),
            ("orphan-sealed", original, "reported"),
            ("orphan-sealed", sealed, "reported"),
            ("orphan-staged", staging_key(upload_id), "reported"),
            ("orphan-staged", stray, "reported"),
        ]
    )
    if store_settings.store_url:  # S3 object lock: the report says how long the bytes are held
        assert next(f for f in found.objects_without_rows if f.key == original).retain_until is not None
    assert await store.stat(stray) is not None  # without --fix nothing changes

    fixed = await reconcile(store, settings=store_settings, fix=True)
    assert _kinds(fixed) == sorted(
        [
            ("missing-object", lost_key, "relinked"),
            ("orphan-sealed", original, "kept"),
            ("orphan-sealed", sealed, "kept"),
            ("orphan-staged", staging_key(upload_id), "deleted"),
            ("orphan-staged", stray, "deleted"),
        ]
    )
    assert not fixed.ok  # sealed evidence no record names is left for a person to decide
    assert await read_all(store, lost_key) == lost
    assert await store.list_keys("staging/") == []
    assert await read_all(store, sealed) == sealed_bytes  # never deleted (R-REC-6)

    after = await reconcile(store, settings=store_settings)
    assert after.rows_without_objects == []
    assert sorted(f.key for f in after.objects_without_rows) == sorted([original, sealed])


async def test_reconcile_leaves_live_uploads_alone(store: ObjectStore, store_settings: Settings, context: Any) -> None:
    data = b"%PDF-1.4\nhalf sent"
    upload_id = await _finished_upload(context, data)
    await Upload.update({Upload.status: "open"}).where(Upload.id == upload_id)
    await store.put_stream(staging_key(upload_id), chunks_of(data))
    report = await reconcile(store, settings=store_settings, fix=True)
    assert report.ok, report
    assert await store.stat(staging_key(upload_id)) is not None
