"""Unfinished uploads reserve their declared length: per user (issue 15 #8) and under a global
ceiling, so the staging area never overcommits and no one user fills it for everyone."""

from __future__ import annotations

import uuid
from datetime import timedelta

import msgspec
import pytest

from backend.core import clock
from backend.core.settings import MiB, Settings
from evidence.store import open_store
from evidence.uploads.sweeper import sweep_expired_uploads
from evidence.uploads.tables import Upload
from tests import factories as make
from tests.conftest import MakePerson
from tests.integration.uploads.conftest import Tus, login, pdf_bytes

KiB = 1024


@pytest.fixture
def upload_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The file store with a 1 MiB staging quota (overrides the conftest's store matrix);
    a test may name other quotas with ``parametrize("upload_settings", [{...}], indirect=True)``."""
    quotas = getattr(request, "param", {"tus_staging_quota": MiB})
    return msgspec.structs.replace(settings, s3_part_size=5 * MiB, tus_chunk_limit=8 * MiB, **quotas)


PER_USER = {"tus_user_quota": MiB, "tus_staging_quota": 4 * MiB, "tus_idle_expiry_s": 1800}


async def _colleague(tus: Tus, make_person: MakePerson) -> Tus:
    other = await make_person(roles=["officer"])
    case = await make.case(other)
    return Tus(client=tus.client, auth=await login(tus.client, other), case_id=case.id)


async def test_staging_quota_refuses_what_would_overcommit(tus):
    first = await tus.create(pdf_bytes(600 * KiB))
    assert first.status_code == 201
    refused = await tus.create(pdf_bytes(600 * KiB))
    assert refused.status_code == 507
    assert refused.json()["type"] == "/problems/staging-quota-exceeded"
    assert await Upload.count() == 1
    # Terminating the first frees its reservation.
    assert (await tus.client.delete(first.headers["location"], headers=tus.headers())).status_code == 204
    assert (await tus.create(pdf_bytes(600 * KiB))).status_code == 201


@pytest.mark.parametrize("upload_settings", [PER_USER], indirect=True)
async def test_one_user_reserving_declared_bytes_does_not_block_the_others(tus, make_person):
    # Large declarations without a byte sent: the officer's own quota stops them ...
    assert (await tus.create(pdf_bytes(600 * KiB))).status_code == 201
    refused = await tus.create(pdf_bytes(600 * KiB, seed=1))
    assert refused.status_code == 507
    body = refused.json()
    assert body["type"] == "/problems/upload-quota-exceeded"
    assert body["limit"] == MiB
    # ... long before the staging area is full, so a colleague still uploads.
    colleague = await _colleague(tus, make_person)
    assert (await colleague.create(pdf_bytes(600 * KiB, seed=2))).status_code == 201


@pytest.mark.parametrize("upload_settings", [PER_USER], indirect=True)
async def test_uploads_that_receive_nothing_expire_early_and_free_their_reservation(tus, upload_settings):
    idle = await tus.create(pdf_bytes(600 * KiB))
    started_data = pdf_bytes(300 * KiB, seed=3)
    started = await tus.create(started_data)
    assert (await tus.patch(started.headers["location"], 0, started_data[: 100 * KiB])).status_code == 204
    assert (await tus.create(pdf_bytes(600 * KiB, seed=4))).status_code == 507
    later = clock.now() + timedelta(seconds=upload_settings.tus_idle_expiry_s + 1)
    with clock.frozen_clock(later):
        # Not yet swept, an idle upload already reserves nothing ...
        assert (await tus.create(pdf_bytes(600 * KiB, seed=5))).status_code == 201
    store = open_store(upload_settings)
    try:
        # ... and the sweeper expires it (well before tus_expiry_s); the started one stays open.
        report = await sweep_expired_uploads(store, settings=upload_settings, now=later)
    finally:
        await store.close()
    assert report.expired == 1
    statuses = {row["id"]: row["status"] for row in await Upload.select(Upload.id, Upload.status)}
    assert statuses[_upload_id(idle)] == "expired"
    assert statuses[_upload_id(started)] == "open"


def _upload_id(response):
    return uuid.UUID(response.headers["location"].rstrip("/").rsplit("/", 1)[-1])
