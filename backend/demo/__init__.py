"""Idempotent demo data that plays scenarios 1–4 of docs/DEMO.md (新绛县). Demo passwords only —
never in production.

Loaded in time order — the standing rules and certificates, scenario 3's case history, the
township's confirmation and entrustment, 赵's suspension, scenario 4's investigation, a
complaint received yesterday and accepted this morning, then today's cases and actions — so
the custody ledger the demo leaves behind is in time order too.
"""

from __future__ import annotations

from backend.core.settings import Settings
from backend.demo import cast, complaints, history, standards, today
from backend.demo.common import DEMO_PASSWORD, begin

__all__ = ["DEMO_PASSWORD", "load"]


async def load(settings: Settings) -> int:
    begin()
    agencies = await cast.ensure_agencies()
    created = await cast.ensure_users(agencies)
    await cast.ensure_reviewers()
    benchmarks = await standards.ensure_standards()
    await cast.ensure_certificates(entrusted=False)
    await history.demolition_history(settings, benchmarks["illegal_building"])
    await cast.confirm_township(agencies)
    await cast.ensure_entrustment(agencies)
    await cast.ensure_certificates(entrusted=True)
    await cast.suspend_zhao()
    await history.food_safety_history(settings)
    await complaints.ensure_complaint()
    await today.morning_cases(settings)
    await today.todays_actions()
    print(f"demo data ready ({len(created)} new users). DEMO ONLY — every demo user's password is {DEMO_PASSWORD!r}:")
    for spec in cast.USERS:
        print(f"  {spec.username:<14} {', '.join(spec.roles):<16} {spec.agency:<18} {spec.full_name} {spec.note}")
    return 0
