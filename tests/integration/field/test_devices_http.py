"""Device keys and signed offline capture manifests (R-REC-5), matched against uploads."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from backend.core import clock
from backend.field.tables import CaptureManifest, CheckIn, ManifestEntry
from evidence.tables import EvidenceItem
from evidence.uploads.tables import Upload
from tests.factories import GPS, MOBILE, OFFICE, Field, field_team, open_case, plan_action
from tests.integration.evidence.media_factory import jpeg
from tests.integration.field.field_helpers import problem


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_public(key: Ed25519PrivateKey) -> str:
    return b64(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


@pytest.fixture
async def f(client):
    return await field_team(client)


async def _register(f: Field, name: str = "wang") -> tuple[Ed25519PrivateKey, str]:
    key = Ed25519PrivateKey.generate()
    device_id = str(uuid.uuid4())
    response = await f.client.post(
        f"{MOBILE}/devices", json={"id": device_id, "public_key": raw_public(key), "label": "Huawei P60"}, headers=f.h(name)
    )
    assert response.status_code == 201, response.text
    return key, device_id


def _manifest(
    key: Ed25519PrivateKey, device_id: str, action_id: str, entries: list[dict[str, Any]], *, device_time: datetime | None = None
) -> dict[str, str]:
    payload = json.dumps(
        {
            "id": str(uuid.uuid4()),
            "action_id": action_id,
            "device_id": device_id,
            "device_time": (device_time or clock.now()).isoformat(),
            "entries": entries,
        },
        ensure_ascii=False,
    )
    return {"payload": payload, "signature": b64(key.sign(payload.encode()))}


def _entry(data: bytes, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "file_name": name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "media_type": "image/jpeg",
        "captured_at": clock.now().isoformat(),
        **extra,
    }


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-5")
async def test_signed_manifest_is_matched_against_uploads(f):
    case = await open_case(f)
    action = await plan_action(f, case["id"], kind="inspection", participants=("wang", "li"), checked_in=("wang",))
    aid = action["id"]
    key, device_id = await _register(f)
    photo, lost = jpeg(color="red"), jpeg(color="green")
    body = _manifest(
        key, device_id, aid, [_entry(photo, "IMG_1.jpg"), _entry(lost, "IMG_2.jpg")], device_time=clock.now() - timedelta(hours=3)
    )
    submitted = await f.client.post(f"{MOBILE}/actions/{aid}/manifests", json=body, headers=f.h("wang"))
    assert submitted.status_code == 201, submitted.text
    out = submitted.json()
    assert out["skew_flagged"] is True
    assert out["skew_s"] < -10000
    assert [e["status"] for e in out["entries"]] == ["missing", "missing"]
    # The same signed manifest sent again is the same record.
    again = await f.client.post(f"{MOBILE}/actions/{aid}/manifests", json=body, headers=f.h("wang"))
    assert again.status_code == 201
    assert again.json()["id"] == out["id"]
    assert await CaptureManifest.count() == 1
    assert await ManifestEntry.count() == 2

    params = {
        "case_id": case["id"],
        "action_id": aid,
        "kind": "photo",
        "sha256": hashlib.sha256(photo).hexdigest(),
        "captured_at": clock.now().isoformat(),
        "device_id": device_id,
    }
    uploaded = await f.client.post(
        f"{MOBILE}/evidence", params=params, content=photo, headers={**f.h("wang"), "Content-Type": "image/jpeg"}
    )
    assert uploaded.status_code == 201, uploaded.text
    later = (await f.client.get(f"{MOBILE}/actions/{aid}/manifests/{out['id']}", headers=f.h("wang"))).json()
    assert [e["status"] for e in later["entries"]] == ["matched", "missing"]
    assert later["entries"][0]["evidence_id"] == uploaded.json()["evidence_id"]
    checklist = (await f.client.get(f"{MOBILE}/actions/{aid}", headers=f.h("wang"))).json()
    assert checklist["manifest_flags"] == [f"missing: IMG_2.jpg ({hashlib.sha256(lost).hexdigest()[:12]})"]


@pytest.mark.requirement("R-REC-5")
async def test_tampered_manifest_and_foreign_or_revoked_device_are_refused(f):
    case = await open_case(f)
    action = await plan_action(f, case["id"], kind="inspection", participants=("wang", "li"))
    aid = action["id"]
    key, device_id = await _register(f)
    body = _manifest(key, device_id, aid, [_entry(b"abc", "a.jpg")])
    tampered = {**body, "payload": body["payload"].replace('"size": 3', '"size": 4')}
    problem(
        await f.client.post(f"{MOBILE}/actions/{aid}/manifests", json=tampered, headers=f.h("wang")),
        422,
        "manifest-signature-invalid",
    )
    other_key = Ed25519PrivateKey.generate()
    forged = {**body, "signature": b64(other_key.sign(body["payload"].encode()))}
    problem(
        await f.client.post(f"{MOBILE}/actions/{aid}/manifests", json=forged, headers=f.h("wang")),
        422,
        "manifest-signature-invalid",
    )
    # 李 cannot use 王's device.
    li_body = _manifest(key, device_id, aid, [_entry(b"abc", "a.jpg")])
    problem(await f.client.post(f"{MOBILE}/actions/{aid}/manifests", json=li_body, headers=f.h("li")), 404, "not-found")
    wrong_action = _manifest(key, device_id, str(uuid.uuid4()), [_entry(b"abc", "a.jpg")])
    problem(
        await f.client.post(f"{MOBILE}/actions/{aid}/manifests", json=wrong_action, headers=f.h("wang")), 422, "invalid-input"
    )
    not_json = {"payload": "not json at all", "signature": body["signature"]}
    problem(await f.client.post(f"{MOBILE}/actions/{aid}/manifests", json=not_json, headers=f.h("wang")), 422, "invalid-input")

    # Only an admin revokes; afterwards the device's manifests are refused.
    problem(await f.client.post(f"{OFFICE}/devices/{device_id}/revoke", headers=f.h("liu")), 403, "forbidden")
    revoked = await f.client.post(f"{OFFICE}/devices/{device_id}/revoke", headers=f.h("zhou"))
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    # The lost phone's sessions end at once (docs/DEVELOPING.md, phone API): 王's old token is refused.
    problem(await f.client.post(f"{MOBILE}/actions/{aid}/manifests", json=body, headers=f.h("wang")), 401, "unauthorized")
    issuer = f.client.app.dependencies["issuer"].dependency()
    fresh = issuer.issue(msgspec.structs.replace(f.people["wang"].principal, security_version=2))
    relogged = {"Authorization": f"Bearer {fresh}"}
    problem(await f.client.post(f"{MOBILE}/actions/{aid}/manifests", json=body, headers=relogged), 403, "device-revoked")
    listed = (await f.client.get(f"{OFFICE}/devices", headers=f.h("zhou"))).json()
    assert [d["id"] for d in listed] == [device_id]
    assert await CaptureManifest.count() == 0


async def test_device_registration_input_and_rebinding(f):
    key = Ed25519PrivateKey.generate()
    short = {"id": str(uuid.uuid4()), "public_key": "abc"}
    problem(await f.client.post(f"{MOBILE}/devices", json=short, headers=f.h("wang")), 400, "validation-error")
    not_base64 = {"id": str(uuid.uuid4()), "public_key": "!" * 43}
    problem(await f.client.post(f"{MOBILE}/devices", json=not_base64, headers=f.h("wang")), 400, "validation-error")
    fresh = str(uuid.uuid4())
    body = {"id": fresh, "public_key": raw_public(key)}
    assert (await f.client.post(f"{MOBILE}/devices", json=body, headers=f.h("wang"))).status_code == 201
    assert (await f.client.post(f"{MOBILE}/devices", json=body, headers=f.h("wang"))).status_code == 201
    rekey = {"id": fresh, "public_key": raw_public(Ed25519PrivateKey.generate())}
    problem(await f.client.post(f"{MOBILE}/devices", json=rekey, headers=f.h("wang")), 409, "conflict")
    problem(await f.client.post(f"{MOBILE}/devices", json=body, headers=f.h("li")), 409, "conflict")
    mine = (await f.client.get(f"{MOBILE}/devices", headers=f.h("li"))).json()
    assert mine == []


def _tus_metadata(data: bytes, case_id: str, device_id: str) -> str:
    values = {
        "filename": "scene.jpg",
        "filetype": "image/jpeg",
        "sha256": hashlib.sha256(data).hexdigest(),
        "case_id": case_id,
        "captured_at": clock.now().isoformat(),
        "device_id": device_id,
    }
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-5")
async def test_a_revoked_device_is_refused_at_check_in_and_capture(f):
    case = await open_case(f)
    action = await plan_action(f, case["id"], kind="inspection", participants=("wang", "li"))
    aid = action["id"]
    _, device_id = await _register(f)
    assert (await f.client.post(f"{OFFICE}/devices/{device_id}/revoke", headers=f.h("zhou"))).status_code == 200
    # The lost phone is refused whoever holds it (李's own session is still valid).
    check_in = {"id": str(uuid.uuid4()), "device_id": device_id, "device_time": clock.now().isoformat(), "location": GPS}
    refused = await f.client.post(f"{MOBILE}/actions/{aid}/check-ins", json=check_in, headers=f.h("li"))
    assert problem(refused, 403, "device-revoked")["field"] == "device_id"
    assert await CheckIn.count() == 0
    photo = jpeg(color="blue")
    params = {
        "case_id": case["id"],
        "kind": "photo",
        "sha256": hashlib.sha256(photo).hexdigest(),
        "captured_at": clock.now().isoformat(),
        "device_id": device_id,
    }
    direct = await f.client.post(
        f"{MOBILE}/evidence", params=params, content=photo, headers={**f.h("li"), "Content-Type": "image/jpeg"}
    )
    problem(direct, 403, "device-revoked")
    tus_headers = {
        **f.h("li"),
        "Tus-Resumable": "1.0.0",
        "Upload-Length": str(len(photo)),
        "Upload-Metadata": _tus_metadata(photo, case["id"], device_id),
    }
    problem(await f.client.post(f"{MOBILE}/uploads/", headers=tus_headers), 403, "device-revoked")
    assert await EvidenceItem.count() == 0
    assert await Upload.count() == 0
    # Ids that are not registered devices (phones without a key) are accepted as before.
    unregistered = {**check_in, "id": str(uuid.uuid4()), "device_id": str(uuid.uuid4())}
    assert (await f.client.post(f"{MOBILE}/actions/{aid}/check-ins", json=unregistered, headers=f.h("li"))).status_code == 201
    free_text = {**params, "device_id": "phone-li"}
    assert (
        await f.client.post(
            f"{MOBILE}/evidence", params=free_text, content=photo, headers={**f.h("li"), "Content-Type": "image/jpeg"}
        )
    ).status_code == 201


async def test_registering_a_revoked_device_again_says_it_was_revoked(f):
    key = Ed25519PrivateKey.generate()
    body = {"id": str(uuid.uuid4()), "public_key": raw_public(key)}
    assert (await f.client.post(f"{MOBILE}/devices", json=body, headers=f.h("wang"))).status_code == 201
    assert (await f.client.post(f"{OFFICE}/devices/{body['id']}/revoke", headers=f.h("zhou"))).status_code == 200
    issuer = f.client.app.dependencies["issuer"].dependency()
    relogged = {
        "Authorization": f"Bearer {issuer.issue(msgspec.structs.replace(f.people['wang'].principal, security_version=2))}"
    }
    for attempt in [body, {**body, "public_key": raw_public(Ed25519PrivateKey.generate())}]:
        answer = problem(await f.client.post(f"{MOBILE}/devices", json=attempt, headers=relogged), 403, "device-revoked")
        # The detail (zh-CN by default) tells the officer to register the phone under a new id.
        assert "新的设备标识" in answer["detail"]
    # A new id for the same phone registers normally.
    fresh = {**body, "id": str(uuid.uuid4())}
    assert (await f.client.post(f"{MOBILE}/devices", json=fresh, headers=relogged)).status_code == 201
