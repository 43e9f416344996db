"""A fixed-window rate limit kept in the database, so every API process counts together.

Litestar's ``RateLimitConfig`` keeps counters per process (N workers allow N× the limit);
the public verify endpoint is unauthenticated, so its counters live in PostgreSQL/SQLite:
one atomic upsert per request (``INSERT … ON CONFLICT DO UPDATE … RETURNING``, supported
by both engines).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from backend.core import clock
from certificates.tables import PublicRateCounter

_UPSERT = (
    "INSERT INTO cert_public_rate (id, bucket, window_start, hits) VALUES ({}, {}, {}, 1) "
    "ON CONFLICT (bucket) DO UPDATE SET hits = cert_public_rate.hits + 1 RETURNING hits"
)


def window_start(at: datetime, window_s: int) -> datetime:
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_s, UTC)


async def allow(*, scope: str, key: str, limit: int, window_s: int = 60) -> bool:
    """Count one hit for ``key`` in ``scope``; False once the window's ``limit`` is exceeded."""
    start = window_start(clock.now(), window_s)
    bucket = f"{scope}:{key}:{int(start.timestamp())}"[:160]
    rows = await PublicRateCounter.raw(_UPSERT, uuid.uuid4(), bucket, start)
    hits = int(rows[0]["hits"])
    if hits == 1:
        # The first hit of a new window sweeps the windows that are over.
        await PublicRateCounter.delete().where(PublicRateCounter.window_start < start - timedelta(seconds=window_s))
    return hits <= limit
