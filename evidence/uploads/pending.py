"""Resumable uploads still running for an action (R-REC-4: still uploading = pending, not covered)."""

from __future__ import annotations

from uuid import UUID

import msgspec

from backend.core.rows import fetch_all
from evidence.uploads.tables import Upload


class _Declared(msgspec.Struct, kw_only=True):
    action_id: UUID | None = None


class _OpenUpload(msgspec.Struct, kw_only=True):
    metadata: _Declared  # the declaration as the phone sent it; only its action matters here


async def pending_for_action(*, agency_id: UUID, action_id: UUID) -> int:
    """Open uploads of the agency declared for this action (any officer's device)."""
    rows = await fetch_all(
        _OpenUpload, Upload.select(Upload.metadata).where((Upload.agency_id == agency_id) & (Upload.status == "open"))
    )
    return sum(1 for row in rows if row.metadata.action_id == action_id)
