"""Load (issue 15.7): many phones at once against ONE API server process (uvicorn, one worker)
on PostgreSQL + S3 — 100 concurrent 5 MB tus uploads and 200 concurrent check-ins.

Not a timed test: the case fails only when something is wrong — any error answer, an upload
that did not become evidence, an object in S3 whose bytes do not hash to its record, a ledger
chain that does not verify or a record without its ledger entries. The figures are
throughput and p99 latency, each beside a baseline measured in the same run at the same
concurrency: the minio client putting the same bytes straight to the same S3 server, and
``GET /health`` on the same API server.

Uploads come from several officers (``FIELDPROOF_TUS_MAX_OPEN_PER_USER`` caps one user's open
uploads at 20), each into a case of their own, as phones in the field would.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import os
import struct
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.context import Context
from bench.field import CHECK_IN, check_in_fixture, health
from bench.harness import MB, MiB, Row, RssSampler, Stat, percentile, ratio_stat
from bench.stack import PASSWORD, Actor, Config, S3Server, World, login, open_case
from bench.uploads import UPLOADS, s3_round

# An MP4 ``ftyp`` box and a ``free`` box over the rest (bench/files.py): sniffed as video/mp4.
_FTYP = struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"isom", 0x200, b"isom", b"mp41")


@dataclass(frozen=True)
class LoadSizes:
    uploads: int = 100  # concurrent, one upload each
    upload_size: int = 5 * MB
    officers: int = 10  # uploads spread over them (≤ 20 open per user)
    check_in_concurrency: int = 200
    check_in_waves: int = 3  # requests = concurrency × waves

    @classmethod
    def smoke(cls) -> LoadSizes:
        return cls(uploads=3, upload_size=1 * MiB, officers=1, check_in_concurrency=20, check_in_waves=1)


@dataclass
class Burst:
    """What a burst of concurrent requests did: per-request seconds, wall time, error lines."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    retried: int = 0  # requests sent a second time after a transport error


def payload(size: int) -> tuple[bytes, str]:
    """New content each call (a random nonce after the box headers): distinct objects."""
    body = _FTYP + struct.pack(">I4s", size - len(_FTYP), b"free") + os.urandom(size - len(_FTYP) - 8)
    return body, hashlib.sha256(body).hexdigest()


# --- the people -------------------------------------------------------------------------------


async def _officer_with_case(world: World, name: str) -> tuple[Actor, uuid.UUID]:
    import msgspec

    from backend.org import schemas as org_schemas
    from backend.org import service as org_service

    data = msgspec.convert(
        {
            "username": name,
            "password": PASSWORD,
            "full_name": name.title(),
            "roles": ["officer"],
            "agency_id": str(world.officer.agency_id),
        },
        org_schemas.UserIn,
    )
    out = await org_service.create_user(principal=None, data=data)
    actor = Actor(
        user_id=out.id,
        username=name,
        agency_id=world.officer.agency_id,
        agency_kind=world.officer.agency_kind,
        roles=("officer",),
    )
    return actor, await open_case(actor)


def officers(world: World, count: int) -> list[tuple[Actor, uuid.UUID]]:
    """``count`` new officers of the world's agency, each lead officer of a case of their own."""
    tag = uuid.uuid4().hex[:6]

    async def make() -> list[tuple[Actor, uuid.UUID]]:
        return [await _officer_with_case(world, f"load-{tag}-{i}") for i in range(count)]

    return asyncio.run(make())


# --- uploads ------------------------------------------------------------------------------------


def _metadata(case_id: uuid.UUID, sha256: str, n: int) -> str:
    values = {
        "filename": f"load-{n}.mp4",
        "filetype": "video/mp4",
        "sha256": sha256,
        "case_id": str(case_id),
        "captured_at": datetime.now(UTC).isoformat(),
        "device_id": f"load-phone-{n}",
    }
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


async def upload_burst(base_url: str, uploads: list[tuple[dict[str, str], uuid.UUID, bytes, str]]) -> Burst:
    """Every upload at once: tus creation, then the whole file as one PATCH (as tuspy does with
    a chunk larger than the file). An upload counts only if it ends as evidence."""
    burst = Burst()
    limits = httpx.Limits(max_connections=len(uploads), max_keepalive_connections=len(uploads))

    async def one(client: httpx.AsyncClient, n: int) -> None:
        auth, case_id, body, sha256 = uploads[n]
        tus = {**auth, "Tus-Resumable": "1.0.0"}
        start = time.perf_counter()
        try:
            created = await client.post(
                UPLOADS, headers={**tus, "Upload-Length": str(len(body)), "Upload-Metadata": _metadata(case_id, sha256, n)}
            )
            if created.status_code != 201:
                burst.errors.append(f"upload {n} creation: {created.status_code} {created.text[:200]}")
                return
            patch = {**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
            sent = await client.patch(created.headers["Location"], headers=patch, content=body)
            if sent.status_code != 204 or "Fieldproof-Evidence-Id" not in sent.headers:
                burst.errors.append(f"upload {n} PATCH: {sent.status_code} {sent.text[:200]}")
                return
        except httpx.HTTPError as exc:
            burst.errors.append(f"upload {n}: {type(exc).__name__}: {exc}")
            return
        burst.latencies.append(time.perf_counter() - start)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(600, connect=60)) as client:
        start = time.perf_counter()
        await asyncio.gather(*(one(client, n) for n in range(len(uploads))))
        burst.seconds = time.perf_counter() - start
    return burst


def minio_burst(s3: S3Server, bodies: list[bytes]) -> Burst:
    """The baseline: the same bytes put straight to the same S3 server, as many at once."""
    client = s3.client()
    bucket = f"load-baseline-{uuid.uuid4().hex[:8]}"
    client.make_bucket(bucket)
    burst = Burst()

    def put(n: int) -> None:
        start = time.perf_counter()
        client.put_object(bucket, f"object-{n}", io.BytesIO(bodies[n]), len(bodies[n]))
        burst.latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        list(pool.map(put, range(len(bodies))))
    burst.seconds = time.perf_counter() - start
    for n in range(len(bodies)):  # moto holds objects in memory
        client.remove_object(bucket, f"object-{n}")
    return burst


# --- check-ins and the trivial route ---------------------------------------------------------------


def phone_check_in(
    action_id: uuid.UUID, headers: dict[str, str]
) -> Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]:
    """A check-in as the phone sends it: the record's client UUID and the Idempotency-Key are
    fixed per check-in, so sending it again after a dropped connection makes no second record."""
    path = CHECK_IN.format(action_id=action_id)
    burst = uuid.uuid4()

    def request(client: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        record = uuid.uuid5(burst, str(i))
        body = {
            "id": str(record),
            "device_id": "load-phone",
            "device_time": datetime.now(UTC).isoformat(),
            "location": {"latitude": 35.62, "longitude": 111.22, "accuracy_m": 8.0},
        }
        return client.post(path, json=body, headers={**headers, "Idempotency-Key": str(record)})

    return request


async def request_burst(
    base_url: str,
    request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    *,
    total: int,
    concurrency: int,
    expect: int,
) -> Burst:
    """``total`` requests from ``concurrency`` clients at once; every other answer is an error."""
    burst = Burst()
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        for i in counter:
            start = time.perf_counter()
            try:
                try:
                    response = await request(client, i)
                except httpx.TransportError:
                    # A keep-alive connection the server closed as it was reused: the phone
                    # sends the same request again (same Idempotency-Key); counted apart.
                    burst.retried += 1
                    response = await request(client, i)
            except httpx.HTTPError as exc:
                burst.errors.append(f"request {i}: {type(exc).__name__}: {exc}")
                continue
            burst.latencies.append(time.perf_counter() - start)
            if response.status_code != expect:
                burst.errors.append(f"request {i}: {response.status_code} {response.text[:200]}")

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(300, connect=60)) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        burst.seconds = time.perf_counter() - start
    return burst


# --- what must hold afterwards ------------------------------------------------------------------


def objects_hash_right(s3: S3Server, config: Config, expected: list[str]) -> int:
    """Every upload's object, read back from S3 and hashed, and its record; the wrong ones counted."""
    from evidence.tables import EvidenceItem

    client = s3.client()
    wrong = 0
    for sha256 in expected:
        response = client.get_object(config.bucket, f"sha256/{sha256}")
        try:
            digest = hashlib.sha256(response.read()).hexdigest()
        finally:
            response.close()
            response.release_conn()
        recorded = asyncio.run(EvidenceItem.exists().where(EvidenceItem.sha256 == sha256).run())
        wrong += digest != sha256 or not recorded
    return wrong


def ledger_holds(config: Config) -> tuple[bool, int]:
    """The hash chain and its checkpoints verify, and every record has its ledger entries."""
    from backend.audit import check_completeness
    from backend.core.keys import load_key_ring
    from backend.ledger.verify import verify_ledger

    settings = config.settings()

    async def verify() -> tuple[bool, int]:
        keys = load_key_ring(settings.effective_key_dir, retention_s=settings.key_retention_s)
        ledger = await verify_ledger(keys=keys, record=False)
        complete = await check_completeness()
        return ledger.ok and complete.ok, ledger.entries_checked

    return asyncio.run(verify())


# --- the case ------------------------------------------------------------------------------------


def run(ctx: Context) -> list[Row]:
    sizes = LoadSizes.smoke() if ctx.smoke else LoadSizes()
    up_ours: list[float] = []
    up_base: list[float] = []
    up_p99: list[float] = []
    up_base_p99: list[float] = []
    ci_ours: list[float] = []
    ci_base: list[float] = []
    ci_p99: list[float] = []
    ci_base_p99: list[float] = []
    rss: list[float] = []
    checks: list[str] = []
    name = ""
    for i in range(ctx.repeats):
        with s3_round(ctx) as (s3, config, world, api):
            name = config.name
            team = officers(world, sizes.officers + 1)
            phones = [(login(api.base_url, officer), case_id) for officer, case_id in team[:-1]]
            bodies = [payload(sizes.upload_size) for _ in range(sizes.uploads)]
            base = minio_burst(s3, [body for body, _ in bodies])
            plan = [(*phones[n % len(phones)], body, sha256) for n, (body, sha256) in enumerate(bodies)]
            with RssSampler(api.pid) as sampler:
                ours = asyncio.run(upload_burst(api.base_url, plan))
            rss.append(sampler.growth / MB)
            _fail_on(ours, f"{sizes.uploads} concurrent uploads")
            total_mb = sizes.uploads * sizes.upload_size / MB
            up_ours.append(total_mb / ours.seconds)
            up_base.append(total_mb / base.seconds)
            up_p99.append(percentile(ours.latencies, 99))
            up_base_p99.append(percentile(base.latencies, 99))
            wrong = objects_hash_right(s3, config, [sha256 for _, sha256 in bodies])
            if wrong:
                raise RuntimeError(f"{wrong} of {sizes.uploads} uploads have no record or an object that does not hash right")

            checker, checker_case = team[-1]
            action_id = asyncio.run(
                check_in_fixture(World(officer=checker, admin=world.admin, supervisor=world.supervisor, case_id=checker_case))
            )
            check_in = phone_check_in(action_id, login(api.base_url, checker))
            total = sizes.check_in_concurrency * sizes.check_in_waves
            trivial = asyncio.run(
                request_burst(api.base_url, health, total=total, concurrency=sizes.check_in_concurrency, expect=200)
            )
            burst = asyncio.run(
                request_burst(api.base_url, check_in, total=total, concurrency=sizes.check_in_concurrency, expect=201)
            )
            _fail_on(burst, f"{total} check-ins, {sizes.check_in_concurrency} at once")
            ci_ours.append(total / burst.seconds)
            ci_base.append(total / trivial.seconds)
            ci_p99.append(percentile(burst.latencies, 99) * 1000)
            ci_base_p99.append(percentile(trivial.latencies, 99) * 1000)

            verified, entries = ledger_holds(config)
            if not verified:
                raise RuntimeError("after the load the custody ledger does not verify (chain, checkpoints or completeness)")
            resent = (
                f" ({burst.retried + trivial.retried} sent again after a dropped keep-alive connection)"
                if burst.retried + trivial.retried
                else ""
            )
            checks.append(
                f"0 errors{resent}, {sizes.uploads}/{sizes.uploads} objects hash right, ledger of {entries} entries verified"
            )
        ctx.log(
            f"load repeat {i + 1}: uploads {up_ours[-1]:.1f} MB/s (minio {up_base[-1]:.1f}), p99 {up_p99[-1]:.2f} s; "
            f"check-ins {ci_ours[-1]:.0f}/s (health {ci_base[-1]:.0f}/s), p99 {ci_p99[-1]:.0f} ms; {checks[-1]}"
        )
    return _rows(name, sizes, checks[-1], (up_ours, up_base, up_p99, up_base_p99), (ci_ours, ci_base, ci_p99, ci_base_p99), rss)


def _fail_on(burst: Burst, what: str) -> None:
    if burst.errors:
        raise RuntimeError(f"{what}: {len(burst.errors)} errors, e.g. {burst.errors[:3]}")


def _rows(
    config: str,
    sizes: LoadSizes,
    checked: str,
    uploads: tuple[list[float], list[float], list[float], list[float]],
    check_ins: tuple[list[float], list[float], list[float], list[float]],
    rss: list[float],
) -> list[Row]:
    up_ours, up_base, up_p99, up_base_p99 = uploads
    ci_ours, ci_base, ci_p99, ci_base_p99 = check_ins
    uploads_name = f"{sizes.uploads} × {sizes.upload_size / MB:.0f} MB tus uploads at once"
    check_ins_name = f"{sizes.check_in_concurrency * sizes.check_in_waves} check-ins, {sizes.check_in_concurrency} at once"
    common: dict[str, Any] = {"case": "load", "config": config}
    return [
        Row(
            metric=f"{uploads_name}: throughput",
            unit="MB/s",
            ours=Stat.of(up_ours),
            baseline=Stat.of(up_base),
            baseline_name="minio put, same bytes, same concurrency",
            ratio=ratio_stat(up_ours, up_base),
            rss_growth_mb=max(rss),
            note=checked,
            **common,
        ),
        Row(
            metric=f"{uploads_name}: p99 per upload",
            unit="s",
            ours=Stat.of(up_p99),
            baseline=Stat.of(up_base_p99),
            baseline_name="minio put p99",
            ratio=ratio_stat(up_p99, up_base_p99),
            note="creation + one PATCH, until the evidence record exists",
            **common,
        ),
        Row(
            metric=f"{check_ins_name}: throughput",
            unit="req/s",
            ours=Stat.of(ci_ours),
            baseline=Stat.of(ci_base),
            baseline_name="GET /health, same concurrency",
            ratio=ratio_stat(ci_ours, ci_base),
            note="certificate check + signed snapshot + check-in row + ledger entry each",
            **common,
        ),
        Row(
            metric=f"{check_ins_name}: p99",
            unit="ms",
            ours=Stat.of(ci_p99),
            baseline=Stat.of(ci_base_p99),
            baseline_name="GET /health p99",
            ratio=ratio_stat(ci_p99, ci_base_p99),
            **common,
        ),
    ]
