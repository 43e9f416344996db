"""Login, tokens and sessions: every bad input is a clear 4xx problem and writes nothing."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from backend.core import clock
from backend.org.tables import LoginFailure, RefreshToken
from tests.factories import PASSWORD


async def _login(client, username, password=PASSWORD):
    return await client.post("/api/v1/auth/login", json={"username": username, "password": password})


def _problem(response, status, slug):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    return body


@pytest.mark.both_engines
async def test_login_returns_token_pair_with_eddsa_kid(client, make_person):
    person = await make_person()
    response = await _login(client, person.username)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 900
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "EdDSA"
    assert header["kid"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert {"exp", "iat", "sub", "aud", "iss"} <= set(claims)
    assert claims["exp"] - claims["iat"] <= 900
    rows = await RefreshToken.select(RefreshToken.token_hash)
    assert len(rows) == 1
    assert body["refresh_token"] not in rows[0]["token_hash"]  # stored hashed only


async def test_wrong_password_and_unknown_user_answer_the_same(client, make_person):
    person = await make_person()
    wrong = _problem(await _login(client, person.username, "nope-nope"), 401, "unauthorized")
    unknown = _problem(await _login(client, "nobody-here"), 401, "unauthorized")
    assert wrong["detail"] == unknown["detail"]
    assert await RefreshToken.count() == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"username": "x"}, "password"),
        ({"password": "x"}, "username"),
        ({"username": "x", "password": "y", "extra": 1}, "extra"),
        ({"username": "", "password": "y"}, "username"),
    ],
)
async def test_bad_login_body_names_the_field(client, payload, field):
    body = _problem(await client.post("/api/v1/auth/login", json=payload), 400, "validation-error")
    assert body["field"] == field
    assert await LoginFailure.count() == 0


async def test_oversized_body_is_refused(client):
    response = await client.post(
        "/api/v1/auth/login",
        content=b'{"username":"' + b"a" * (2 * 1024 * 1024) + b'"}',
        headers={"content-type": "application/json"},
    )
    _problem(response, 413, "payload-too-large")


async def test_login_failures_are_rate_limited_per_username(client, make_person):
    person = await make_person()
    for _ in range(5):
        await _login(client, person.username, "wrong-password")
    # Even the right password is refused while the limit holds.
    _problem(await _login(client, person.username), 429, "too-many-requests")


async def _tokens(client, person):
    response = await _login(client, person.username)
    assert response.status_code == 200
    return response.json()


def _forge(claims, key=None, kid="unknown", alg="EdDSA"):
    key = key or Ed25519PrivateKey.generate()
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


async def test_forged_expired_and_alg_none_tokens_are_401(client, make_person, key_ring):
    person = await make_person()
    good = await _tokens(client, person)
    claims = jwt.decode(good["access_token"], options={"verify_signature": False})
    now = int(clock.now().timestamp())
    expired = key_ring.sign_jwt({**claims, "iat": now - 1000, "exp": now - 400})
    unknown_key = _forge(claims)
    right_kid_wrong_key = _forge(claims, kid=key_ring.kid)
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": key_ring.kid}).encode()).rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    alg_none = f"{header}.{payload}."
    long_lived = key_ring.sign_jwt({**claims, "exp": claims["iat"] + 86400})
    missing_aud = key_ring.sign_jwt({k: v for k, v in claims.items() if k != "aud"})
    for token in [expired, unknown_key, right_kid_wrong_key, alg_none, long_lived, missing_aud, "garbage"]:
        response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        _problem(response, 401, "unauthorized")
    response = await client.get("/api/v1/me")
    _problem(response, 401, "unauthorized")


@pytest.mark.both_engines
async def test_refresh_rotates_and_reuse_revokes_the_family(client, make_person):
    person = await make_person()
    first = await _tokens(client, person)
    second = (await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    assert second["refresh_token"] != first["refresh_token"]
    # Replaying the spent token is theft or a bug: the whole family ends.
    _problem(await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}), 401, "unauthorized")
    _problem(await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}), 401, "unauthorized")


async def test_refresh_token_expires(client, make_person, settings):
    person = await make_person()
    tokens = await _tokens(client, person)
    with clock.frozen_clock(clock.now() + timedelta(seconds=settings.refresh_token_ttl_s + 1)):
        response = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    _problem(response, 401, "unauthorized")


async def test_logout_ends_the_refresh_family(client, make_person):
    person = await make_person()
    tokens = await _tokens(client, person)
    assert (await client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})).status_code == 204
    _problem(await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401, "unauthorized")


async def test_disabling_a_user_ends_access_at_the_next_request(client, make_person, make_agency, auth_headers):
    agency = await make_agency()
    admin = await make_person(roles=["admin"], agency=agency)
    officer = await make_person(agency=agency)
    officer_headers = await auth_headers(officer)
    assert (await client.get("/api/v1/me", headers=officer_headers)).status_code == 200
    response = await client.patch(f"/api/v1/users/{officer.user.id}", json={"active": False}, headers=await auth_headers(admin))
    assert response.status_code == 200
    _problem(await client.get("/api/v1/me", headers=officer_headers), 401, "unauthorized")
