"""Who may hand in evidence during an action, and from which phone (issue 14, point 2)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from backend.core import clock
from certificates.tables import Certificate
from evidence.tables import EvidenceItem
from evidence.uploads.tables import Upload
from tests.factories import MOBILE, OFFICE, Field, check_in, field_team, open_case, plan_action
from tests.integration.evidence.media_factory import jpeg
from tests.integration.field.field_helpers import problem


@pytest.fixture
async def f(client):
    return await field_team(client)


async def _photo(f: Field, name: str, case_id: str, action_id: str | None, *, device_id: str | None = None) -> Any:
    photo = jpeg(color="green")
    params = {
        "case_id": case_id,
        "kind": "photo",
        "sha256": hashlib.sha256(photo).hexdigest(),
        "captured_at": clock.now().isoformat(),
        "device_id": device_id or f"phone-{name}",
    }
    if action_id is not None:
        params["action_id"] = action_id
    return await f.client.post(
        f"{MOBILE}/evidence", params=params, content=photo, headers={**f.h(name), "Content-Type": "image/jpeg"}
    )


@pytest.mark.both_engines
@pytest.mark.requirement("R-CERT-4")
async def test_evidence_during_an_action_needs_a_successful_check_in(f):
    case = await open_case(f)
    action = await plan_action(f, case["id"], kind="inspection", participants=("wang", "li", "zhao"), checked_in=("wang",))
    # 赵's certificate is suspended: the check-in is refused, and so is any photo afterwards (found #3).
    await Certificate.update({Certificate.status: "suspended"}).where(Certificate.holder == f.people["zhao"].user.id)
    problem(await check_in(f, "zhao", action["id"]), 409, "certificate-suspended")
    refused = problem(await _photo(f, "zhao", case["id"], action["id"]), 403, "not-checked-in")
    assert action["id"] in refused["detail"]
    # 李 never checked in: refused too; nothing was stored for either.
    problem(await _photo(f, "li", case["id"], action["id"]), 403, "not-checked-in")
    assert await EvidenceItem.count() == 0
    # 王 checked in: accepted, and the evidence names the check-in it was made under.
    accepted = await _photo(f, "wang", case["id"], action["id"])
    assert accepted.status_code == 201, accepted.text
    # Outside actions only the case's handlers: a colleague not on the case sees no case at all.
    await f.join("sun", certified=True)
    problem(await _photo(f, "sun", case["id"], None), 404, "not-found")


def _raw_public(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _metadata(values: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-5")
async def test_a_device_revoked_during_a_tus_upload_hands_in_no_evidence(f):
    case = await open_case(f)
    device_id = str(uuid.uuid4())
    key = Ed25519PrivateKey.generate()
    registered = await f.client.post(
        f"{MOBILE}/devices", json={"id": device_id, "public_key": _raw_public(key)}, headers=f.h("li")
    )
    assert registered.status_code == 201, registered.text
    photo = jpeg(color="red")
    values = {
        "filename": "scene.jpg",
        "filetype": "image/jpeg",
        "sha256": hashlib.sha256(photo).hexdigest(),
        "case_id": case["id"],
        "captured_at": clock.now().isoformat(),
        "device_id": device_id,
    }
    tus = {"Tus-Resumable": "1.0.0"}
    created = await f.client.post(
        f"{MOBILE}/uploads/",
        headers={**f.h("li"), **tus, "Upload-Length": str(len(photo)), "Upload-Metadata": _metadata(values)},
    )
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    half = len(photo) // 2
    chunk = {**f.h("li"), **tus, "Content-Type": "application/offset+octet-stream"}
    first = await f.client.patch(location, content=photo[:half], headers={**chunk, "Upload-Offset": "0"})
    assert first.status_code == 204, first.text
    # The phone is reported lost between two chunks: the chunk that would finish is refused.
    assert (await f.client.post(f"{OFFICE}/devices/{device_id}/revoke", headers=f.h("zhou"))).status_code == 200
    relogged = {**chunk, **_fresh_bearer(f, "li"), "Upload-Offset": str(half)}
    problem(await f.client.patch(location, content=photo[half:], headers=relogged), 403, "device-revoked")
    assert await EvidenceItem.count() == 0
    row = await Upload.select(Upload.status, Upload.failure).first()
    assert row == {"status": "rejected", "failure": "device-revoked"}


def _fresh_bearer(f: Field, name: str) -> dict[str, str]:
    """Revoking a device ends its owner's sessions; a new login has a new security version."""
    issuer = f.client.app.dependencies["issuer"].dependency()
    token = issuer.issue(msgspec.structs.replace(f.people[name].principal, security_version=2))
    return {"Authorization": f"Bearer {token}"}
