"""Signed credential, QR code, JWKS and public verification (issue 4 §3–4, R-CERT-2/4)."""

from __future__ import annotations

import base64
import io
import json
import os
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse
from xml.etree import ElementTree

import jwt
import msgspec
import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import AsyncTestClient
from PIL import Image

from backend.app import create_app
from backend.core import clock
from backend.core.keys import key_id, load_key_ring, rotate
from certificates import credentials, schemas, signing, transitions, verification
from certificates.tables import PublicRateCounter

VERIFY = "/public/v1/certificates/verify"
PUBLIC_FIELDS = {
    "result",
    "valid",
    "checked_at",
    "certificate_no",
    "holder_name",
    "agency_name",
    "domains",
    "valid_from",
    "valid_until",
    "status",
    "token_issued_at",
}


async def _officer_with_certificate(make_person: Any, auth_headers: Any, issue_certificate: Any, **fields: Any) -> Any:
    officer = await make_person(staff_no="SECRET-STAFF-42")
    admin = await make_person(roles=["admin"], agency=officer.agency)
    cert = await issue_certificate(officer, admin=admin, photo_ref="photos/private-photo.jpg", **fields)
    return officer, admin, cert, await auth_headers(officer)


async def _credential(client: Any, cert: Any, headers: Any) -> dict[str, Any]:
    response = await client.get(f"/api/mobile/v1/certificates/{cert.id}/credential", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.both_engines
@pytest.mark.requirement("R-CERT-4")
async def test_credential_is_short_lived_and_verifies_offline_with_jwks(client, make_person, auth_headers, issue_certificate):
    _officer, _admin, cert, headers = await _officer_with_certificate(make_person, auth_headers, issue_certificate)
    credential = await _credential(client, cert, headers)
    jwks = (await client.get("/public/v1/keys")).json()
    header = jwt.get_unverified_header(credential["token"])
    assert header["alg"] == "EdDSA"
    key = {k["kid"]: k for k in jwks["keys"]}[header["kid"]]
    # An offline verifier holding only the JWKS checks the signature and sees the issue time.
    claims = jwt.decode(credential["token"], jwt.PyJWK(key).key, algorithms=["EdDSA"], audience=credentials.CREDENTIAL_AUDIENCE)
    assert claims["sub"] == str(cert.id)
    assert claims["cno"] == cert.number
    assert 0 < claims["exp"] - claims["iat"] <= 24 * 3600
    assert "SECRET-STAFF-42" not in json.dumps(claims)


@pytest.mark.both_engines
async def test_public_verify_answers_valid_without_private_fields(client, make_person, auth_headers, issue_certificate):
    officer, _admin, cert, headers = await _officer_with_certificate(make_person, auth_headers, issue_certificate)
    credential = await _credential(client, cert, headers)
    response = await client.get(VERIFY, params={"token": credential["token"]})
    assert response.status_code == 200
    body = response.json()
    assert body["result"] == "valid"
    assert body["valid"] is True
    assert body["certificate_no"] == cert.number
    assert body["holder_name"] == officer.user.full_name
    assert body["agency_name"] == officer.agency.name
    assert body["domains"] == ["urban_management"]
    assert set(body) == PUBLIC_FIELDS
    for private in ("SECRET-STAFF-42", "private-photo", officer.username, str(officer.user.id), "EX-2025-07", "资格审查"):
        assert private not in response.text


@pytest.mark.requirement("R-CERT-2", "R-CERT-3")
async def test_public_verify_shows_current_status_not_the_tokens(client, make_person, auth_headers, issue_certificate):
    officer, admin, cert, headers = await _officer_with_certificate(make_person, auth_headers, issue_certificate)
    credential = await _credential(client, cert, headers)
    suspend = {"reason": "停职检查", "document_ref": "暂扣〔2025〕9号"}
    assert (
        await client.post(f"/api/v1/certificates/{cert.id}/suspend", json=suspend, headers=await auth_headers(admin))
    ).status_code == 200
    body = (await client.get(VERIFY, params={"token": credential["token"]})).json()
    assert body["result"] == "suspended"
    assert body["valid"] is False
    assert body["status"] == "suspended"
    assert "停职检查" not in json.dumps(body)
    # A suspended officer cannot fetch a fresh credential either.
    refused = await client.get(f"/api/mobile/v1/certificates/{cert.id}/credential", headers=headers)
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/certificate-suspended"
    assert officer.user.id


async def test_public_verify_reports_expiry_from_the_clock(client, make_person, auth_headers, issue_certificate):
    now = clock.now()
    _o, _a, cert, headers = await _officer_with_certificate(
        make_person, auth_headers, issue_certificate, valid_until=(now + timedelta(hours=2)).isoformat()
    )
    credential = await _credential(client, cert, headers)
    with clock.frozen_clock(now + timedelta(hours=3)):
        body = (await client.get(VERIFY, params={"token": credential["token"]})).json()
    assert body["result"] == "expired"
    assert body["status"] == "expired"
    with clock.frozen_clock(now + timedelta(days=2)):
        stale = (await client.get(VERIFY, params={"token": credential["token"]})).json()
    assert stale["result"] == "token_expired"
    assert stale["valid"] is False


def _tamper(token: str) -> str:
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["dom"] = ["everything"]
    return ".".join([head, _b64(json.dumps(claims).encode()), signature])


@pytest.mark.parametrize("mangle", ["tampered", "unknown_key", "forged_known_kid", "garbage", "alg_none", "too_long"])
async def test_foreign_or_tampered_tokens_answer_invalid(client, make_person, auth_headers, issue_certificate, key_ring, mangle):
    _o, _a, cert, headers = await _officer_with_certificate(make_person, auth_headers, issue_certificate)
    good = (await _credential(client, cert, headers))["token"]
    claims = jwt.decode(good, options={"verify_signature": False})
    stranger = Ed25519PrivateKey.generate()
    tokens = {
        "tampered": _tamper(good),
        "unknown_key": jwt.encode(claims, stranger, algorithm="EdDSA", headers={"kid": key_id(stranger.public_key())}),
        "forged_known_kid": jwt.encode(claims, stranger, algorithm="EdDSA", headers={"kid": key_ring.kid}),
        "garbage": "not-a-token",
        "alg_none": jwt.encode(claims, "", algorithm="none", headers={"kid": key_ring.kid}),
        "too_long": good + "A" * 5000,
    }
    response = await client.get(VERIFY, params={"token": tokens[mangle]})
    assert response.status_code == 200
    assert response.json()["result"] == "invalid"
    assert response.json()["valid"] is False
    assert response.json().get("certificate_no") is None
    assert cert.number not in response.text


async def test_a_longer_lived_token_is_invalid_even_if_signed(client, make_person, auth_headers, issue_certificate, key_ring):
    _o, _a, cert, headers = await _officer_with_certificate(make_person, auth_headers, issue_certificate)
    claims = jwt.decode((await _credential(client, cert, headers))["token"], options={"verify_signature": False})
    claims["exp"] = claims["iat"] + 30 * 24 * 3600
    body = (await client.get(VERIFY, params={"token": key_ring.sign_jwt(claims)})).json()
    assert body["result"] == "invalid"


@pytest.mark.requirement("R-CERT-4")
async def test_rotated_key_still_verifies_recent_tokens_and_snapshots(
    settings, make_person, auth_headers, issue_certificate, tmp_path
):
    key_dir = tmp_path / "rotating-keys"
    old_ring = load_key_ring(key_dir, retention_s=3600)
    officer, _admin, cert, _h = await _officer_with_certificate(make_person, auth_headers, issue_certificate)
    async with AsyncTestClient(create_app(settings, keys=old_ring)) as old_client:
        login = await old_client.post("/api/v1/auth/login", json={"username": officer.username, "password": "test-password-1"})
        old_headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        token = (await _credential(old_client, cert, old_headers))["token"]
    check = await verification.verify_for_action(
        keys=old_ring,
        user_id=officer.user.id,
        acting_agency_id=officer.agency.id,
        domain="urban_management",
        matter=None,
        at=clock.now(),
    )
    new_kid = rotate(key_dir)
    new_ring = load_key_ring(key_dir, retention_s=3600)
    assert new_ring.kid == new_kid != old_ring.kid
    async with AsyncTestClient(create_app(settings, keys=new_ring)) as new_client:
        jwks = (await new_client.get("/public/v1/keys")).json()
        assert {old_ring.kid, new_kid} <= {k["kid"] for k in jwks["keys"]}
        assert (await new_client.get(VERIFY, params={"token": token})).json()["result"] == "valid"
    assert (await signing.verify_snapshot_token(keys=new_ring, token=check.snapshot_token)) == check.snapshot

    # Past the retention the retired key's credentials stop verifying, but the key stays
    # published in the JWKS (old checkpoints, exports and snapshots verify) and the archive.
    old_pem = key_dir / f"{old_ring.kid}.pem"
    stamp = time.time() - 10
    os.utime(old_pem, (stamp, stamp))
    expired_ring = load_key_ring(key_dir, retention_s=1)
    assert old_ring.kid in {k["kid"] for k in expired_ring.jwks()["keys"]}
    assert expired_ring.token_key_for(old_ring.kid) is None
    async with AsyncTestClient(create_app(settings, keys=expired_ring)) as late_client:
        assert (await late_client.get(VERIFY, params={"token": token})).json()["result"] == "invalid"
        archive = (await late_client.get("/public/v1/keys/archive")).json()
        assert old_ring.kid in {k["kid"] for k in archive["keys"]}
    assert (await signing.verify_snapshot_token(keys=expired_ring, token=check.snapshot_token)) == check.snapshot


async def test_snapshot_with_a_changed_claim_does_not_verify(make_person, issue_certificate, key_ring):
    officer = await make_person()
    await issue_certificate(officer)
    check = await verification.verify_for_action(
        keys=key_ring,
        user_id=officer.user.id,
        acting_agency_id=officer.agency.id,
        domain="urban_management",
        matter=None,
        at=clock.now(),
    )
    head, payload, signature = check.snapshot_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["snap"]["status"] = "active"
    claims["snap"]["valid_until"] = "2099-01-01T00:00:00+00:00"
    forged = ".".join([head, _b64(json.dumps(claims).encode()), signature])
    with pytest.raises(jwt.InvalidTokenError):
        await signing.verify_snapshot_token(keys=key_ring, token=forged)


@pytest.mark.both_engines
async def test_qr_codes_encode_a_verifiable_credential(client, make_person, auth_headers, issue_certificate):
    _o, _a, cert, headers = await _officer_with_certificate(make_person, auth_headers, issue_certificate)
    png = await client.get(f"/api/mobile/v1/certificates/{cert.id}/qr.png", headers=headers)
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    assert image.format == "PNG"
    [decoded] = zxingcpp.read_barcodes(image.convert("L"))
    url = urlparse(decoded.text)
    assert url.path == VERIFY
    token = parse_qs(url.query)["token"][0]
    assert (await client.get(VERIFY, params={"token": token})).json()["result"] == "valid"

    svg = await client.get(f"/api/mobile/v1/certificates/{cert.id}/qr.svg", headers=headers)
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    root = ElementTree.fromstring(svg.content)  # noqa: S314 - our own server's output
    assert root.tag.endswith("svg")


async def test_officer_cannot_fetch_another_officers_credential(client, make_person, auth_headers, issue_certificate):
    officer, _a, cert, _headers = await _officer_with_certificate(make_person, auth_headers, issue_certificate)
    colleague = await make_person(agency=officer.agency)
    colleague_headers = await auth_headers(colleague)
    for suffix in ("credential", "qr.png", "qr.svg"):
        response = await client.get(f"/api/mobile/v1/certificates/{cert.id}/{suffix}", headers=colleague_headers)
        assert response.status_code == 404


async def test_mobile_me_lists_own_certificates_with_status(client, make_person, auth_headers, issue_certificate):
    _o, admin, cert, headers = await _officer_with_certificate(make_person, auth_headers, issue_certificate)
    mine = (await client.get("/api/mobile/v1/certificates", headers=headers)).json()
    assert mine["any_valid"] is True
    assert [c["number"] for c in mine["items"]] == [cert.number]
    revoke = msgspec.convert({"reason": "调离", "document_ref": "注销〔2025〕4号"}, schemas.RevokeIn)
    await transitions.revoke(principal=admin.principal, certificate_id=cert.id, data=revoke)
    mine = (await client.get("/api/mobile/v1/certificates", headers=headers)).json()
    assert mine["any_valid"] is False
    assert mine["items"][0]["reason"] == "revoked"


async def test_public_verify_is_rate_limited_per_address(client, settings, make_person, auth_headers, issue_certificate):
    limit = settings.public_verify_per_minute
    moment = clock.now().replace(second=5, microsecond=0)
    with clock.frozen_clock(moment):
        for _ in range(limit):
            assert (await client.get(VERIFY, params={"token": "x"})).status_code == 200
        refused = await client.get(VERIFY, params={"token": "x"})
        assert refused.status_code == 429
        assert refused.json()["type"] == "/problems/too-many-requests"
    # The counter lives in the database (shared by every API process); a new window starts afresh.
    assert await PublicRateCounter.count() == 1
    with clock.frozen_clock(moment + timedelta(minutes=1)):
        assert (await client.get(VERIFY, params={"token": "x"})).status_code == 200
    with clock.frozen_clock(moment + timedelta(minutes=3)):
        assert (await client.get(VERIFY, params={"token": "x"})).status_code == 200
    # Windows that are over are swept.
    assert await PublicRateCounter.count() == 1


async def test_jwks_lists_only_public_material(client, key_ring):
    response = await client.get("/public/v1/keys")
    assert response.status_code == 200
    [key] = response.json()["keys"]
    assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}
    assert key["kid"] == key_ring.kid
