"""Operational commands behind the CLI (part of the composition root, like app.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import anyio
import msgspec
import structlog

from backend.audit import check_completeness
from backend.core import db
from backend.core.keys import KeyRing, load_key_ring
from backend.core.settings import Settings
from backend.ledger.checkpoint import make_checkpoint
from backend.ledger.schemas import CheckpointOut, LedgerAudit
from backend.ledger.verify import record_verification, verify_ledger
from backend.registry import all_tables
from evidence.custody.objects import verify_objects
from evidence.custody.reconcile import reconcile
from evidence.store import ObjectStore, open_store
from evidence.uploads.sweeper import sweep_expired_uploads

log = structlog.get_logger("fieldproof.ops")


async def connectivity_report(settings: Settings) -> dict[str, str]:
    """Settings were valid if we got here; now try the database and the object store."""
    report: dict[str, str] = {"settings": "ok"}
    engine = db.make_engine(settings.effective_database_url)
    db.bind(engine, all_tables())
    try:
        await engine.run_ddl("SELECT 1")
        report["database"] = f"ok ({_kind(settings.effective_database_url)})"
    except Exception as exc:  # noqa: BLE001 - a report, not a crash
        report["database"] = f"unreachable: {exc}"
    try:
        store = open_store(settings)
        await store.check()
        report["store"] = f"ok ({settings.effective_store_url.split('://')[0]})"
    except Exception as exc:  # noqa: BLE001
        report["store"] = f"unreachable: {exc}"
    return report


def _kind(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def read_checkpoints(path: Path) -> list[CheckpointOut]:
    """Checkpoints kept outside the server: one object, a list, or ``{"checkpoints": [...]}``
    (an export's ``checkpoint.json`` or a saved copy of the published list)."""
    document = msgspec.json.decode(path.read_bytes())
    if isinstance(document, dict) and "checkpoints" in document:
        document = document["checkpoints"]
    return msgspec.convert(document if isinstance(document, list) else [document], list[CheckpointOut])


async def audit_ledger(keys: KeyRing, *, published: Sequence[CheckpointOut] = ()) -> LedgerAudit:
    """The chain, its checkpoints (stored and ``published``) and its completeness (R-REC-7),
    recorded as a ``ledger.verified`` entry: the CLI's ``verify-ledger`` and the office route."""
    ledger = await verify_ledger(keys=keys, record=False, published=published)
    completeness = await check_completeness()
    await record_verification(ledger, missing_entries=completeness.records_without_entries + len(completeness.problems))
    return LedgerAudit(ok=ledger.ok and completeness.ok, ledger=ledger, completeness=completeness)


async def verify_ledger_complete(keys: KeyRing, *, published: Sequence[CheckpointOut] = ()) -> int:
    """``fieldproof verify-ledger``: the whole audit as JSON; 0 when all is well."""
    audit = await audit_ledger(keys, published=published)
    print(msgspec.json.format(msgspec.json.encode(audit)).decode())
    return 0 if audit.ok else 1


async def run(name: str, settings: Settings, *, published: Sequence[CheckpointOut] = (), fix: bool = False) -> int:
    """Run one operational command; print a short report; 0 when all is well."""
    keys = load_key_ring(settings.effective_key_dir, retention_s=settings.key_retention_s)
    if name == "verify-ledger":
        return await verify_ledger_complete(keys, published=published)
    if name == "sign-checkpoint":
        checkpoint = await make_checkpoint(keys=keys, force=True)
        print(f"checkpoint seq={checkpoint.seq} head={checkpoint.head_hash} kid={checkpoint.key_id}")
        return 0
    store = open_store(settings)
    try:
        if name == "verify-objects":
            objects = await verify_objects(store)
            print(msgspec.json.format(msgspec.json.encode(objects)).decode())
            return 0 if objects.ok else 1
        if name == "reconcile":
            reconciled = await reconcile(store, settings=settings, fix=fix)
            print(msgspec.json.format(msgspec.json.encode(reconciled)).decode())
            return 0 if reconciled.ok else 1
        if name == "sweep-uploads":
            swept = await sweep_expired_uploads(store, settings=settings)
            print(msgspec.json.format(msgspec.json.encode(swept)).decode())
            return 0
    finally:
        await store.close()
    raise SystemExit(f"unknown operation {name}")


async def background_duties(settings: Settings, keys: KeyRing, store: ObjectStore) -> None:
    """Periodic work of every API process: sign a ledger checkpoint, sweep expired uploads.

    Several processes may run this at once: both duties are safe to repeat concurrently.
    """
    duties: list[tuple[int, Callable[[], Awaitable[object]]]] = [
        (settings.checkpoint_interval_s, lambda: make_checkpoint(keys=keys)),
        (settings.sweep_interval_s, lambda: sweep_expired_uploads(store, settings=settings)),
    ]
    async with anyio.create_task_group() as group:
        for interval, duty in duties:
            if interval > 0:
                group.start_soon(_every, interval, duty)


async def _every(interval: int, duty: Callable[[], Awaitable[object]]) -> None:
    while True:
        await anyio.sleep(interval)
        try:
            await duty()
        except Exception:  # a failed round is logged and retried next round
            log.exception("background duty failed")
