"""Paper the demo's past needs on file: each record is a photo of the signed document, taken
by the officer's phone and stored through the one capture pipeline (R-REC-1, R-REC-5)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from datetime import datetime
from uuid import UUID

from PIL import Image

from backend.core.settings import Settings
from backend.demo.common import demo_id, principal
from backend.field import schemas as field_schemas
from backend.field import stages
from backend.field.cases import authorize_capture
from evidence import capture
from evidence.schemas import CaptureDeclaration
from evidence.store import open_store

# 新绛县 (龙兴镇): where the demo's photos say they were taken.
LATITUDE, LONGITUDE = 35.6163, 111.2251


def photo(label: str) -> bytes:
    """A small JPEG, different for every label (identical bytes would be stored once)."""
    seed = hashlib.sha256(label.encode()).digest()
    buffer = io.BytesIO()
    Image.new("RGB", (48, 32), (seed[0], seed[1], seed[2])).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def take_photo(settings: Settings, *, username: str, case_id: UUID, label: str, taken_at: datetime) -> UUID:
    """The officer photographs a document of the case; the evidence id."""
    officer = await principal(username)
    data = photo(label)
    device = f"phone-{username}"
    context = await authorize_capture(principal=officer, case_id=case_id, action_id=None, device_id=device)
    declared = CaptureDeclaration(
        sha256=hashlib.sha256(data).hexdigest(),
        kind="photo",
        captured_at=taken_at,
        device_id=device,
        lat=LATITUDE,
        lon=LONGITUDE,
        filename=f"{label}.jpg",
    )
    result = await capture.receive_direct(
        store=open_store(settings), chunks=_once(data), declared=declared, context=context, settings=settings
    )
    return result.evidence.id


async def file_record(settings: Settings, *, username: str, case_id: UUID, title: str, at_time: datetime) -> UUID:
    """A stage record: the photographed document filed in the case's current stage; its evidence id."""
    evidence_id = await take_photo(settings, username=username, case_id=case_id, label=title, taken_at=at_time)
    record = field_schemas.CaseRecordIn(
        id=demo_id(f"record:{case_id}:{title}"), kind="document", title=title, evidence_id=evidence_id
    )
    await stages.add_record(principal=await principal(username), case_id=case_id, data=record)
    return evidence_id


async def advance(*, username: str, case_id: UUID, to_stage: str) -> None:
    data = field_schemas.StageAdvanceIn(to_stage=to_stage)  # type: ignore[arg-type]
    await stages.advance_stage(principal=await principal(username), case_id=case_id, data=data)
