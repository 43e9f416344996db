"""Ledger cases: verifying 1,000,000 entries vs raw hashlib, and a case timeline at 10,000 events.

Entries are made in bulk with the ledger's own canonical form (``backend.ledger.chain``: the
same typed entry, body and chaining as ``append_event``), continuing from the current head
under the same advisory lock ``append_event`` takes, and written with COPY on PostgreSQL
(Piccolo batches on SQLite).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec

from backend.ledger import chain
from backend.ledger.chain import StoredEntry
from bench.context import Context
from bench.field import measure
from bench.harness import Row, Stat, percentile, ratio_stat
from bench.stack import Config, login, open_case, require_route

BATCH = 20_000


@dataclass
class Spec:
    """Who the generated entries are about; ``case_every`` = every n-th entry belongs to ``case_id``."""

    actor_id: uuid.UUID
    agency_id: uuid.UUID
    case_id: uuid.UUID | None = None
    case_every: int = 1


def _entries(
    spec: Spec, *, count: int, head_seq: int, head_hash: str, start: datetime, bodies: list[bytes] | None
) -> Iterator[StoredEntry]:
    prev = head_hash
    other_case = uuid.uuid4()
    for i in range(count):
        subject = str(uuid.uuid4())
        entry = chain.Entry(
            seq=head_seq + 1 + i,
            recorded_at=start + timedelta(microseconds=i),
            event="evidence.received",
            actor_id=spec.actor_id,
            agency_id=spec.agency_id,
            subject_type="evidence",
            subject_id=subject,
            case_id=spec.case_id if spec.case_id and i % spec.case_every == 0 else other_case,
            action_id=None,
            details=chain.canonical_details(
                {"sha256": hashlib.sha256(subject.encode()).hexdigest(), "size": 1000 + i, "device_id": "bench-phone"}
            ),
        )
        if bodies is not None:
            bodies.append(chain.body_text(entry).encode("utf-8"))
        stored = chain.chained(entry, prev)
        yield stored
        prev = stored.entry_hash


def _records(entries: Iterator[StoredEntry], size: int) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of rows in ``chain.COLUMNS`` order (a new row id each)."""
    while batch := [(uuid.uuid4(), *msgspec.structs.astuple(entry)) for _, entry in zip(range(size), entries, strict=False)]:
        yield batch


async def append_bulk(config: Config, spec: Spec, count: int, *, bodies: list[bytes] | None = None) -> None:
    """Append ``count`` chained entries after the current head."""
    from backend.core import clock
    from backend.core.db import is_postgres
    from backend.ledger.service import ledger_head

    head_seq, head_hash = await ledger_head()
    start = clock.now() + timedelta(seconds=1)
    entries = _entries(spec, count=count, head_seq=head_seq, head_hash=head_hash, start=start, bodies=bodies)
    if is_postgres():
        await _copy_postgres(config.database_url, entries, head_seq)
    else:
        await _insert_sqlite(entries)


async def _copy_postgres(url: str, entries: Iterator[StoredEntry], head_seq: int) -> None:
    import asyncpg

    from backend.ledger.service import LEDGER_LOCK_KEY

    conn = await asyncpg.connect(url, timeout=30)
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", LEDGER_LOCK_KEY)
            current = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM custody_ledger")
            if current != head_seq:
                raise RuntimeError("the ledger moved while the bench prepared entries; run the ledger case alone")
            for batch in _records(entries, BATCH):
                await conn.copy_records_to_table("custody_ledger", records=batch, columns=chain.COLUMNS)
    finally:
        await conn.close()


async def _insert_sqlite(entries: Iterator[StoredEntry]) -> None:
    from backend.core.db import write_transaction
    from backend.ledger.tables import LedgerRow

    async with write_transaction():
        for batch in _records(entries, 1000):
            await LedgerRow.insert(*(LedgerRow(**dict(zip(chain.COLUMNS, row, strict=True))) for row in batch))


def _raw_hash_rate(bodies: list[bytes]) -> float:
    """The floor of verification: both SHA-256 of each entry, over bytes already in memory."""
    prev = bytes(32)
    start = time.perf_counter()
    for body in bodies:
        prev = hashlib.sha256(prev + hashlib.sha256(body).digest()).digest()
    return len(bodies) / (time.perf_counter() - start)


def run(ctx: Context) -> list[Row]:
    """Both configurations: the production-like database (PostgreSQL) and the embedded one (SQLite)."""
    configs = [ctx.s3_config(ctx.shared_s3()), ctx.files_config()]
    if configs[0].name.startswith("sqlite"):  # no PostgreSQL here: the S3 config is SQLite too
        configs = configs[1:]
    return [_run_one(ctx, config) for config in configs]


def _run_one(ctx: Context, config: Config) -> Row:
    world = ctx.world(config)
    count = ctx.sizes.ledger_entries
    bodies: list[bytes] = []
    spec = Spec(actor_id=world.officer.user_id, agency_id=world.officer.agency_id)
    started = time.perf_counter()
    asyncio.run(append_bulk(config, spec, count, bodies=bodies))
    ctx.log(f"ledger ({config.name}): {count:,} entries written in {time.perf_counter() - started:.1f} s")
    from backend.ledger.verify import verify_ledger

    ours, base = [], []
    checked = 0
    # One pass over a million entries takes minutes: two passes give a spread without an hour.
    for _ in range(min(ctx.repeats, 2)):
        base.append(_raw_hash_rate(bodies))
        start = time.perf_counter()
        report = asyncio.run(verify_ledger(keys=None, record=False))
        seconds = time.perf_counter() - start
        if not report.ok:
            raise RuntimeError(f"ledger did not verify: {report.first_broken} {report.checkpoint_problems}")
        checked = report.entries_checked
        ours.append(checked / seconds)
        ctx.log(f"ledger ({config.name}): verified {checked:,} entries at {ours[-1]:,.0f}/s (raw hashlib {base[-1]:,.0f}/s)")
    return Row(
        case="ledger verification",
        config=config.name.split("+")[0],
        metric=f"{checked:,} entries",
        unit="entries/s",
        ours=Stat.of(ours),
        baseline=Stat.of(base),
        baseline_name="hashlib, both SHA-256 per entry over the same bytes in memory",
        ratio=ratio_stat(ours, base),
        note=(
            "verify_ledger(): canonical body rendered by the database in keyset batches, "
            "both SHA-256 in Python, next batch read meanwhile"
        ),
    )


# --- case timeline ------------------------------------------------------------------------------


def run_timeline(ctx: Context) -> list[Row]:
    s3 = ctx.shared_s3()
    config = ctx.s3_config(s3)
    world = ctx.world(config)
    api = ctx.shared_api(config)
    require_route(api.base_url, "GET", "/api/v1/cases/{case_id}/timeline", "custody")
    events = ctx.sizes.timeline_events
    case_id = asyncio.run(open_case(world.officer))
    # The case's events are interleaved with as many of other cases, as in a busy ledger.
    asyncio.run(
        append_bulk(
            config,
            Spec(actor_id=world.officer.user_id, agency_id=world.officer.agency_id, case_id=case_id, case_every=2),
            2 * events,
        )
    )
    headers = login(api.base_url, world.supervisor)
    path = f"/api/v1/cases/{case_id}/timeline"

    def page(client: Any, i: int) -> Any:
        return client.get(path, headers=headers)

    def health(client: Any, i: int) -> Any:
        return client.get("/health")

    asyncio.run(measure(api.base_url, page, total=5, concurrency=1, expect=200))
    total = 50 if ctx.smoke else 200
    ours, base = [], []
    for _ in range(ctx.repeats):
        base.append(percentile(asyncio.run(measure(api.base_url, health, total=total, concurrency=1, expect=200)), 50) * 1000)
        ours.append(percentile(asyncio.run(measure(api.base_url, page, total=total, concurrency=1, expect=200)), 50) * 1000)
    ctx.log(f"timeline first page: {ours[-1]:.1f} ms (health {base[-1]:.1f} ms)")
    return [
        Row(
            case="case timeline, first page",
            config=config.name,
            metric=f"p50 latency, {events:,} events in the case",
            unit="ms",
            ours=Stat.of(ours),
            baseline=Stat.of(base),
            baseline_name="GET /health, same server",
            ratio=ratio_stat(ours, base),
            note="absolute ms is the indicator (100 entries per page)",
            extra={"ratio_kind": "ours/baseline (latency: lower is better)"},
        )
    ]
