"""Field-path cases: check-in latency vs a trivial route, Range retrieval vs a direct minio GET.

Both run against the production-like configuration's API server (PostgreSQL + S3).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec

from bench import files
from bench.context import Context
from bench.harness import MB, MiB, Row, Stat, percentile, ratio_stat
from bench.stack import World, login, require_route
from bench.uploads import check_evidence, direct_upload

CHECK_IN = "/api/mobile/v1/actions/{action_id}/check-ins"
CONTENT = "/api/v1/evidence/{evidence_id}/content"
Request = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def measure(base_url: str, request: Request, *, total: int, concurrency: int, expect: int) -> list[float]:
    """Per-request latencies (s) of ``total`` requests issued by ``concurrency`` clients."""
    latencies: list[float] = []
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        for i in counter:
            start = time.perf_counter()
            response = await request(client, i)
            latencies.append(time.perf_counter() - start)
            if response.status_code != expect:
                raise RuntimeError(
                    f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text[:300]}"
                )

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(120, connect=30)) as client:
        await asyncio.wait_for(asyncio.gather(*(worker(client) for _ in range(concurrency))), timeout=900)
    return latencies


# --- check-in ---------------------------------------------------------------------------------


async def check_in_fixture(world: World) -> uuid.UUID:
    """A certificate for the officer and an action of the world's case (through the services)."""
    from backend.core import clock
    from backend.field import action_schemas, actions
    from certificates import issuing as certificate_issuing
    from certificates import schemas as certificate_schemas

    now = clock.now()
    await certificate_issuing.issue(
        principal=world.admin.principal,
        data=msgspec.convert(
            {
                "number": f"BENCH-{uuid.uuid4().hex[:10]}",
                "holder_id": str(world.officer.user_id),
                "domains": ["market_supervision"],
                "valid_from": (now - timedelta(days=1)).isoformat(),
                "valid_until": (now + timedelta(days=365)).isoformat(),
                "qualification_review_ref": "资格审查〔2025〕12号",
                "exam": {"exam_id": "EX-2025-07", "exam_date": "2025-07-01", "score": 86, "pass_mark": 60, "passed": True},
                "document_ref": "发证决定〔2025〕3号",
            },
            certificate_schemas.CertificateIn,
        ),
    )
    action = await actions.create_action(
        principal=world.officer.principal,
        data=msgspec.convert(
            {
                "case_id": str(world.case_id),
                "kind": "inspection",
                "title": "bench inspection",
                "planned_at": now.isoformat(),
                "participant_ids": [str(world.officer.user_id)],
            },
            action_schemas.ActionIn,
        ),
    )
    return action.id


def check_in_request(action_id: uuid.UUID, headers: dict[str, str]) -> Request:
    path = CHECK_IN.format(action_id=action_id)

    def request(client: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        body = {
            "id": str(uuid.uuid4()),
            "device_id": "bench-phone",
            "device_time": datetime.now(UTC).isoformat(),
            "location": {"latitude": 35.62, "longitude": 111.22, "accuracy_m": 8.0},
        }
        return client.post(path, json=body, headers=headers)

    return request


def health(client: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
    return client.get("/health")


def run_check_in(ctx: Context) -> list[Row]:
    s3 = ctx.shared_s3()
    config = ctx.s3_config(s3)
    world = ctx.world(config)
    api = ctx.shared_api(config)
    require_route(api.base_url, "POST", "/api/mobile/v1/actions/{action_id}/check-ins", "field workflow")
    action_id = asyncio.run(check_in_fixture(world))
    headers = login(api.base_url, world.officer)
    check_in = check_in_request(action_id, headers)
    asyncio.run(measure(api.base_url, check_in, total=5, concurrency=1, expect=201))  # warm-up
    rows: list[Row] = []
    total = ctx.sizes.checkin_requests
    for concurrency in (1, 50):
        ours_p50, ours_p99, base_p50, base_p99, ours_rps, base_rps = [], [], [], [], [], []
        for _ in range(ctx.repeats):
            start = time.perf_counter()
            base = asyncio.run(measure(api.base_url, health, total=total, concurrency=concurrency, expect=200))
            base_rps.append(total / (time.perf_counter() - start))
            start = time.perf_counter()
            ours = asyncio.run(measure(api.base_url, check_in, total=total, concurrency=concurrency, expect=201))
            ours_rps.append(total / (time.perf_counter() - start))
            ours_p50.append(percentile(ours, 50) * 1000)
            ours_p99.append(percentile(ours, 99) * 1000)
            base_p50.append(percentile(base, 50) * 1000)
            base_p99.append(percentile(base, 99) * 1000)
        ctx.log(f"check-in ×{concurrency}: p50 {ours_p50[-1]:.1f} ms (health {base_p50[-1]:.1f} ms), {ours_rps[-1]:.0f} req/s")
        for label, ours_v, base_v in (("p50", ours_p50, base_p50), ("p99", ours_p99, base_p99)):
            rows.append(
                Row(
                    case="check-in",
                    config=config.name,
                    metric=f"{label} latency, {concurrency} client{'s' if concurrency > 1 else ''}",
                    unit="ms",
                    ours=Stat.of(ours_v),
                    baseline=Stat.of(base_v),
                    baseline_name="GET /health, same server",
                    ratio=ratio_stat(ours_v, base_v),
                    note=_rps_note(total, ours_rps, base_rps)
                    if label == "p50"
                    else "certificate check + signed snapshot + check-in row + ledger entry",
                    extra={"ratio_kind": "ours/baseline (latency: lower is better)"},
                )
            )
    return rows


def _rps_note(total: int, ours: list[float], base: list[float]) -> str:
    return f"{total} requests; ours {Stat.of(ours).median:.0f} req/s vs /health {Stat.of(base).median:.0f} req/s"


# --- Range retrieval ---------------------------------------------------------------------------


def run_range(ctx: Context) -> list[Row]:
    s3 = ctx.shared_s3()
    config = ctx.s3_config(s3)
    world = ctx.world(config)
    api = ctx.shared_api(config)
    require_route(api.base_url, "GET", "/api/v1/evidence/{evidence_id}/content", "custody")
    size = ctx.sizes.range_object
    path = files.make_file(ctx.work / "files" / "range.mp4", size)
    sha, _ = files.renew(path)
    headers = login(api.base_url, world.officer)
    direct_upload(api.base_url, headers, world, path, sha)
    check_evidence(sha, world)
    evidence_id = asyncio.run(_evidence_id(sha, world))
    client = s3.client()
    bucket, key = config.bucket, f"sha256/{sha}"
    piece = ctx.sizes.range_request
    starts = [(i * 7919 * 4096) % (size - piece) for i in range(max(8, size // piece))]
    url = CONTENT.format(evidence_id=evidence_id)
    ranged_ours, ranged_base, full_ours, full_base = [], [], [], []
    with httpx.Client(base_url=api.base_url, timeout=httpx.Timeout(300, connect=30)) as http:
        for _ in range(ctx.repeats):
            ranged_base.append(_timed_bytes(lambda s: _minio_range(client, bucket, key, s, piece), starts))
            ranged_ours.append(_timed_bytes(lambda s: _api_range(http, url, headers, s, piece), starts))
            full_base.append(_timed_bytes(lambda s: _minio_range(client, bucket, key, 0, size), [0]))
            full_ours.append(_timed_bytes(lambda s: _api_range(http, url, headers, None, size), [0]))
            ctx.log(f"range: ours {ranged_ours[-1]:.0f} MB/s vs minio {ranged_base[-1]:.0f} MB/s")
            ctx.log(f"whole object: ours {full_ours[-1]:.0f} MB/s vs minio {full_base[-1]:.0f} MB/s")
    common: dict[str, Any] = {
        "case": "Range retrieval",
        "config": config.name,
        "unit": "MB/s",
        "baseline_name": "minio get_object (same S3)",
    }
    return [
        Row(
            metric=f"{len(starts)} × {piece // MiB} MiB ranges of {size / MB:.0f} MB",
            ours=Stat.of(ranged_ours),
            baseline=Stat.of(ranged_base),
            ratio=ratio_stat(ranged_ours, ranged_base),
            note="each request checks access and commits a ledger entry (purpose) before the first byte",
            **common,
        ),
        Row(
            metric=f"whole object, {size / MB:.0f} MB",
            ours=Stat.of(full_ours),
            baseline=Stat.of(full_base),
            ratio=ratio_stat(full_ours, full_base),
            **common,
        ),
    ]


async def _evidence_id(sha: str, world: World) -> uuid.UUID:
    from evidence.tables import EvidenceItem

    row = (
        await EvidenceItem.select(EvidenceItem.id)
        .where((EvidenceItem.sha256 == sha) & (EvidenceItem.case_id == world.case_id))
        .first()
    )
    assert row is not None
    return uuid.UUID(str(row["id"]))


def _timed_bytes(read: Callable[[int], int], starts: list[int]) -> float:
    total = 0
    start = time.perf_counter()
    for offset in starts:
        total += read(offset)
    return total / MB / (time.perf_counter() - start)


def _minio_range(client: Any, bucket: str, key: str, offset: int, length: int) -> int:
    response = client.get_object(bucket, key, offset=offset, length=length)
    try:
        return sum(len(block) for block in response.stream(MiB))
    finally:
        response.close()
        response.release_conn()


def _api_range(http: httpx.Client, url: str, headers: dict[str, str], offset: int | None, length: int) -> int:
    extra = {} if offset is None else {"Range": f"bytes={offset}-{offset + length - 1}"}
    with http.stream("GET", url, params={"purpose": "benchmark read"}, headers={**headers, **extra}) as response:
        if response.status_code not in (200, 206):
            raise RuntimeError(f"content GET answered {response.status_code}: {response.read()[:300]!r}")
        got = sum(len(block) for block in response.iter_bytes(MiB))
    if got != length:
        raise RuntimeError(f"content GET returned {got} bytes, expected {length}")
    return got
