"""Login throttling: slow a password guesser down without locking the real user out.

Failures are counted per (username, client address), so a guesser elsewhere does not lock
out the officer at their own phone, and an office behind one NAT address is not blocked by
one person's typos. After ``login_max_failures`` failures the pair waits, doubling with each
further failure (``login_backoff_base_s`` … ``login_backoff_max_s``); an address also has a
much higher ceiling over all usernames (``login_address_max_failures``) against spraying.
Rows live in the database so every API process sees the same counts.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

import msgspec
from piccolo.custom_types import Combinable

from backend.core import clock
from backend.core.errors import TooManyRequests
from backend.core.rows import fetch_all
from backend.core.settings import Settings
from backend.org.tables import LoginFailure


class LoginThrottled(TooManyRequests):
    """429 with ``retry_after`` (seconds), which backend/core/http/problems.py also sends as ``Retry-After``."""

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class _Failure(msgspec.Struct, kw_only=True):
    at: datetime


def backoff_s(failures: int, settings: Settings) -> int:
    """Seconds to wait after ``failures`` failures of one pair: 0 below the limit, then doubling."""
    over = failures - settings.login_max_failures
    if over < 0:
        return 0
    return int(min(settings.login_backoff_max_s, settings.login_backoff_base_s * 2 ** min(over, 30)))


async def check(*, username: str, client_address: str, settings: Settings) -> int:
    """Raise LoginThrottled while this username and client must wait (before the password is
    checked); else answer how many recent failures the pair has."""
    now = clock.now()
    since = now - timedelta(seconds=settings.login_window_s)
    recent = await fetch_all(
        _Failure,
        LoginFailure.select(LoginFailure.at)
        .where((LoginFailure.username == username) & (LoginFailure.client_address == client_address) & (LoginFailure.at > since))
        .order_by(LoginFailure.at, ascending=False)
        .limit(settings.login_max_failures + 31),
    )
    if recent:
        wait = backoff_s(len(recent), settings)
        remaining = (recent[0].at + timedelta(seconds=wait) - now).total_seconds()
        if remaining > 0:
            raise LoginThrottled(
                f"too many failed logins for this account from this address; try again in {math.ceil(remaining)} seconds",
                retry_after=math.ceil(remaining),
            )
    by_address = await LoginFailure.count().where((LoginFailure.client_address == client_address) & (LoginFailure.at > since))
    if by_address >= settings.login_address_max_failures:
        raise LoginThrottled(
            "too many failed logins from this address; try again later", retry_after=settings.login_backoff_max_s
        )
    return len(recent)


async def record_failure(*, username: str, client_address: str) -> None:
    await LoginFailure.insert(LoginFailure(id=uuid.uuid4(), username=username, client_address=client_address, at=clock.now()))


async def forget(*, username: str, client_address: str | None = None) -> int:
    """Clear failures after a good login (this client) or an admin's unlock (every client)."""
    where: Combinable = LoginFailure.username == username
    if client_address is not None:
        where = where & (LoginFailure.client_address == client_address)
    count = int(await LoginFailure.count().where(where))
    await LoginFailure.delete().where(where)
    return count
