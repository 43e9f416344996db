"""A write lock left by a crashed process (issue 15, defect 9): the 423 says when it lapses
(Retry-After), HEAD shows it (Upload-Lock-Expires), and it lapses after the short lease."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest

from backend.core import clock
from evidence.uploads import locks
from evidence.uploads.locks import LOCK_LEASE_S, keep_lock
from evidence.uploads.tables import Upload
from tests.integration.uploads.conftest import pdf_bytes


def upload_id(url: str) -> uuid.UUID:
    return uuid.UUID(url.rsplit("/", 1)[1])


async def test_a_stale_lock_answers_423_with_retry_after_and_shows_in_head(tus):
    data = pdf_bytes(16 * 1024, seed=11)
    created = await tus.create(data)
    url = created.headers["location"]
    # A process crashed mid-PATCH: its lock is in the row, 20 s of its lease left.
    expires = clock.now() + timedelta(seconds=20)
    await Upload.update({Upload.lock_token: "crashed-process", Upload.lock_expires_at: expires}).where(
        Upload.id == upload_id(url)
    )
    refused = await tus.patch(url, 0, data)
    assert refused.status_code == 423
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert 19 <= int(refused.headers["retry-after"]) <= 20
    assert refused.json()["retry_after"] == int(refused.headers["retry-after"])
    assert "retry-after" in refused.headers["access-control-expose-headers"].lower()
    deleted = await tus.client.delete(url, headers=tus.headers())
    assert deleted.status_code == 423
    assert 19 <= int(deleted.headers["retry-after"]) <= 20
    head = await tus.head(url)
    assert head.status_code == 200
    assert abs((parsedate_to_datetime(head.headers["upload-lock-expires"]) - expires).total_seconds()) < 1
    # The lease lapses (a crashed process renews nothing): HEAD no longer shows it, PATCH goes on.
    await Upload.update({Upload.lock_expires_at: clock.now() - timedelta(seconds=1)}).where(Upload.id == upload_id(url))
    assert "upload-lock-expires" not in (await tus.head(url)).headers
    assert (await tus.patch(url, 0, data)).status_code == 204


async def test_the_lease_is_short_and_a_fresh_lock_says_so(tus):
    """Any lock, once its holder is gone, blocks for at most LOCK_LEASE_S (was 120 s)."""
    assert LOCK_LEASE_S <= 30
    data = pdf_bytes(16 * 1024, seed=12)
    url = (await tus.create(data)).headers["location"]
    await Upload.update(
        {Upload.lock_token: "crashed-process", Upload.lock_expires_at: clock.now() + timedelta(seconds=LOCK_LEASE_S)}
    ).where(Upload.id == upload_id(url))
    refused = await tus.patch(url, 0, data)
    assert refused.status_code == 423
    assert int(refused.headers["retry-after"]) <= LOCK_LEASE_S


async def test_keep_lock_renews_while_server_work_runs(tus, monkeypatch):
    """A completion that seals a large object receives no bytes; keep_lock renews its lease."""
    data = pdf_bytes(16 * 1024, seed=13)
    url = (await tus.create(data)).headers["location"]
    first = clock.now() + timedelta(seconds=1)
    await Upload.update({Upload.lock_token: "this-request", Upload.lock_expires_at: first}).where(Upload.id == upload_id(url))
    monkeypatch.setattr(locks, "LOCK_LEASE_S", 0.3)
    async with keep_lock(upload_id(url), "this-request"):
        await asyncio.sleep(0.5)
    row = await Upload.select(Upload.lock_expires_at).where(Upload.id == upload_id(url)).first()
    assert row is not None
    assert row["lock_expires_at"] != first  # renewed (to now + the lease) while the body ran


@pytest.mark.parametrize("method", ["post", "patch"])
async def test_tus_answers_without_a_body_name_no_content_type(tus, method):
    """Issue 15 defect 14: the 201 (and 204) of tus carry no Content-Type: application/json."""
    data = pdf_bytes(16 * 1024, seed=14)
    created = await tus.create(data)
    assert created.status_code == 201
    assert created.content == b""
    answer = created if method == "post" else await tus.patch(created.headers["location"], 0, data)
    assert answer.status_code in {201, 204}
    assert "content-type" not in answer.headers
