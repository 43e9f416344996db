"""Phone device keys and signed offline capture manifests (R-REC-5).

A phone registers an Ed25519 public key; offline captures are listed in a manifest (file,
SHA-256, size, capture time) whose exact bytes the device signs. Uploads that arrive later
are matched to manifest entries by hash; missing or mismatching files are flagged.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from uuid import UUID

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from piccolo.custom_types import Combinable

from backend.core import clock
from backend.core.access import agency_parts, authorize
from backend.core.auth import Principal
from backend.core.db import unique_as, write_transaction
from backend.core.errors import Conflict, InvalidInput, NotFound
from backend.core.rows import fetch_all, fetch_one
from backend.core.settings import Settings
from backend.field import phone_schemas, rules
from backend.field.actions import action_row, ensure_participant, skew
from backend.field.device_status import DeviceRevoked
from backend.field.rows import ActionRow
from backend.field.tables import CaptureManifest, Device, ManifestEntry
from backend.ledger.service import append_case_event
from backend.org import service as org_service
from evidence import records as evidence_records


class ManifestSignatureInvalid(InvalidInput):
    slug = "manifest-signature-invalid"
    title = "The manifest signature does not verify with the device key"


def _b64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


# Built once: the response body read straight from the row (aliases are deep copies).
_DEVICE_COLUMNS = (
    Device.id,
    Device.user.as_alias("user_id"),
    Device.device_label.as_alias("label"),
    Device.public_key,
    Device.registered_at,
    Device.revoked_at,
)


async def _device(where: Combinable) -> phone_schemas.DeviceOut | None:
    return await fetch_one(phone_schemas.DeviceOut, Device.select(*_DEVICE_COLUMNS).where(where))


class _ManifestRow(msgspec.Struct, kw_only=True, rename={"action_id": "action", "device_id": "device"}):
    id: UUID
    action_id: UUID
    device_id: UUID
    body: str
    server_time: datetime
    device_time: datetime
    skew_s: float
    skew_flagged: bool


class _EntryRow(msgspec.Struct, kw_only=True):
    file_name: str
    sha256: str
    size: int
    captured_at: datetime


async def register_device(*, principal: Principal, data: phone_schemas.DeviceIn) -> phone_schemas.DeviceOut:
    key = data.public_key.rstrip("=")
    try:
        Ed25519PublicKey.from_public_bytes(_b64url(key))
    except (ValueError, binascii.Error):
        raise InvalidInput("public_key is not a raw Ed25519 public key (base64url, 32 bytes)", field="public_key") from None
    existing = await _device(Device.id == data.id)
    if existing is not None:
        if existing.revoked_at is not None:
            # A revoked id stays revoked (a found phone is not trusted again): say so, not "duplicate".
            raise DeviceRevoked(
                f"device {data.id} was revoked; register this phone under a new device id with a new key", field="id"
            )
        if existing.user_id != principal.user_id or existing.public_key != key:
            # A device id is bound to one user and one key for ever: re-keying is a new device.
            raise Conflict(f"device {data.id} is already registered with another key or user", field="id")
        return existing
    async with write_transaction():
        with unique_as(f"device {data.id} already exists", field="id"):
            await Device.insert(
                Device(
                    id=data.id,
                    user=principal.user_id,
                    agency=principal.agency_id,
                    device_label=data.label,
                    public_key=key,
                    registered_at=clock.now(),
                )
            )
    registered = await _device(Device.id == data.id)
    assert registered is not None
    return registered


async def list_devices(*, principal: Principal, user_id: UUID | None = None) -> list[phone_schemas.DeviceOut]:
    query = Device.select(*_DEVICE_COLUMNS).where(Device.agency == principal.agency_id)
    if user_id is not None:
        query = query.where(Device.user == user_id)
    return await fetch_all(phone_schemas.DeviceOut, query.order_by(Device.registered_at))


async def revoke_device(*, principal: Principal, device_id: UUID) -> phone_schemas.DeviceOut:
    """An admin revokes a lost phone: its manifests are refused and its holder's sessions end now."""
    device = await _device((Device.id == device_id) & (Device.agency == principal.agency_id))
    if device is None:
        raise NotFound(f"device {device_id} not found")
    authorize(agency_parts(principal), rules.DEVICE_REVOKE)
    if device.revoked_at is None:
        await Device.update({Device.revoked_at: clock.now(), Device.revoked_by: principal.user_id}).where(Device.id == device_id)
        # A lost phone holds live tokens: revoking it ends its holder's sessions at once.
        await org_service.end_sessions(user_id=device.user_id)
        device = await _device(Device.id == device_id)
        assert device is not None
    return device


def _verify_signature(public_key: str, payload: str, signature: str) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(_b64url(public_key)).verify(_b64url(signature), payload.encode())
    except (InvalidSignature, ValueError, binascii.Error):
        raise ManifestSignatureInvalid("the signature does not match the payload and the device key", field="signature") from None


def _parse_payload(payload: str) -> phone_schemas.ManifestPayload:
    try:
        return msgspec.json.decode(payload.encode(), type=phone_schemas.ManifestPayload)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"payload: {exc}", field="payload") from None
    except msgspec.DecodeError:
        raise InvalidInput("payload is not JSON", field="payload") from None


async def submit_manifest(
    *, principal: Principal, action_id: UUID, data: phone_schemas.ManifestIn, settings: Settings
) -> phone_schemas.ManifestOut:
    # The caller's part first: a signed manifest is read only from a participant.
    action = await action_row(principal=principal, action_id=action_id)
    await ensure_participant(principal=principal, action=action)
    manifest = _parse_payload(data.payload)
    if manifest.action_id != action_id:
        raise InvalidInput("the manifest names another action", field="payload")
    device = await _device((Device.id == manifest.device_id) & (Device.user == principal.user_id))
    if device is None:
        raise NotFound(f"device {manifest.device_id} is not registered to you", field="payload")
    if device.revoked_at is not None:
        raise DeviceRevoked(f"device {manifest.device_id} was revoked")
    _verify_signature(device.public_key, data.payload, data.signature)
    existing = await fetch_one(_ManifestRow, CaptureManifest.select().where(CaptureManifest.id == manifest.id))
    if existing is None:
        await _store_manifest(principal, action, manifest, data, settings)
    elif existing.action_id != action_id or existing.body != data.payload:
        raise Conflict(f"manifest {manifest.id} was already submitted with other content", field="payload")
    return await get_manifest(principal=principal, action_id=action_id, manifest_id=manifest.id)


async def _store_manifest(
    principal: Principal,
    action: ActionRow,
    manifest: phone_schemas.ManifestPayload,
    data: phone_schemas.ManifestIn,
    settings: Settings,
) -> None:
    now = clock.now()
    skew_s, flagged = skew(manifest.device_time, now, settings.clock_skew_tolerance_s)
    async with write_transaction():
        await CaptureManifest.insert(
            CaptureManifest(
                id=manifest.id,
                action=action.id,
                device=manifest.device_id,
                user=principal.user_id,
                body=data.payload,
                signature=data.signature,
                server_time=now,
                device_time=manifest.device_time,
                skew_s=skew_s,
                skew_flagged=flagged,
            )
        )
        for entry in manifest.entries:
            await ManifestEntry.insert(
                ManifestEntry(
                    id=uuid.uuid4(),
                    manifest=manifest.id,
                    action=action.id,
                    file_name=entry.file_name,
                    sha256=entry.sha256,
                    size=entry.size,
                    media_type=entry.media_type,
                    captured_at=entry.captured_at,
                )
            )
        await append_case_event(
            principal=principal,
            event="manifest.received",
            case_id=action.case_id,
            action_id=action.id,
            subject_type="manifest",
            subject_id=manifest.id,
            details={"device_id": str(manifest.device_id), "entries": len(manifest.entries), "skew_s": skew_s},
        )


async def _entry_statuses(action: ActionRow, entries: list[_EntryRow]) -> list[phone_schemas.ManifestEntryStatus]:
    items = await evidence_records.list_for_action(agency_id=action.agency_id, action_id=action.id)
    by_hash = {item.sha256.lower(): item for item in items if item.status != "rejected"}
    statuses = []
    for entry in entries:
        item = by_hash.get(entry.sha256)
        status = "missing" if item is None else ("size_mismatch" if item.size != entry.size else "matched")
        statuses.append(
            phone_schemas.ManifestEntryStatus(
                file_name=entry.file_name,
                sha256=entry.sha256,
                size=entry.size,
                captured_at=entry.captured_at,
                status=status,  # type: ignore[arg-type]
                evidence_id=item.id if item is not None else None,
            )
        )
    return statuses


async def get_manifest(*, principal: Principal, action_id: UUID, manifest_id: UUID) -> phone_schemas.ManifestOut:
    action = await action_row(principal=principal, action_id=action_id)
    query = CaptureManifest.select().where((CaptureManifest.id == manifest_id) & (CaptureManifest.action == action_id))
    row = await fetch_one(_ManifestRow, query)
    if row is None:
        raise NotFound(f"manifest {manifest_id} not found")
    query = ManifestEntry.select().where(ManifestEntry.manifest == manifest_id).order_by(ManifestEntry.captured_at)
    entries = await _entry_statuses(action, await fetch_all(_EntryRow, query))
    return msgspec.convert({**msgspec.structs.asdict(row), "entries": entries}, phone_schemas.ManifestOut)


async def manifest_flags(*, action: ActionRow) -> list[str]:
    """Entries not (yet) matched by an upload: shown on the phone checklist."""
    entries = await fetch_all(_EntryRow, ManifestEntry.select().where(ManifestEntry.action == action.id))
    return [
        f"{s.status}: {s.file_name} ({s.sha256[:12]})" for s in await _entry_statuses(action, entries) if s.status != "matched"
    ]
