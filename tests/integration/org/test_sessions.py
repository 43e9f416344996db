"""Sessions: logout and refresh-token reuse end that session's access tokens at once (issue 15 #6)."""

from __future__ import annotations

import uuid

import jwt
import pytest

from tests.factories import PASSWORD


async def _session(client, person):
    response = await client.post("/api/v1/auth/login", json={"username": person.username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    tokens = response.json()
    return tokens, {"Authorization": f"Bearer {tokens['access_token']}"}


def _unauthorized(response):
    assert response.status_code == 401, response.text
    assert response.json()["type"] == "/problems/unauthorized"


@pytest.mark.both_engines
async def test_access_tokens_name_their_session(client, make_person):
    person = await make_person()
    tokens, _ = await _session(client, person)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    refreshed = (await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).json()
    again = jwt.decode(refreshed["access_token"], options={"verify_signature": False})
    assert claims["sid"]
    assert again["sid"] == claims["sid"]  # one login, one session, across rotations


@pytest.mark.both_engines
async def test_logout_ends_the_sessions_access_tokens_at_once_and_no_other(client, make_person):
    person = await make_person()
    phone, phone_headers = await _session(client, person)
    _, desk_headers = await _session(client, person)
    assert (await client.get("/api/v1/me", headers=phone_headers)).status_code == 200
    assert (await client.post("/api/v1/auth/logout", json={"refresh_token": phone["refresh_token"]})).status_code == 204
    _unauthorized(await client.get("/api/v1/me", headers=phone_headers))
    # The same user's other session (another login) keeps working.
    assert (await client.get("/api/v1/me", headers=desk_headers)).status_code == 200


@pytest.mark.both_engines
async def test_refresh_reuse_ends_every_access_token_of_the_family_at_once(client, make_person):
    person = await make_person()
    first, first_headers = await _session(client, person)
    _, other_headers = await _session(client, person)
    rotated = (await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    rotated_headers = {"Authorization": f"Bearer {rotated['access_token']}"}
    assert (await client.get("/api/v1/me", headers=rotated_headers)).status_code == 200
    # A stolen, spent refresh token comes back: the family ends, and so do its access tokens.
    _unauthorized(await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}))
    _unauthorized(await client.get("/api/v1/me", headers=rotated_headers))
    _unauthorized(await client.get("/api/v1/me", headers=first_headers))
    assert (await client.get("/api/v1/me", headers=other_headers)).status_code == 200


async def test_a_token_naming_an_unknown_or_foreign_session_is_refused(client, make_person, key_ring):
    person = await make_person()
    other = await make_person()
    tokens, _ = await _session(client, person)
    other_tokens, _ = await _session(client, other)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    other_sid = jwt.decode(other_tokens["access_token"], options={"verify_signature": False})["sid"]
    for sid in [str(uuid.uuid4()), other_sid]:
        token = key_ring.sign_jwt({**claims, "sid": sid})
        _unauthorized(await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}))
