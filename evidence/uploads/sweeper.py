"""Expiry and cleanup of staged upload data (run by ``fieldproof sweep-uploads`` and on a schedule).

Age is judged from our own rows, never from the store's multipart listing (moto reports
every pending upload as started in 2010; MinIO keeps them 24 h and has no abort rule).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import msgspec
import structlog

from backend.core import clock
from backend.core.rows import fetch_all, fetch_one
from backend.core.settings import Settings
from evidence.store import ObjectStore
from evidence.uploads.finishing import clean_staged, retry_completion
from evidence.uploads.locks import LOCK_LEASE_S, lock_free
from evidence.uploads.schemas import SweepReport
from evidence.uploads.state import OPEN_STATUSES, UploadRow, upload_id_of_key
from evidence.uploads.tables import Upload

log = structlog.get_logger("fieldproof.uploads.sweeper")

FINISHED = ["expired", "terminated", "rejected", "completed"]


class _UploadId(msgspec.Struct, kw_only=True):
    id: UUID


class _Owner(msgspec.Struct, kw_only=True):
    """Whether a row still owns (or may be creating) a multipart upload."""

    status: str
    multipart_id: str | None
    lock_token: str | None
    lock_expires_at: datetime | None


async def sweep_expired_uploads(
    store: ObjectStore, *, settings: Settings | None = None, now: datetime | None = None
) -> SweepReport:
    """Expire overdue uploads, delete staged bytes of finished ones, abort orphan multiparts,
    and (given ``settings``) retry completions a crashed process left half-done.

    Safe to run from several processes at once: every state change is a conditional update.
    """
    now = now or clock.now()
    report = SweepReport()
    # An upload that received nothing within tus_idle_expiry_s gives its reservation back
    # early (issue 15 #8): creating large uploads and sending no bytes must not hold the quota.
    idle_s = (settings or Settings()).tus_idle_expiry_s
    idle = (Upload.offset == 0) & (Upload.created_at <= now - timedelta(seconds=idle_s))
    expired = (
        await Upload.update({Upload.status: "expired", Upload.updated_at: now, Upload.failure: "expired"})
        .where((Upload.status == "open") & ((Upload.expires_at <= now) | idle) & lock_free(now))
        .returning(Upload.id)
    )
    report.expired = len(expired)
    await _clean_finished(store, report)
    if settings is not None:
        await _retry_completions(store, settings, report, now)
    await _abort_orphans(store, report, now)
    log.info("uploads.swept", expired=report.expired, cleaned=report.cleaned, orphans_aborted=report.orphans_aborted)
    return report


async def _clean_finished(store: ObjectStore, report: SweepReport) -> None:
    rows = await fetch_all(UploadRow, Upload.select().where(Upload.status.is_in(FINISHED) & Upload.staged_cleaned_at.is_null()))
    for row in rows:
        try:
            await clean_staged(row=row, store=store)
            report.cleaned += 1
        except Exception as exc:  # noqa: BLE001 - one broken upload must not stop the sweep
            report.errors.append(f"clean {row.id}: {type(exc).__name__}: {exc}")


async def _retry_completions(store: ObjectStore, settings: Settings, report: SweepReport, now: datetime) -> None:
    stalled = await fetch_all(
        _UploadId,
        Upload.select(Upload.id).where(
            (Upload.status == "completing") & lock_free(now) & (Upload.updated_at < now - timedelta(seconds=LOCK_LEASE_S))
        ),
    )
    for row in stalled:
        try:
            await retry_completion(upload_id=row.id, store=store, settings=settings)
            report.completed += 1
        except Exception as exc:  # noqa: BLE001 - reported; a rejected upload is already marked
            report.errors.append(f"complete {row.id}: {type(exc).__name__}: {exc}")


async def _abort_orphans(store: ObjectStore, report: SweepReport, now: datetime) -> None:
    for item in await store.list_incomplete_multipart():
        upload_id = upload_id_of_key(item.key)
        if upload_id is None:
            # Not a staging key of ours: direct uploads abort their own multiparts, and an
            # upload at a content key is aborted through its row (clean_staged) once finished.
            continue
        row = await fetch_one(
            _Owner,
            Upload.select(Upload.status, Upload.multipart_id, Upload.lock_token, Upload.lock_expires_at).where(
                Upload.id == upload_id
            ),
        )
        if row is not None and row.status in OPEN_STATUSES:
            owned = row.multipart_id == item.upload_id
            locked = row.lock_token is not None and row.lock_expires_at is not None and row.lock_expires_at >= now
            if owned or locked:  # a locked row may be creating this multipart right now
                continue
        try:
            await store.abort_multipart(item.key, item.upload_id)
            report.orphans_aborted += 1
        except Exception as exc:  # noqa: BLE001 - reported, retried next sweep
            report.errors.append(f"abort {item.key}: {type(exc).__name__}: {exc}")
