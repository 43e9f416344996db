"""Resumable uploads still running for an action (R-REC-4: still uploading = pending, not covered)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from evidence.uploads.tables import Upload


def _declared_action(metadata: Any) -> str | None:
    if isinstance(metadata, str):
        metadata = msgspec.json.decode(metadata or "{}")
    value = metadata.get("action_id") if isinstance(metadata, dict) else None
    return str(value) if value else None


async def pending_for_action(*, agency_id: UUID, action_id: UUID) -> int:
    """Open uploads of the agency declared for this action (any officer's device)."""
    rows = await Upload.select(Upload.metadata).where((Upload.agency_id == agency_id) & (Upload.status == "open"))
    return sum(1 for row in rows if _declared_action(row["metadata"]) == str(action_id))
