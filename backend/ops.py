"""Operational commands behind the CLI (part of the composition root, like app.py)."""

from __future__ import annotations

from backend.core import db
from backend.core.settings import Settings


async def connectivity_report(settings: Settings) -> dict[str, str]:
    """Settings were valid if we got here; now try the database and the object store."""
    from backend.app import all_tables
    from evidence.store import open_store

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


async def run(name: str, settings: Settings) -> int:
    raise SystemExit(f"{name}: not wired yet")
