"""Login sessions: login with throttling, refresh-token rotation, logout, admin unlock.

A session is a refresh-token family; its id is the ``sid`` claim of every access token it
hands out, so ending the family (logout, detected re-use) ends those access tokens at once
(``backend.org.service.authenticate``). Other sessions of the same user are untouched.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.access import agency_parts, authorize
from backend.core.auth import Principal, TokenIssuer
from backend.core.db import write_transaction
from backend.core.errors import NotFound, Unauthorized
from backend.core.rows import fetch_one
from backend.core.settings import Settings
from backend.ledger.service import append_event
from backend.org import rules, schemas, throttle
from backend.org.service import BAD_LOGIN, password_matches, principal_for
from backend.org.tables import RefreshToken, User


class _LoginRow(msgspec.Struct, kw_only=True):
    id: UUID
    password_hash: str
    active: bool


class _TokenRow(msgspec.Struct, kw_only=True):
    id: UUID
    user: UUID
    family: str
    expires_at: datetime
    used_at: datetime | None
    revoked: bool


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def login(*, issuer: TokenIssuer, data: schemas.LoginIn, client_address: str, settings: Settings) -> schemas.TokenPair:
    failures = await throttle.check(username=data.username, client_address=client_address, settings=settings)
    row = await fetch_one(_LoginRow, User.select(User.id, User.password_hash, User.active).where(User.username == data.username))
    ok = password_matches(row.password_hash if row else None, data.password) and row is not None and row.active
    if not ok or row is None:
        await throttle.record_failure(username=data.username, client_address=client_address)
        raise Unauthorized(BAD_LOGIN)
    if failures:
        await throttle.forget(username=data.username, client_address=client_address)
    return await _new_pair(issuer, row.id, family=str(uuid.uuid4()), refresh_ttl_s=settings.refresh_token_ttl_s)


async def _new_pair(issuer: TokenIssuer, user_id: UUID, *, family: str, refresh_ttl_s: int) -> schemas.TokenPair:
    principal = msgspec.structs.replace(await principal_for(user_id), session_id=family)
    refresh = secrets.token_urlsafe(32)
    now = clock.now()
    await RefreshToken.insert(
        RefreshToken(
            id=uuid.uuid4(),
            user=user_id,
            family=family,
            token_hash=_token_hash(refresh),
            issued_at=now,
            expires_at=now + timedelta(seconds=refresh_ttl_s),
        )
    )
    return schemas.TokenPair(access_token=issuer.issue(principal), refresh_token=refresh, expires_in=issuer.ttl_s)


async def refresh(*, issuer: TokenIssuer, refresh_token: str, refresh_ttl_s: int) -> schemas.TokenPair:
    """Rotate: a refresh token is good once; re-use of a spent one revokes its whole family
    (and with it every access token of that session)."""
    async with write_transaction():
        row = await fetch_one(_TokenRow, RefreshToken.select().where(RefreshToken.token_hash == _token_hash(refresh_token)))
        if row is None:
            raise Unauthorized("unknown refresh token")
        reuse = row.revoked or row.used_at is not None
        if reuse:
            await RefreshToken.update({RefreshToken.revoked: True}).where(RefreshToken.family == row.family)
        else:
            if row.expires_at <= clock.now():
                raise Unauthorized("the refresh token has expired")
            await RefreshToken.update({RefreshToken.used_at: clock.now()}).where(RefreshToken.id == row.id)
    if reuse:
        raise Unauthorized("refresh token re-used; every session of this login has been ended")
    return await _new_pair(issuer, row.user, family=row.family, refresh_ttl_s=refresh_ttl_s)


async def logout(*, refresh_token: str) -> None:
    """End this session: its refresh family and its access tokens; other sessions go on."""
    row = await RefreshToken.select(RefreshToken.family).where(RefreshToken.token_hash == _token_hash(refresh_token)).first()
    if row is not None:
        await RefreshToken.update({RefreshToken.revoked: True}).where(RefreshToken.family == row["family"])


class _UnlockTarget(msgspec.Struct, kw_only=True):
    username: str
    agency: UUID


async def unlock(*, principal: Principal, user_id: UUID) -> schemas.UnlockOut:
    """An admin of the user's agency clears the user's failed logins from every address."""
    target = await fetch_one(_UnlockTarget, User.select(User.username, User.agency).where(User.id == user_id))
    if target is None or target.agency != principal.agency_id:
        raise NotFound(f"user {user_id} not found")
    authorize(agency_parts(principal), rules.USER_UNLOCK)
    async with write_transaction():
        cleared = await throttle.forget(username=target.username)
        await append_event(
            event="user.login_unlocked",
            actor_id=principal.user_id,
            agency_id=principal.agency_id,
            subject_type="user",
            subject_id=str(user_id),
            details={"failures_cleared": cleared},
        )
    return schemas.UnlockOut(user_id=user_id, failures_cleared=cleared)
